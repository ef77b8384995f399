"""minigrad's ops on device "cuda" give what they give on "cpu" (skipped without a GPU).

The CPU results are themselves checked against PyTorch by the other tests, so equal
results here mean the GPU path agrees with PyTorch too.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

pytestmark = pytest.mark.skipif(not mg.cuda.is_available(), reason="needs CuPy and an NVIDIA GPU")

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 5))
B = rng.standard_normal((4, 5))
POS = rng.random((4, 5)) + 0.5
W = rng.standard_normal((3, 5))
IMG = rng.standard_normal((2, 3, 6, 6))
KER = rng.standard_normal((4, 3, 3, 3))
TARGET = np.array([0, 2, 1, 2])

OPS = {
    "add": (lambda a, b: a + b, [A, B[:1]]),
    "sub_mul_div": (lambda a, b: (a - b) * a / b, [A, POS]),
    "pow": (lambda a: a ** 3, [A]),
    "exp_log_sqrt": (lambda p: p.exp() + p.log() + p.sqrt(), [POS]),
    "abs_tanh_sigmoid_relu": (lambda a: a.abs() + a.tanh() + a.sigmoid() + a.relu(), [A]),
    "clamp_maximum": (lambda a, b: a.clamp(-0.5, 0.5) + mg.maximum(a, b), [A, B]),
    "where": (lambda a, b: mg.where(a > b, a, b), [A, B]),
    "reductions": (lambda a: a.sum(dim=1) + a.mean(dim=1) + a.amax(dim=1), [A]),
    "max": (lambda a: a.max(), [A]),
    "shapes": (lambda a: a.reshape(5, 4).transpose(0, 1).permute(1, 0).unsqueeze(0)
               .squeeze(0).flatten().view(4, 5).T, [A]),
    "index": (lambda a: a[1:, None, [0, 2, 2]], [A]),
    "cat_stack": (lambda a, b: mg.cat([a, b], dim=1) * mg.stack([b, a], dim=1).flatten(1),
                  [A, B]),
    "softmax": (lambda a: a.softmax(dim=1) + a.log_softmax(dim=0), [A]),
    "matmul_linear": (lambda a, w: (a @ w.T) + F.linear(a, w), [A, W]),
    "cross_entropy": (lambda a: F.cross_entropy(a, mg.tensor(TARGET, device="cuda")), [A]),
    "mse": (lambda a, b: F.mse_loss(a, b), [A, B]),
    "conv_pool": (lambda x, k: F.max_pool2d(F.conv2d(x, k, padding=1), 2), [IMG, KER]),
}


def _run(fn, arrays, device, seed=1):
    tensors = [mg.tensor(a, dtype=mg.float64, requires_grad=True, device=device) for a in arrays]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(mg.tensor(upstream, dtype=mg.float64, device=device))
    return out.detach().cpu().numpy(), [t.grad.cpu().numpy() for t in tensors]


@pytest.mark.parametrize("name", list(OPS))
def test_op_on_cuda_matches_cpu(name):
    fn, arrays = OPS[name]
    if name == "cross_entropy":
        cpu = _run(lambda a: F.cross_entropy(a, mg.tensor(TARGET)), arrays, "cpu")
    else:
        cpu = _run(fn, arrays, "cpu")
    gpu = _run(fn, arrays, "cuda")
    out_cpu, grads_cpu = cpu
    out_gpu, grads_gpu = gpu
    np.testing.assert_allclose(out_gpu, out_cpu, rtol=1e-10, atol=1e-12)
    for g_gpu, g_cpu in zip(grads_gpu, grads_cpu):
        np.testing.assert_allclose(g_gpu, g_cpu, rtol=1e-10, atol=1e-12)


def test_results_stay_on_the_gpu():
    x = mg.randn(3, 4, device="cuda", requires_grad=True)
    y = (x.relu() @ mg.ones(4, 2, device="cuda")).sum()
    y.backward()
    assert y.device.type == "cuda" and x.grad.device.type == "cuda"


def test_mixing_devices_is_an_error():
    with pytest.raises(RuntimeError, match="same device"):
        mg.ones(2, device="cuda") + mg.ones(2)


def _train(device, optimizer, steps=5):
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(5, 16), mg.nn.ReLU(), mg.nn.Linear(16, 3))
    model.to(device)
    opt = (mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
           if optimizer == "sgd" else mg.optim.Adam(model.parameters(), lr=1e-2))
    X = mg.tensor(A, device=device)
    y = mg.tensor(TARGET, device=device)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_on_cuda_matches_cpu(optimizer):
    losses_cpu, weights_cpu = _train("cpu", optimizer)
    losses_gpu, weights_gpu = _train("cuda", optimizer)
    np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-5)
    for name, w in weights_cpu.items():
        np.testing.assert_allclose(weights_gpu[name], w, rtol=1e-4, atol=1e-5)
