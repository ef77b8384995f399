"""lessons.tensorboard_logs: logs written by PyTorch's SummaryWriter, tf.summary and the
Keras callback, read back and compared with the values that were written."""

import numpy as np
import pytest

from lessons.tensorboard_logs import Run, find_runs, histogram_stats, read_run


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    import torch
    from torch.utils.tensorboard import SummaryWriter

    log_dir = tmp_path_factory.mktemp("logs") / "pytorch"
    values = np.random.default_rng(0).standard_normal(1000)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with SummaryWriter(log_dir) as writer:
        for step in range(3):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
            writer.add_histogram("values", values + step, step)
        writer.add_graph(model, torch.zeros(1, 4))
    return read_run(log_dir), values


@pytest.fixture(scope="module")
def tf_run(tmp_path_factory):
    import tensorflow as tf

    log_dir = tmp_path_factory.mktemp("logs") / "tensorflow"
    values = np.random.default_rng(1).standard_normal(500).astype(np.float32)

    @tf.function
    def step_fn(x):
        return tf.nn.relu(tf.matmul(x, tf.ones((4, 3))))

    x = tf.zeros((2, 4))
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for step in range(4):
            tf.summary.scalar("loss", 2.0 * step, step=step)
            tf.summary.histogram("values", values * (step + 1), step=step)
        tf.summary.trace_on(graph=True)
        step_fn(x)
        tf.summary.trace_export("step_fn", step=0)
    writer.close()
    return read_run(log_dir), values


def test_pytorch_scalars_come_back_with_their_steps(torch_run):
    run, _ = torch_run
    assert run.scalars["loss"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert run.plugins["loss"] == "scalars"


def test_pytorch_histograms_keep_count_and_range(torch_run):
    run, values = torch_run
    steps = [step for step, _ in run.histograms["values"]]
    assert steps == [0, 1, 2]
    for step, buckets in run.histograms["values"]:
        stats = histogram_stats(buckets)
        assert stats["count"] == values.size
        assert stats["min"] == pytest.approx(values.min() + step, abs=1e-5)
        assert stats["max"] == pytest.approx(values.max() + step, abs=1e-5)
        assert stats["mean"] == pytest.approx(values.mean() + step, abs=0.05)


def test_pytorch_graph_has_the_traced_ops(torch_run):
    run, _ = torch_run
    assert len(run.graphs) == 1
    ops = [node.op for node in run.graphs[0].node]
    assert ops.count("aten::linear") == 2
    assert ops.count("aten::relu") == 1


def test_tf_summaries_come_back_like_pytorch_ones(tf_run):
    run, values = tf_run
    assert run.scalars["loss"] == [(0, 0.0), (1, 2.0), (2, 4.0), (3, 6.0)]
    assert [step for step, _ in run.histograms["values"]] == [0, 1, 2, 3]
    stats = histogram_stats(run.histograms["values"][2][1])
    assert stats["count"] == values.size
    assert stats["min"] == pytest.approx(3 * values.min(), rel=1e-5)
    assert stats["max"] == pytest.approx(3 * values.max(), rel=1e-5)


def test_tf_trace_export_gives_the_function_graph(tf_run):
    run, _ = tf_run
    assert run.plugins["step_fn"] == "graph_run_metadata_graph"
    op_lists = [[node.op for node in graph.node] for graph in run.graphs]
    assert any("MatMul" in ops and "Relu" in ops for ops in op_lists)


def test_keras_callback_logs_epochs_histograms_and_model(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
                              keras.layers.Dense(2, name="out")])
    model.compile("sgd", "mse")
    X = np.ones((8, 4), np.float32)
    y = np.zeros((8, 2), np.float32)
    callback = keras.callbacks.TensorBoard(str(tmp_path), histogram_freq=1, write_graph=True)
    history = model.fit(X, y, epochs=2, verbose=0, callbacks=[callback])

    assert find_runs(tmp_path) == ["train"]
    run = read_run(tmp_path / "train")
    logged = [value for _, value in run.scalars["epoch_loss"]]
    np.testing.assert_allclose(logged, history.history["loss"], rtol=1e-6)
    assert any(tag.endswith("hidden/kernel/histogram") for tag in run.histograms)
    layers = [layer["config"]["name"] for layer in run.keras_model["config"]["layers"]]
    assert "hidden" in layers and "out" in layers


def test_find_runs_lists_every_folder_with_events(tmp_path):
    for folder in ["a", "b/train", "b/validation"]:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "events.out.tfevents.1.host").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    assert find_runs(tmp_path) == ["a", "b/train", "b/validation"]


def test_a_folder_without_events_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no event files"):
        read_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="no log folder"):
        find_runs(tmp_path / "missing")


def test_histogram_stats_from_buckets():
    buckets = [(0.0, 1.0, 2), (1.0, 2.0, 0), (2.0, 4.0, 6)]
    assert histogram_stats(buckets) == {"count": 8, "min": 0.0, "max": 4.0, "mean": 2.375}
    empty = histogram_stats(np.zeros((0, 3)))
    assert empty["count"] == 0 and np.isnan(empty["mean"])
    with pytest.raises(ValueError, match="rows of"):
        histogram_stats([1.0, 2.0, 3.0])


def test_run_defaults_are_empty():
    run = Run()
    assert (run.scalars, run.histograms, run.graphs, run.keras_model) == ({}, {}, [], None)
