"""Attention layers of `minigrad.nn`: MultiheadAttention and the Transformer encoder, with
PyTorch's parameter names, layouts, initialisation and masking rules."""
import copy
import math
import warnings

from .. import creation
from ..ops.shape import Cat
from . import functional as F, init
from .container import Dropout, ModuleList
from .layers import Linear
from .module import Module, Parameter
from .normalization import LayerNorm


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear layer; PyTorch gives MultiheadAttention.out_proj this class name."""


def _is_float(t):
    return t.dtype.is_floating_point


def _canonical_mask(mask, name, dtype, other=None, other_name=""):
    """A bool mask (True: masked out) becomes a float mask of 0 and -inf in `dtype`; a float
    mask is added to the scores as it is."""
    if mask is None:
        return None
    if mask.dtype.name != "bool" and not _is_float(mask):
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=3)
    if _is_float(mask):
        return mask
    return creation.zeros(*mask.shape, dtype=dtype, device=mask.device).masked_fill(
        mask, float("-inf"))


def _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """PyTorch's checks of the ranks of the inputs; True when the input is batched."""
    if query.dim() not in (2, 3):
        raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    batched = query.dim() == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be "
                             f"{query.dim()}-D but found {key.dim()}-D and {value.dim()}-D "
                             "tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != query.dim() - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` "
                             f"or {query.dim() - 1}-D but found {key_padding_mask.dim()}-D "
                             "tensor instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D "
                                 f"or 3-D but found {attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                 f"{tuple(attn_mask.shape)}")
    return batched


class MultiheadAttention(Module):
    """Attention of `num_heads` heads in parallel: each projects query, key and value to
    embed_dim // num_heads features, attends, and out_proj mixes the heads' results.

    Inputs are (L, N, E) (or (N, L, E) with batch_first=True, or (L, E) unbatched);
    forward returns (attn_output, attn_weights), the weights averaged over heads unless
    average_attn_weights=False, or None when need_weights=False."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        # One (3E, E) matrix holds the q, k and v projections stacked, unless key or
        # value have other sizes than the query.
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.empty(3 * embed_dim, embed_dim))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(creation.empty(embed_dim, embed_dim))
            self.k_proj_weight = Parameter(creation.empty(embed_dim, self.kdim))
            self.v_proj_weight = Parameter(creation.empty(embed_dim, self.vdim))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(creation.empty(1, 1, embed_dim))
            self.bias_v = Parameter(creation.empty(1, 1, embed_dim))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query, key, value):
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None,) * 3 if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        batched = _check_shapes(query, key, value, key_padding_mask, attn_mask,
                                self.num_heads)
        if batched and self.batch_first:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        L, N, E = query.shape
        H, hd = self.num_heads, self.head_dim
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype,
                                           attn_mask, "attn_mask")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = None                 # the hint alone makes the mask
        else:
            attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
            is_causal = False
        if E != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, "
                                 f"but got {E}")
        if self._qkv_same_embed_dim and tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do "
                                 f"not match value's {tuple(value.shape[:2])}")
        q, k, v = self._project(query, key, value)

        S = key.shape[0]
        if attn_mask is not None:
            want = (L, S) if attn_mask.dim() == 2 else (N * H, L, S)
            if tuple(attn_mask.shape) != want:
                raise RuntimeError(f"The shape of the {attn_mask.dim()}D attn_mask is "
                                   f"{tuple(attn_mask.shape)}, but should be {want}.")
            if attn_mask.dim() == 2:
                attn_mask = attn_mask.unsqueeze(0)
        if self.bias_k is not None:            # one more learned key/value position
            k = Cat.apply(k, self.bias_k.expand(1, N, E), dim=0)
            v = Cat.apply(v, self.bias_v.expand(1, N, E), dim=0)
            attn_mask, key_padding_mask = _pad_masks(attn_mask, key_padding_mask)
        # (len, N, E) -> (N * heads, len, head_dim): the heads become batch entries
        q, k, v = (x.reshape(x.shape[0], N * H, hd).transpose(0, 1) for x in (q, k, v))
        if self.add_zero_attn:                 # one more all-zero key/value position
            zeros = creation.zeros(N * H, 1, hd, dtype=k.dtype, device=k.device)
            k, v = Cat.apply(k, zeros, dim=1), Cat.apply(v, zeros, dim=1)
            attn_mask, key_padding_mask = _pad_masks(attn_mask, key_padding_mask)
        S = k.shape[1]
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise AssertionError(f"Expected key_padding_mask of shape {(N, S)}, but got "
                                     f"{tuple(key_padding_mask.shape)}")
            kpm = key_padding_mask.reshape(N, 1, 1, S).expand(N, H, 1, S).reshape(N * H, 1, S)
            attn_mask = kpm if attn_mask is None else attn_mask + kpm
        dropout_p = self.dropout if self.training else 0.0

        if need_weights:
            scores = q @ k.transpose(1, 2) * (1 / math.sqrt(hd))
            if attn_mask is not None:
                scores = scores + attn_mask
            weights = F.dropout(scores.softmax(-1), dropout_p)   # returned as dropped
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
        out = out.transpose(0, 1).reshape(L, N, E)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias)
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        weights = weights.reshape(N, H, L, S)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, (weights if batched else weights.squeeze(0))


def _pad_masks(attn_mask, key_padding_mask):
    """Let every query attend to one position appended at the end of the keys."""
    return tuple(None if m is None else F.pad(m, (0, 1)) for m in (attn_mask, key_padding_mask))


def _activation(activation):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if isinstance(activation, str):
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


class TransformerEncoderLayer(Module):
    """Self-attention then a two-layer feed-forward network, each added back to its input
    (a residual) and layer-normalised: after the addition (norm_first=False, the original
    Transformer) or before the block (norm_first=True)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)   # a Module here becomes a child

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               src.dtype, src_mask, "src_mask")
        src_mask = _canonical_mask(src_mask, "src_mask", src.dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerEncoder(Module):
    """`num_layers` copies of `encoder_layer` (each with its own weights), applied in turn,
    then `norm` if given."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        # nested tensors are a PyTorch inference speed-up that gives the same results
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask",
                                               src.dtype, mask, "mask")
        mask = _canonical_mask(mask, "mask", src.dtype)
        if is_causal is None:       # PyTorch's guess: the mask is exactly the causal mask
            is_causal = mask is not None and self._is_causal_mask(src, mask)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        return output if self.norm is None else self.norm(output)

    def _is_causal_mask(self, src, mask):
        batch_first = src.dim() == 3 and self.layers[0].self_attn.batch_first
        size = src.shape[1 if batch_first else 0]
        causal = Transformer.generate_square_subsequent_mask(size, mask.device, mask.dtype)
        return tuple(mask.shape) == (size, size) and bool((mask == causal).all())


class Transformer(Module):
    """Only the static helper generate_square_subsequent_mask exists here: the full
    encoder-decoder model is not part of minigrad."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("minigrad has no nn.Transformer (encoder-decoder); build "
                                  "the model from TransformerEncoderLayer/TransformerEncoder")

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """A float mask (sz, sz): 0 on and below the diagonal, -inf above, so position i
        attends to positions <= i only."""
        return creation.full((sz, sz), float("-inf"), dtype=dtype, device=device).triu(1)
