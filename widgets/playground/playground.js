// PageLink's view: keeps the page's address in step with the Playground's settings
// (history.replaceState: no reload, no new history entry) and shows a link to them.
// Only where Python says the page is the app (Voila); in JupyterLab it does nothing.

// Voila shuts a page's kernel down when the page closes: on `beforeunload` it posts
// /voila/api/shutdown/<kernel id> with the value of the `_xsrf` cookie. Voila's pages
// never set that cookie (voila-dashboards/voila#1458), so the server refused the post
// ("'_xsrf' argument missing") and every visit left its kernel running. Tornado's check
// is a double-submit token: a post passes when its `_xsrf` equals the `_xsrf` cookie,
// which only pages of this origin can read or write. So the page sets the cookie to a
// random token where the server has set none, at the path the server itself would use
// (its base URL), and every other request keeps its XSRF check. A cookie the server set
// is left alone.
function ensureXsrfCookie() {
  if (/(^|;\s*)_xsrf=/.test(document.cookie)) return;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  let path = "/";
  try {
    const config = JSON.parse(document.getElementById("jupyter-config-data").textContent);
    path = config.baseUrl || "/";
  } catch (error) {
    // no page config: the site root
  }
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `_xsrf=${token}; path=${path}; SameSite=Strict${secure}`;
}

function render({ model, el }) {
  const link = document.createElement("a");
  link.className = "fl-pg-link";
  link.textContent = "Link to this set-up";
  link.title = "The address of this page holds every setting: copy it to share this set-up.";
  el.append(link);

  function sync() {
    const rewrite = model.get("rewrite_url");
    link.style.display = rewrite ? "" : "none";
    if (!rewrite) return;
    ensureXsrfCookie();
    const url = new URL(window.location.href);
    url.search = model.get("query");
    link.href = url.toString();
    if (url.toString() !== window.location.href) {
      window.history.replaceState(window.history.state, "", url);
    }
  }

  model.on("change:query", sync);
  model.on("change:rewrite_url", sync);
  sync();
}

export default { render };
