"""lessons.serving: real HTTP round trips over 127.0.0.1 with urllib, against a small
NumPy model whose answers are computed here independently."""

import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from lessons.serving import BadRequest, call, serve

rng = np.random.default_rng(0)
W = rng.standard_normal((4, 3)).astype(np.float32)
b = rng.standard_normal(3).astype(np.float32)


def affine(X):
    return X @ W + b


def post_raw(url, body):
    """POST raw bytes (not necessarily JSON); (status, decoded JSON answer)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_predict_round_trip_gives_the_same_float32_numbers():
    X = rng.standard_normal((5, 4)).astype(np.float32)
    with serve(affine, input_shape=(None, 4)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        status, answer = call(server.url + "/predict", {"inputs": X.tolist()})
    assert status == 200
    outputs = np.asarray(answer["outputs"], dtype=np.float32)
    assert outputs.shape == (5, 3)
    assert np.array_equal(outputs, X @ W + b)  # exact: JSON carried every bit


def test_health():
    with serve(affine) as server:
        assert call(server.url + "/health") == (200, {"status": "ok"})


def test_unknown_path_is_404():
    with serve(affine) as server:
        status, answer = call(server.url + "/nothing")
    assert status == 404 and "/nothing" in answer["error"]


@pytest.mark.parametrize("body, words", [
    (b"{not json", "not valid JSON"),
    (b'{"rows": [[1, 2, 3, 4]]}', '"inputs"'),
    (b'{"inputs": [[1, 2], [3]]}', "rectangular"),
    (b'{"inputs": [["a", "b", "c", "d"]]}', "numbers"),
    (b'{"inputs": [[1, 2, 3]]}', "(1, 3)"),
    (b'{"inputs": [1, 2, 3, 4]}', "(4,)"),
])
def test_bad_request_is_400_with_a_message(body, words):
    calls = []

    def model(X):
        calls.append(X)
        return affine(X)

    with serve(model, input_shape=(None, 4)) as server:
        status, answer = post_raw(server.url + "/predict", body)
    assert status == 400
    assert words in answer["error"]
    assert calls == []  # the model never saw the bad request


def test_shape_message_names_the_expected_shape():
    with serve(affine, input_shape=(None, 4)) as server:
        _, answer = call(server.url + "/predict", {"inputs": [[1.0] * 5]})
    assert answer["error"] == '"inputs" has shape (1, 5); the model takes (any, 4)'


def test_model_can_refuse_with_bad_request_and_other_errors_are_500():
    def picky(X):
        if X.shape[0] > 2:
            raise BadRequest("at most 2 rows")
        raise RuntimeError("broken model")

    with serve(picky) as server:
        refused = call(server.url + "/predict", {"inputs": [[0.0]] * 3})
        broken = call(server.url + "/predict", {"inputs": [[0.0]]})
    assert refused == (400, {"error": "at most 2 rows"})
    assert broken == (500, {"error": "RuntimeError: broken model"})


def test_concurrent_requests_each_get_their_own_answer():
    inputs = [rng.standard_normal((1, 4)).astype(np.float32) for _ in range(8)]
    answers = [None] * len(inputs)
    with serve(affine, input_shape=(None, 4)) as server:
        def ask(i):
            answers[i] = call(server.url + "/predict", {"inputs": inputs[i].tolist()})

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(inputs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    for X, (status, answer) in zip(inputs, answers):
        assert status == 200
        assert np.array_equal(np.asarray(answer["outputs"], np.float32), affine(X))


def test_server_stops_when_the_block_ends_even_after_an_error():
    with pytest.raises(KeyError):
        with serve(affine) as server:
            assert server.thread.is_alive()
            raise KeyError("the caller's own error")
    assert not server.thread.is_alive()
    with pytest.raises(urllib.error.URLError):  # nobody listens on the port any more
        urllib.request.urlopen(server.url + "/health", timeout=2)
