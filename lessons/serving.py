"""A model server in one screen of the standard library.

``serve(predict)`` puts any function from a NumPy batch to a NumPy batch behind HTTP:

- ``POST /predict`` with a JSON body ``{"inputs": [[...], ...]}`` answers
  ``{"outputs": [[...], ...]}``;
- ``GET /health`` answers ``{"status": "ok"}``;
- a request the model cannot take (a body that is not JSON, no ``"inputs"``, values
  that are not numbers, the wrong shape) gets HTTP 400 and ``{"error": "..."}`` saying
  what was wrong; an exception inside ``predict`` gets HTTP 500 with its message.

It is ``http.server.ThreadingHTTPServer`` bound to 127.0.0.1 on a port the operating
system picks, run in a background thread, and shut down when the ``with`` block ends,
even if the block raises. Nothing leaves the machine, and no web framework is needed.
What it leaves out is what the dedicated model servers add: batching of concurrent
requests, model versions, GPU scheduling, metrics.

``call(url, payload)`` is the matching client: one request with ``urllib``, the answer
as ``(status, JSON body)``, for errors as well as successes.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

__all__ = ["BadRequest", "Server", "serve", "call"]


class BadRequest(ValueError):
    """A request the model cannot take; the server answers it with HTTP 400."""


@dataclass(frozen=True)
class Server:
    """A running server: its base ``url`` (``http://127.0.0.1:PORT``) and its thread."""

    url: str
    thread: threading.Thread


def _read_inputs(body, input_shape, dtype):
    """The request body as an array of `dtype`, or BadRequest naming what is wrong."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise BadRequest('the request body must be a JSON object with the key "inputs"')
    try:
        inputs = np.asarray(payload["inputs"], dtype=dtype)
    except (TypeError, ValueError) as error:
        raise BadRequest(f'"inputs" must be a rectangular array of numbers: {error}') from None
    if input_shape is not None:
        # None in input_shape means "any size" (the batch dimension, usually).
        fits = inputs.ndim == len(input_shape) and all(
            want is None or want == got for want, got in zip(input_shape, inputs.shape))
        if not fits:
            expected = "(" + ", ".join("any" if d is None else str(d) for d in input_shape) + ")"
            raise BadRequest(f'"inputs" has shape {inputs.shape}; the model takes {expected}')
    return inputs


def _handler(predict, input_shape, dtype):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/health":
                self._answer(200, {"status": "ok"})
            else:
                self._answer(404, {"error": f"no such path: GET {self.path}"})

        def do_POST(self):
            if self.path != "/predict":
                self._answer(404, {"error": f"no such path: POST {self.path}"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                inputs = _read_inputs(body, input_shape, dtype)
            except BadRequest as error:
                self._answer(400, {"error": str(error)})
                return
            try:
                outputs = np.asarray(predict(inputs))
            except BadRequest as error:  # the model's own check on its input
                self._answer(400, {"error": str(error)})
                return
            except Exception as error:
                self._answer(500, {"error": f"{type(error).__name__}: {error}"})
                return
            # float32 -> Python float is exact, and so is JSON's shortest repr of a
            # float, so the client can get back the very same float32 numbers.
            self._answer(200, {"outputs": outputs.tolist()})

        def log_message(self, format, *args):
            pass  # one line per request on stderr would drown a notebook's output

    return Handler


@contextmanager
def serve(predict, *, input_shape=None, dtype="float32"):
    """Serve ``predict`` (NumPy batch in, NumPy batch out) until the block ends.

    ``input_shape`` is checked before ``predict`` runs, with ``None`` for a dimension of
    any size, e.g. ``(None, 64)``; inputs are converted to ``dtype``. Yields a
    ``Server``; the server is shut down and its thread joined on the way out.
    """
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(predict, input_shape, dtype))
    httpd.daemon_threads = True  # a request still running never blocks shutdown
    host, port = httpd.server_address[:2]
    # poll_interval: how often serve_forever checks for shutdown (the default, 0.5 s,
    # would make every `with` block last at least that long).
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              name=f"model-server-{port}", daemon=True)
    thread.start()
    try:
        yield Server(url=f"http://{host}:{port}", thread=thread)
    finally:
        httpd.shutdown()  # stops serve_forever and waits for it to return
        httpd.server_close()
        thread.join(timeout=10)


def call(url, payload=None, timeout=30):
    """One request: POST ``payload`` as JSON, or GET when it is None. Returns
    ``(HTTP status, decoded JSON body)``; a 4xx/5xx answer is returned, not raised."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())
