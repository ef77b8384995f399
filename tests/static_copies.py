"""Read back the static pictures that widget outputs carry for viewers without a kernel."""
import base64
import re

IMG = re.compile(r'<img alt="([^"]*)"[^>]*src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def pictures_in(html):
    """[(alt text, SVG markup)] of every `<img>` with an SVG data URI in `html`."""
    return [(alt, base64.b64decode(data).decode()) for alt, data in IMG.findall(html)]
