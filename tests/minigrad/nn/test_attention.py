"""Attention layers (minigrad/nn/attention.py): MultiheadAttention, TransformerEncoderLayer,
TransformerEncoder and Transformer.generate_square_subsequent_mask against torch.nn."""

import math
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from mgtest import TOLS, compare, randn

E, H, L, S, N = 8, 2, 4, 5, 3        # embed dim, heads, query length, key length, batch
DTYPES = {"float64": (torch.float64, mg.float64), "float32": (torch.float32, mg.float32)}


def pair(make, dtype):
    """The same module in both frameworks (make(nn) builds it), minigrad's weights copied
    from torch's, both in `dtype`."""
    tdt, mdt = DTYPES[dtype]
    t = make(torch.nn).to(tdt)
    m = make(mg.nn).to(mdt)
    m.load_state_dict(t.state_dict())
    return t, m


def lib_args(lib, dtype, args):
    """NumPy values in `args` (a dict) become tensors of `lib`: float arrays in `dtype`,
    bool arrays as they are."""
    out = {}
    for k, v in args.items():
        if isinstance(v, np.ndarray):
            v = lib.tensor(v.astype(dtype) if v.dtype != bool else v)
        out[k] = v
    return out


def run_pair(t, m, inputs, dtype, kwargs=(), same_input=False, seed=0):
    """Forward both modules on the same inputs; compare outputs (and attention weights),
    then backward a random combination of them and compare the grads of the inputs and of
    every parameter."""
    kwargs = dict(kwargs)
    atol, rtol = TOLS[dtype]
    atol, rtol = atol * 100, rtol * 10          # sums over heads/keys/features
    xs_t = [torch.tensor(x.astype(dtype), requires_grad=True) for x in inputs]
    xs_m = [mg.tensor(x.astype(dtype), requires_grad=True) for x in inputs]
    if same_input:                               # self-attention: query is key is value
        xs_t, xs_m = xs_t * 3, xs_m * 3
    ot = t(*xs_t, **lib_args(torch, dtype, kwargs))
    om = m(*xs_m, **lib_args(mg, dtype, kwargs))
    ot, om = (ot, om) if isinstance(ot, tuple) else ((ot,), (om,))
    assert len(ot) == len(om)
    loss_t, loss_m = 0, 0
    for i, (a, b) in enumerate(zip(ot, om)):
        if a is None:
            assert b is None, f"output {i}: torch gives None"
            continue
        assert tuple(b.shape) == tuple(a.shape), f"output {i} shape"
        assert str(b.dtype).split(".")[-1] == str(a.dtype).split(".")[-1], f"output {i} dtype"
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), atol=atol,
                                   rtol=rtol, err_msg=f"output {i}")
        R = randn(*a.shape, seed=seed + i).astype(dtype)
        loss_t = loss_t + (a * torch.tensor(R)).sum()
        loss_m = loss_m + (b * mg.tensor(R)).sum()
    loss_t.backward()
    loss_m.backward()
    for i, (a, b) in enumerate(zip(xs_t[:len(inputs)], xs_m)):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"grad of input {i}")
    mp = dict(m.named_parameters())
    assert list(mp) == [n for n, _ in t.named_parameters()]
    for name, p in t.named_parameters():
        np.testing.assert_allclose(mp[name].grad.numpy(), p.grad.numpy(), atol=atol,
                                   rtol=rtol, err_msg=f"grad of {name}")
    return ot, om


# ------------------------------------------------------------------ masks
CAUSAL = np.triu(np.ones((L, S), dtype=bool), 1)               # True: may not attend
PAD = np.array([[False] * 4 + [True], [False] * 5, [False, True, False, True, False]])
RNG = np.random.default_rng(7)
MASK3 = RNG.random((N * H, L, S)) < 0.3
MASK3[..., 1] = False                                          # no query attends nowhere
FLOAT2 = RNG.standard_normal((L, S))
FLOAT3 = RNG.standard_normal((N * H, L, S))
FLOAT_PAD = np.where(PAD, -1e9, RNG.standard_normal((N, S)))
DEAD = PAD.copy()
DEAD[2, 0] = True                    # with CAUSAL, query 0 of batch entry 2 sees no key

MHA_CASES = {
    "plain": ({}, {}),
    "no_weights": ({}, dict(need_weights=False)),
    "per_head_weights": ({}, dict(average_attn_weights=False)),
    "batch_first": (dict(batch_first=True), {}),
    "bool_2d": ({}, dict(attn_mask=CAUSAL)),
    "float_2d": ({}, dict(attn_mask=FLOAT2)),
    "bool_3d": ({}, dict(attn_mask=MASK3)),
    "float_3d": ({}, dict(attn_mask=FLOAT3, average_attn_weights=False)),
    "bool_padding": ({}, dict(key_padding_mask=PAD)),
    "float_padding": ({}, dict(key_padding_mask=FLOAT_PAD)),
    "both_masks": (dict(batch_first=True), dict(attn_mask=CAUSAL, key_padding_mask=PAD)),
    "both_masks_float": ({}, dict(attn_mask=FLOAT3, key_padding_mask=FLOAT_PAD)),
    "both_masks_no_weights": ({}, dict(attn_mask=MASK3, key_padding_mask=PAD,
                                       need_weights=False)),
    # a query that may attend nowhere: torch's scaled_dot_product_attention gives zeros
    "nowhere_to_attend": ({}, dict(attn_mask=CAUSAL, key_padding_mask=DEAD,
                                   need_weights=False)),
    "kdim_vdim": (dict(kdim=3, vdim=6), {}),
    "kdim_vdim_no_bias": (dict(kdim=3, vdim=6, bias=False, batch_first=True),
                          dict(attn_mask=CAUSAL, need_weights=False)),
    "no_bias": (dict(bias=False), dict(key_padding_mask=PAD)),
    "bias_kv_zero_attn": (dict(add_bias_kv=True, add_zero_attn=True),
                          dict(attn_mask=CAUSAL, key_padding_mask=PAD)),
    "eval_with_dropout": (dict(dropout=0.5), {}),
}


def mha_inputs(kw, batched=True, length=L):
    bf = kw.get("batch_first", False)
    shape = ((lambda n, e: (N, n, e)) if bf else (lambda n, e: (n, N, e))) if batched \
        else (lambda n, e: (n, e))
    kd, vd = kw.get("kdim", E), kw.get("vdim", E)
    return [randn(*shape(length, E), seed=1), randn(*shape(S, kd), seed=2),
            randn(*shape(S, vd), seed=3)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(case, dtype):
    kw, call = MHA_CASES[case]
    t, m = pair(lambda nn: nn.MultiheadAttention(E, H, **kw), dtype)
    if "dropout" in kw:
        t.eval(), m.eval()
    run_pair(t, m, mha_inputs(kw), dtype, call)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention(dtype, need_weights, batch_first):
    t, m = pair(lambda nn: nn.MultiheadAttention(E, H, batch_first=batch_first), dtype)
    x = randn(*((N, L, E) if batch_first else (L, N, E)), seed=4)
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    run_pair(t, m, [x], dtype, dict(attn_mask=causal, need_weights=need_weights),
             same_input=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_is_causal_hint(dtype, need_weights):
    """is_causal=True with its mask: torch's scaled_dot_product_attention makes the mask
    itself when no weights are wanted."""
    t, m = pair(lambda nn: nn.MultiheadAttention(E, H), dtype)
    x = randn(L, N, E, seed=5)
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    run_pair(t, m, [x], dtype, dict(attn_mask=causal, is_causal=True,
                                    need_weights=need_weights), same_input=True)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("call", [{}, dict(attn_mask=CAUSAL, key_padding_mask=PAD[0]),
                                  dict(attn_mask=MASK3[:H], need_weights=False),
                                  dict(average_attn_weights=False)], ids=str)
def test_mha_unbatched(dtype, call):
    kw = dict(batch_first=True)                  # ignored for unbatched inputs
    t, m = pair(lambda nn: nn.MultiheadAttention(E, H, **kw), dtype)
    run_pair(t, m, mha_inputs(kw, batched=False), dtype, call)


def test_mha_weights_and_shapes():
    t, m = pair(lambda nn: nn.MultiheadAttention(E, H, batch_first=True), "float32")
    x = mg.randn(N, L, E)
    out, w = m(x, x, x, average_attn_weights=False)
    assert tuple(out.shape) == (N, L, E) and tuple(w.shape) == (N, H, L, L)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1, atol=1e-6)


def test_mha_dropout_in_training():
    """Attention dropout is random, so only its effect is checked: zeros appear in the
    returned weights in training, none in eval."""
    mg.manual_seed(0)
    m = mg.nn.MultiheadAttention(E, 1, dropout=0.5)
    x = mg.randn(L, N, E)
    _, w = m(x, x, x)
    assert (w.detach().numpy() == 0).mean() > 0.2
    _, w = m.eval()(x, x, x)
    assert (w.detach().numpy() == 0).mean() == 0


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_query_that_attends_nowhere_gets_zeros(kind):
    """torch's scaled_dot_product_attention gives zeros (and zero grads), not NaN, for a
    query whose every key is masked out."""
    allowed = np.tril(np.ones((3, 4), dtype=bool))
    allowed[1] = False
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf)

    def fn(T, q, k, v):
        m = T.tensor(mask if kind == "bool" else mask.astype(str(q.dtype).split(".")[-1]))
        return T.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
    compare(fn, randn(2, 3, 5, seed=1), randn(2, 4, 5, seed=2), randn(2, 4, 5, seed=3))


# ------------------------------------------------------------------ layout, init, repr
MHA_CONFIGS = [dict(), dict(bias=False), dict(kdim=3, vdim=5), dict(batch_first=True),
               dict(add_bias_kv=True), dict(add_zero_attn=True, dropout=0.1)]


@pytest.mark.parametrize("kw", MHA_CONFIGS, ids=str)
def test_mha_state_dict_and_repr(kw):
    t, m = torch.nn.MultiheadAttention(E, H, **kw), mg.nn.MultiheadAttention(E, H, **kw)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert repr(m) == repr(t)
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(m.out_proj, mg.nn.Linear)
    for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                 "in_proj_bias", "bias_k", "bias_v"):
        assert (getattr(m, name) is None) == (getattr(t, name) is None), name
    for name in ("embed_dim", "kdim", "vdim", "num_heads", "head_dim", "dropout",
                 "batch_first", "add_zero_attn", "_qkv_same_embed_dim"):
        assert getattr(m, name) == getattr(t, name), name


def test_mha_init_like_torch():
    mg.manual_seed(0)
    e = 64
    m = mg.nn.MultiheadAttention(e, 4, add_bias_kv=True)
    w = m.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (e + 3 * e))          # xavier_uniform_, fan_in=E, fan_out=3E
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()
    ow = m.out_proj.weight.detach().numpy()       # Linear's own init
    assert np.abs(ow).max() <= 1 / math.sqrt(e) and ow.std() > 0.8 / math.sqrt(3 * e)
    bk = np.concatenate([m.bias_k.detach().numpy().ravel(), m.bias_v.detach().numpy().ravel()])
    assert abs(bk.std() - math.sqrt(2 / (2 * e))) < 0.3 * math.sqrt(1 / e)   # xavier_normal_
    m = mg.nn.MultiheadAttention(e, 4, kdim=16, vdim=32)
    kb = math.sqrt(6 / (e + 16))
    assert np.abs(m.k_proj_weight.detach().numpy()).max() <= kb
    assert m.k_proj_weight.detach().numpy().std() > 0.8 * kb / math.sqrt(3)


def both_raise(fn, exc):
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(mg)


def test_mha_errors():
    both_raise(lambda T: T.nn.MultiheadAttention(6, 4), AssertionError)
    both_raise(lambda T: T.nn.MultiheadAttention(0, 1), ValueError)
    x3 = lambda T: T.zeros(L, N, E)                           # noqa: E731
    mha = lambda T: T.nn.MultiheadAttention(E, H)             # noqa: E731
    both_raise(lambda T: mha(T)(x3(T), x3(T), x3(T), is_causal=True), RuntimeError)
    both_raise(lambda T: mha(T)(x3(T), x3(T), x3(T), attn_mask=T.zeros(L, L + 1)),
               RuntimeError)
    both_raise(lambda T: mha(T)(x3(T), x3(T), x3(T), attn_mask=T.zeros(N, L, L)),
               RuntimeError)
    both_raise(lambda T: mha(T)(x3(T), x3(T), x3(T),
                                attn_mask=T.zeros(L, L, dtype=T.int64)), AssertionError)
    both_raise(lambda T: mha(T)(x3(T)[None], x3(T)[None], x3(T)[None]), AssertionError)
    both_raise(lambda T: mha(T)(x3(T), x3(T)[0], x3(T)), AssertionError)
    both_raise(lambda T: mha(T)(x3(T), x3(T), x3(T),
                                key_padding_mask=T.zeros(N, L + 1, dtype=T.bool)),
               AssertionError)
    both_raise(lambda T: mha(T)(x3(T), x3(T), x3(T), key_padding_mask=T.zeros(L)),
               AssertionError)
    both_raise(lambda T: T.nn.MultiheadAttention(E + 2, H)(x3(T), x3(T), x3(T)),
               AssertionError)


def test_mismatched_mask_types_warn():
    for T in (torch, mg):
        x = T.zeros(L, N, E)
        with pytest.warns(UserWarning, match="mismatched"):
            T.nn.MultiheadAttention(E, H)(x, x, x, attn_mask=T.zeros(L, L),
                                          key_padding_mask=T.zeros(N, L, dtype=T.bool))


# ------------------------------------------------------------------ Transformer encoder
D, FF = 8, 16                         # d_model, dim_feedforward
SELF_CAUSAL = np.triu(np.ones((L, L), dtype=bool), 1)
SELF_PAD = np.array([[False] * 3 + [True], [False] * 4, [False, True, False, True]])
FLOAT_SELF = RNG.standard_normal((L, L))

LAYER_CASES = {
    "post_norm": ({}, {}),
    "pre_norm": (dict(norm_first=True), {}),
    "gelu_string": (dict(activation="gelu"), {}),
    "batch_first_masks": (dict(batch_first=True, norm_first=True),
                          dict(src_mask=SELF_CAUSAL, src_key_padding_mask=SELF_PAD)),
    "causal_hint": ({}, dict(src_mask=SELF_CAUSAL, is_causal=True)),
    "float_mask": ({}, dict(src_mask=FLOAT_SELF)),
    "padding_only": ({}, dict(src_key_padding_mask=SELF_PAD)),
    "no_bias": (dict(bias=False, layer_norm_eps=1e-3), dict(src_mask=SELF_CAUSAL)),
    "eval_with_dropout": (dict(dropout=0.3), dict(src_key_padding_mask=SELF_PAD)),
}


def layer_kwargs(kw):
    kw = dict(kw)
    kw.setdefault("dropout", 0.0)                # no randomness in train-mode comparisons
    return kw


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(LAYER_CASES))
def test_encoder_layer_matches_torch(case, dtype):
    kw, call = LAYER_CASES[case]
    t, m = pair(lambda nn: nn.TransformerEncoderLayer(D, H, FF, **layer_kwargs(kw)), dtype)
    if case.startswith("eval"):
        t.eval(), m.eval()
    x = randn(*((N, L, D) if kw.get("batch_first") else (L, N, D)), seed=6)
    run_pair(t, m, [x], dtype, call)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ["module", "function"])
def test_encoder_layer_callable_activation(dtype, act):
    def make(nn):
        lib = torch if nn is torch.nn else mg
        fn = nn.GELU(approximate="tanh") if act == "module" else lib.nn.functional.silu
        return nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=fn)
    t, m = pair(make, dtype)
    assert repr(m) == repr(t)
    run_pair(t, m, [randn(L, N, D, seed=7)], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_encoder_layer_unbatched(dtype):
    t, m = pair(lambda nn: nn.TransformerEncoderLayer(D, H, FF, dropout=0.0,
                                                      batch_first=True), dtype)
    run_pair(t, m, [randn(L, D, seed=8)], dtype,
             dict(src_mask=SELF_CAUSAL, src_key_padding_mask=SELF_PAD[0]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("mask", ["square", "padding", "none"])
def test_encoder_matches_torch(dtype, norm_first, mask):
    """Two layers and a final LayerNorm; the square subsequent mask also takes PyTorch's
    path that detects a causal mask (is_causal=None)."""
    def make(nn):
        layer = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True,
                                           norm_first=norm_first)
        return nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D), enable_nested_tensor=False)
    t, m = pair(make, dtype)
    square = torch.nn.Transformer.generate_square_subsequent_mask(L).numpy()
    call = {"square": dict(mask=square), "padding": dict(src_key_padding_mask=SELF_PAD),
            "none": {}}[mask]
    run_pair(t, m, [randn(N, L, D, seed=9)], dtype, call)


def test_encoder_layers_are_independent_copies():
    layer = mg.nn.TransformerEncoderLayer(D, H, FF)
    enc = mg.nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3 and enc.num_layers == 3
    ws = [lay.linear1.weight for lay in enc.layers]
    assert ws[0] is not ws[1] and ws[0] is not layer.linear1.weight
    np.testing.assert_array_equal(ws[0].detach().numpy(), ws[2].detach().numpy())


@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, bias=False, dropout=0.2),
                                dict(activation="gelu", batch_first=True,
                                     layer_norm_eps=1e-6)], ids=str)
def test_encoder_state_dict_and_repr(kw):
    t = torch.nn.TransformerEncoderLayer(D, H, FF, **kw)
    m = mg.nn.TransformerEncoderLayer(D, H, FF, **kw)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert repr(m) == repr(t)
    assert m.norm_first == t.norm_first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # torch's note about nested tensors
        te = torch.nn.TransformerEncoder(t, 2, norm=torch.nn.LayerNorm(D))
    me = mg.nn.TransformerEncoder(m, 2, norm=mg.nn.LayerNorm(D))
    assert list(me.state_dict()) == list(te.state_dict())
    assert repr(me) == repr(te)
    me.load_state_dict(te.state_dict())


def test_encoder_layer_errors():
    both_raise(lambda T: T.nn.TransformerEncoderLayer(D, H, activation="tanh"), RuntimeError)
    both_raise(lambda T: T.nn.TransformerEncoderLayer(D, 3), AssertionError)
    both_raise(lambda T: T.nn.TransformerEncoderLayer(D, H)(
        T.zeros(L, N, D), src_mask=T.zeros(L, L, dtype=T.int64)), AssertionError)


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_generate_square_subsequent_mask(dtype):
    tm = torch.nn.Transformer.generate_square_subsequent_mask(
        5, dtype=None if dtype is None else torch.float64)
    mm = mg.nn.Transformer.generate_square_subsequent_mask(
        5, dtype=None if dtype is None else mg.float64)
    assert str(mm.dtype).split(".")[-1] == str(tm.dtype).split(".")[-1]
    np.testing.assert_array_equal(mm.numpy(), tm.numpy())


def test_transformer_model_is_refused():
    with pytest.raises(NotImplementedError, match="TransformerEncoder"):
        mg.nn.Transformer()


# ------------------------------------------------------------------ training
def test_training_a_causal_attention_block_matches_torch():
    """20 SGD steps of embed -> causal encoder layer -> head: the same loss at every step."""
    def make(nn):
        return nn.ModuleDict({
            "embed": nn.Linear(3, D),
            "block": nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True,
                                                norm_first=True, activation="gelu"),
            "head": nn.Linear(D, 2)})

    def step(lib, model, opt, x, y, mask):
        opt.zero_grad()
        h = model["embed"](x)
        h = model["block"](h, src_mask=mask, is_causal=True)
        loss = ((model["head"](h) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    torch.manual_seed(0)
    t, m = pair(make, "float64")
    x, y = randn(N, 6, 3, seed=10), randn(N, 6, 2, seed=11)
    runs = []
    for lib, model in ((torch, t), (mg, m)):
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        mask = lib.nn.Transformer.generate_square_subsequent_mask(6, dtype=lib.float64)
        xs, ys = lib.tensor(x), lib.tensor(y)
        runs.append([step(lib, model, opt, xs, ys, mask) for _ in range(20)])
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-9, atol=1e-12)
    assert runs[0][-1] < 0.8 * runs[0][0]                # it did learn something
