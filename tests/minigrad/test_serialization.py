"""minigrad.save / minigrad.load (minigrad/serialization.py): round trips of tensors and
state dicts, checked against what torch.save / torch.load give back, the file format
(an .npz that NumPy reads without pickle), and the refusal of files that are not ours."""

import io
import json
import math
import pathlib
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import randn
from minigrad.serialization import load, save

DTYPES = [d for d in ("float32", "float64", "int32", "int64", "bool") if hasattr(mg, d)]
SHAPES = [(), (1,), (3,), (2, 3), (0, 3), (2, 3, 4)]


def round_trip(obj, **load_options):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer, **load_options)


def torch_round_trip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer)


def values(dtype, shape, seed=0):
    data = randn(*shape, seed=seed) * 10
    if dtype == "bool":
        return data > 0
    return data.astype(dtype)


def assert_same_structure(ours, theirs):
    """`ours` (minigrad) is what `theirs` (PyTorch) is: the same types all the way down,
    the same keys with the same types, tensors with equal dtype, shape, bits and flags."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, mg.Tensor)
        assert isinstance(ours, mg.nn.Parameter) == isinstance(theirs, torch.nn.Parameter)
        assert ours.requires_grad == theirs.requires_grad and ours.is_leaf == theirs.is_leaf
        a, b = ours.detach().numpy(), theirs.detach().numpy()
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()              # NaN, inf and -0.0 included
        return
    assert type(ours) is type(theirs)
    if isinstance(theirs, dict):
        assert [(type(k), k) for k in ours] == [(type(k), k) for k in theirs]
        for k in theirs:
            assert_same_structure(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_structure(a, b)
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == theirs


def to_torch(obj):
    """The same object with minigrad tensors replaced by PyTorch's."""
    if isinstance(obj, mg.Tensor):
        t = torch.from_numpy(obj.detach().numpy().copy()).requires_grad_(obj.requires_grad)
        return torch.nn.Parameter(t, obj.requires_grad) if isinstance(obj, mg.nn.Parameter) else t
    if isinstance(obj, dict):
        return type(obj)((k, to_torch(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch(v) for v in obj)
    return obj


def to_minigrad(obj):
    if isinstance(obj, torch.Tensor):
        return mg.tensor(obj.detach().numpy())
    if isinstance(obj, dict):
        return type(obj)((k, to_minigrad(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_minigrad(v) for v in obj)
    return obj


# ------------------------------------------------------------------ tensors


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_tensor_comes_back_with_its_dtype_shape_and_values(dtype, shape):
    t = mg.tensor(values(dtype, shape))
    back = round_trip(t)
    assert type(back) is mg.Tensor and back.dtype == t.dtype and back.device.type == "cpu"
    assert back.shape == t.shape and not back.requires_grad
    assert back.numpy().tobytes() == t.numpy().tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_special_floats_keep_their_bits(dtype):
    t = mg.tensor(np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38], dtype))
    assert round_trip(t).numpy().tobytes() == t.numpy().tobytes()


def test_requires_grad_is_kept_as_pytorch_keeps_it():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    # a leaf that requires grad, one that does not, a result of an op (saved as a leaf
    # that requires grad, as PyTorch does), and Parameters
    ours = {"leaf": x, "plain": mg.ones(2), "result": x * 2,
            "0d": mg.tensor(3.0, requires_grad=True), "param": mg.nn.Parameter(mg.ones(2)),
            "frozen": mg.nn.Parameter(mg.ones(2), requires_grad=False)}
    theirs = {"leaf": tx, "plain": torch.ones(2), "result": tx * 2,
              "0d": torch.tensor(3.0, requires_grad=True),
              "param": torch.nn.Parameter(torch.ones(2)),
              "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False)}
    back, tback = round_trip(ours), torch_round_trip(theirs)
    assert_same_structure(back, tback)
    assert back["result"].grad_fn is None and back["result"].requires_grad
    (back["result"] * back["leaf"]).sum().backward()      # usable as fresh leaves
    assert back["leaf"].grad.tolist() == [2.0, 4.0]


def test_views_and_non_contiguous_tensors_keep_their_values():
    base = mg.tensor(np.arange(12.0).reshape(3, 4))
    for view in (base.T, base[:, 1:3], base[1]):
        back = round_trip(view)
        assert back.shape == view.shape and np.array_equal(back.numpy(), view.numpy())


def test_shared_tensors_are_stored_twice_and_come_back_separate():
    t = mg.ones(3)
    first, second = round_trip([t, t])
    assert first is not second and np.array_equal(first.numpy(), second.numpy())
    first.add_(1)
    assert second.tolist() == [1.0, 1.0, 1.0]


# ------------------------------------------------------------------ structures


def nested():
    return OrderedDict([
        ("weights", OrderedDict([("fc.weight", mg.tensor(values("float32", (3, 2)))),
                                 ("fc.bias", mg.tensor(values("float64", (3,), seed=1)))])),
        (0, {"step": mg.tensor(4.0), "exp_avg": mg.zeros(2, 2), 1: [mg.ones(1)]}),
        (7, [1, -2, 2 ** 70, 2.5, math.inf, -math.inf, True, False, None, "text", "ünï"]),
        ("tuple", (mg.tensor([1, 2, 3]), (0.9, 0.999), ())),
        ("empty", [[], {}, OrderedDict(), ()]),
        (2.5, "a float key"), (True, "a bool key"), (None, "a None key"),
        ("nan", math.nan),
        ("mask", mg.tensor([True, False])),
    ])


def test_nested_dicts_lists_and_tuples_come_back_as_pytorchs_do():
    ours = nested()
    assert_same_structure(round_trip(ours), torch_round_trip(to_torch(ours)))
    assert_same_structure(round_trip(ours), to_torch(ours))


def test_dict_and_ordered_dict_keep_their_types_and_key_order():
    ours = round_trip({"b": 1, "a": OrderedDict([(2, "x"), (1, "y")])})
    assert type(ours) is dict and list(ours) == ["b", "a"]
    assert type(ours["a"]) is OrderedDict and list(ours["a"].items()) == [(2, "x"), (1, "y")]
    assert list(ours["a"]) == [2, 1] and all(type(k) is int for k in ours["a"])


def test_scalars_and_none_alone():
    for obj in (None, 3, 2.5, True, "text", [], (), {}):
        back = round_trip(obj)
        assert back == obj and type(back) is type(obj)


def test_pytorchs_optimizer_state_dict_shape_round_trips():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    ours = to_minigrad(opt.state_dict())            # int keys, tuples, bools, None
    assert_same_structure(round_trip(ours), to_torch(ours))
    assert 0 in round_trip(ours)["state"]


@pytest.mark.skipif(not hasattr(mg.optim.Adam, "state_dict"),
                    reason="this minigrad's optimizers have no state_dict()")
def test_a_minigrad_optimizer_resumes_from_a_saved_state_dict(tmp_path):
    def make():
        mg.manual_seed(0)
        model = mg.nn.Linear(3, 2)
        return model, mg.optim.Adam(model.parameters(), lr=0.01)

    def step(model, opt):
        opt.zero_grad()
        model(mg.ones(4, 3)).pow(2).sum().backward()
        opt.step()

    model, opt = make()
    step(model, opt)
    save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt")
    step(model, opt)
    resumed, resumed_opt = make()
    checkpoint = load(tmp_path / "ckpt")
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    step(resumed, resumed_opt)
    for p, q in zip(model.parameters(), resumed.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


def test_a_models_state_dict_loads_into_a_fresh_model_with_identical_outputs(tmp_path):
    def make(seed):
        mg.manual_seed(seed)
        return mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.ReLU(), mg.nn.Linear(8, 3))

    model, fresh = make(0), make(1)
    x = mg.tensor(randn(5, 4, seed=2).astype(np.float32))
    assert not np.array_equal(model(x).detach().numpy(), fresh(x).detach().numpy())
    save(model.state_dict(), tmp_path / "model.mg")
    state = load(tmp_path / "model.mg")
    assert type(state) is OrderedDict and list(state) == list(model.state_dict())
    fresh.load_state_dict(state)
    assert np.array_equal(model(x).detach().numpy(), fresh(x).detach().numpy())


def test_a_state_dict_loads_into_pytorch_too(tmp_path):
    mg.manual_seed(0)
    model = mg.nn.Linear(4, 3)
    save(model.state_dict(), tmp_path / "linear")
    tmodel = torch.nn.Linear(4, 3)
    tmodel.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in
                            load(tmp_path / "linear").items()})
    for (name, p), (tname, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
        assert name == tname and np.array_equal(p.detach().numpy(), tp.detach().numpy())
    x = randn(2, 4, seed=1).astype(np.float32)
    np.testing.assert_allclose(tmodel(torch.tensor(x)).detach().numpy(),
                               model(mg.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ files and paths


def test_paths_and_file_objects(tmp_path):
    obj = {"w": mg.tensor(values("float32", (2, 2)))}
    for f in (str(tmp_path / "a.pt"), tmp_path / "b.pt"):
        save(obj, f)
        assert_same_structure(load(f), to_torch(obj))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.pt"]   # no .npz added
    with open(tmp_path / "c.pt", "wb") as f:
        save(obj, f)
        assert not f.closed
    with open(tmp_path / "c.pt", "rb") as f:
        back = load(f)
        assert not f.closed
    assert_same_structure(back, to_torch(obj))


def test_the_file_is_an_npz_that_numpy_reads_without_pickle(tmp_path):
    save(nested(), tmp_path / "f")
    with zipfile.ZipFile(tmp_path / "f") as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(tmp_path / "f", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    assert all(a.dtype != object for a in arrays.values())
    structure = json.loads(str(arrays.pop("structure")[()]))
    assert structure["format"] == "minigrad" and structure["version"] == 1
    assert len(arrays) == 7                          # one array per tensor in nested()
    # the bytes are NumPy's .npy: no pickle opcode stream anywhere
    assert b"\x80\x04\x95" not in (tmp_path / "f").read_bytes()


def test_an_object_array_in_a_crafted_file_is_refused_without_running_code(tmp_path):
    ran = []

    class Payload:
        def __reduce__(self):
            return (ran.append, ("code ran",))

    structure = {"format": "minigrad", "version": 1,
                 "object": {"type": "tensor", "array": "tensor0", "dtype": "object",
                            "shape": [1], "requires_grad": False}}
    np.savez(tmp_path / "evil.npz", tensor0=np.array([Payload()], dtype=object),
             structure=np.array(json.dumps(structure)))
    with pytest.raises(ValueError, match="allow_pickle"):
        load(tmp_path / "evil.npz")
    assert ran == []


# ------------------------------------------------------------------ refusals


def test_a_pickle_is_refused_with_a_clear_message(tmp_path):
    with open(tmp_path / "p.pkl", "wb") as f:
        pickle.dump({"w": np.zeros(2)}, f)
    with pytest.raises(RuntimeError, match="pickle.*minigrad never unpickles") as error:
        load(tmp_path / "p.pkl")
    assert "minigrad.save" in str(error.value)


def test_a_pytorch_file_is_refused_with_a_clear_message(tmp_path):
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "model.pt")
    with pytest.raises(RuntimeError, match="torch.save") as error:
        load(tmp_path / "model.pt")
    assert "not supported" in str(error.value) and "load_state_dict" in str(error.value)
    torch.save(torch.ones(2), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="pickle"):
        load(tmp_path / "old.pt")


@pytest.mark.parametrize("content,words", [
    (b"", "an empty file"),
    (b"hello, world", "not a zip archive"),
    (b"PK\x03\x04 broken", "damaged or unknown zip"),
], ids=["empty", "text", "broken zip"])
def test_other_files_are_refused_saying_what_minigrad_loads(tmp_path, content, words):
    (tmp_path / "f").write_bytes(content)
    with pytest.raises(RuntimeError, match=words) as error:
        load(tmp_path / "f")
    assert "minigrad.save writes" in str(error.value)


def test_a_plain_npz_and_a_npy_are_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(RuntimeError, match="numpy.load"):
        load(tmp_path / "plain.npz")
    np.save(tmp_path / "one.npy", np.zeros(2))
    with pytest.raises(RuntimeError, match=r"\.npy array"):
        load(tmp_path / "one.npy")


@pytest.mark.parametrize("obj,where", [
    ({"a": [np.zeros(2)]}, r"obj\['a'\]\[0\].*minigrad.tensor\(array\)"),
    ([np.float32(1.0)], r"obj\[0\].*\.item\(\)"),
    ({"s": {1, 2}}, r"obj\['s'\] is a builtins.set"),
    ({("a", 1): mg.ones(1)}, "key of type tuple"),
    (torch.ones(2), "torch.Tensor"),
], ids=["array", "numpy number", "set", "tuple key", "torch tensor"])
def test_what_cannot_be_saved_is_named(obj, where):
    with pytest.raises(TypeError, match=where):
        save(obj, io.BytesIO())


def test_a_cycle_is_refused():
    loop = [mg.ones(1)]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, io.BytesIO())
    shared = [1, 2]
    assert round_trip([shared, shared]) == [[1, 2], [1, 2]]    # shared is not a cycle


# ------------------------------------------------------------------ map_location, weights_only


@pytest.mark.parametrize("where", [None, "cpu", mg.device("cpu")], ids=str)
def test_map_location_cpu(where):
    back = round_trip({"w": mg.ones(2)}, map_location=where)
    assert back["w"].device.type == "cpu"


def test_map_location_cuda():
    if mg.cuda.is_available():
        back = round_trip({"w": mg.ones(2, requires_grad=True)}, map_location="cuda")
        assert back["w"].device.type == "cuda" and back["w"].requires_grad
        assert back["w"].cpu().tolist() == [1.0, 1.0]
        again = round_trip(back)           # saved from the GPU, loaded on the CPU
        assert again["w"].device.type == "cpu"
    else:
        with pytest.raises(RuntimeError, match="'cuda' is not available"):
            round_trip({"w": mg.ones(2)}, map_location="cuda")


def test_map_location_forms_minigrad_does_not_take_are_refused():
    for where in ({"cuda:0": "cpu"}, lambda storage, location: storage):
        with pytest.raises(NotImplementedError, match="map_location"):
            round_trip(mg.ones(1), map_location=where)
    with pytest.raises(RuntimeError, match="unknown device"):
        round_trip(mg.ones(1), map_location="tpu")


def test_weights_only_is_accepted_either_way():
    for weights_only in (True, False):
        assert round_trip([mg.ones(1)], weights_only=weights_only)[0].tolist() == [1.0]


def test_a_file_from_a_newer_format_is_refused(tmp_path):
    np.savez(tmp_path / "new.npz", structure=np.array(json.dumps(
        {"format": "minigrad", "version": 99, "object": {"type": "None"}})))
    with pytest.raises(RuntimeError, match="version 99 of minigrad's format"):
        load(tmp_path / "new.npz")
    np.savez(tmp_path / "other.npz", structure=np.array('{"format": "other"}'))
    with pytest.raises(RuntimeError, match="entry is not minigrad's"):
        load(tmp_path / "other.npz")


def test_saving_to_a_path_object_names_the_file_exactly(tmp_path):
    target = pathlib.Path(tmp_path) / "weights.bin"
    save(mg.ones(1), target)
    assert target.exists() and not (tmp_path / "weights.bin.npz").exists()
