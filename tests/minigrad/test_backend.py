"""Devices: "cpu" always works; "cuda" needs CuPy and a GPU, and says so when missing."""
import importlib.util

import numpy as np
import pytest

import minigrad as mg
from mgtest import assert_same_outcome


def _gpu_present():
    if importlib.util.find_spec("cupy") is None:
        return False
    import cupy
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


GPU = _gpu_present()
needs_no_gpu = pytest.mark.skipif(GPU, reason="checks the message shown on machines without a GPU")


def test_is_available_matches_what_the_machine_has():
    assert mg.cuda.is_available() is GPU
    assert (mg.cuda.device_count() > 0) is GPU


def test_device_compares_like_torch_device():
    cpu = mg.device("cpu")
    assert cpu != "cpu" and cpu == mg.device("cpu") and cpu != mg.device("cuda")
    assert str(cpu) == "cpu" and repr(cpu) == "device(type='cpu')"
    assert mg.device("cuda:0").type == "cuda"
    assert mg.tensor([1.0]).device == mg.device("cpu")


def test_unknown_device_is_rejected_by_name():
    with pytest.raises(RuntimeError, match="tpu"):
        mg.device("tpu")
    with pytest.raises(RuntimeError, match="tpu"):
        mg.tensor([1.0]).to("tpu")


@needs_no_gpu
@pytest.mark.parametrize("make", [
    lambda: mg.tensor([1.0, 2.0]).cuda(),
    lambda: mg.tensor([1.0, 2.0]).to("cuda"),
    lambda: mg.tensor([1.0, 2.0], device="cuda"),
    lambda: mg.zeros(2, 3, device="cuda"),
    lambda: mg.nn.Linear(2, 3).to("cuda"),
], ids=["Tensor.cuda", "Tensor.to", "tensor(device=)", "zeros(device=)", "Module.to"])
def test_cuda_without_a_gpu_raises_a_clear_error(make):
    with pytest.raises(RuntimeError) as info:
        make()
    message = str(info.value)
    assert "cuda" in message and "CuPy" in message and "is_available" in message


@needs_no_gpu
def test_failed_move_leaves_the_module_on_the_cpu():
    layer = mg.nn.Linear(2, 3)
    before = layer.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError):
        layer.to("cuda")
    assert layer.weight.device.type == "cpu"
    np.testing.assert_array_equal(layer.weight.detach().numpy(), before)


def test_cpu_moves_are_no_ops_that_keep_the_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu")
    assert y.device.type == "cpu"
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 2.0])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# ------------------------------------------ torch.device and torch.accelerator, as in PyTorch

DEVICE_PROGRAMS = {
    "device_parts": lambda T: [(d.type, d.index, str(d), repr(d)) for d in (
        T.device("cpu"), T.device("cuda"), T.device("cuda:1"), T.device("cuda", 0),
        T.device(T.device("cuda:2")))],
    "device_equality": lambda T: [T.device("cpu") == "cpu", T.device("cpu") == T.device("cpu"),
                                  T.device("cuda") == T.device("cuda:0"),
                                  T.ones(2).device == T.device("cpu"),
                                  len({T.device("cpu"), T.device("cpu")})],
    "device_unknown": lambda T: T.device("tpu"),
    "device_index_twice": lambda T: T.device("cuda:0", 1),
    "device_negative_index": lambda T: T.device("cuda", -1),
    "tensor_is_cuda": lambda T: [T.ones(2).is_cuda, T.ones(2).device.type],
    "accelerator": lambda T: [T.accelerator.is_available(),
                                               T.accelerator.current_accelerator(),
                                               T.accelerator.device_count()],
    "default_device_cpu": lambda T: [T.set_default_device("cpu"), T.get_default_device().type,
                                     T.ones(1).device.type],
    "size_of_a_dim": lambda T: [T.ones(2, 3).size(1), T.ones(2, 3).size(-2),
                                list(T.ones(2, 3).size())],
    "size_out_of_range": lambda T: T.ones(2, 3).size(2),
}


@pytest.mark.parametrize("name", sorted(DEVICE_PROGRAMS))
def test_device_api_agrees_with_pytorch(name):
    assert_same_outcome(DEVICE_PROGRAMS[name])


def test_set_default_device_cuda_says_what_to_do():
    with pytest.raises(NotImplementedError, match="device="):
        mg.set_default_device("cuda")
