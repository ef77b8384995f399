"""Recurrent layers of `minigrad.nn`: RNN, GRU, LSTM and their one-step cells, with
PyTorch's parameter names, gate order, initialisation and shapes.

Each time step is written with ordinary Tensor ops, so autograd records the unrolled
network and backpropagation through time is a plain `backward()`.
"""
import math
import numbers
import warnings

from .. import creation
from ..tensor import Tensor, cat, stack
from . import functional as F, init
from .module import Module, Parameter

__all__ = ["RNNCellBase", "RNNCell", "GRUCell", "LSTMCell", "RNNBase", "RNN", "GRU", "LSTM"]


# ------------------------------------------------------------------ one time step
# `gi` is W_ih x + b_ih, computed beforehand (for a whole sequence in one matmul);
# `state` is (h,) or, for the LSTM, (h, c). Each step returns the new state.

def _rnn_tanh_step(gi, state, w_hh, b_hh):
    return ((gi + F.linear(state[0], w_hh, b_hh)).tanh(),)


def _rnn_relu_step(gi, state, w_hh, b_hh):
    return ((gi + F.linear(state[0], w_hh, b_hh)).relu(),)


def _gru_step(gi, state, w_hh, b_hh):
    (h,) = state
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = (i_r + h_r).sigmoid()                 # reset gate
    z = (i_z + h_z).sigmoid()                 # update gate
    n = (i_n + r * h_n).tanh()                # r multiplies W_hn h + b_hn, bias included
    return ((h - n) * z + n,)                 # = (1 - z) * n + z * h


def _lstm_step(gi, state, w_hh, b_hh):
    h, c = state
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


_STEPS = {"RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "GRU": _gru_step,
          "LSTM": _lstm_step}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


def _reset(module):
    """PyTorch's default for every recurrent weight and bias: U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


# ------------------------------------------------------------------ cells
class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = dict(device=device, dtype=dtype)
        self.weight_ih = Parameter(creation.empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(creation.empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset(self)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, mode, input, hx, n_states):
        """Check the shapes as PyTorch does, then run one step of `mode` on (batched) tensors."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else ((hx,) if n_states == 1 else tuple(hx))
        for k, s in enumerate(states or ()):
            if s.dim() not in (1, 2):
                what = "hidden" if n_states == 1 else f"hx[{k}]"
                raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if states is None:
            states = (input.new_zeros(input.shape[0], self.hidden_size),) * n_states
        elif not batched:
            states = tuple(s.unsqueeze(0) for s in states)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        for k, s in enumerate(states):
            if s.dim() != 2 or s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{k} "
                                   f"batch size {s.shape[0] if s.dim() else 0}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        out = _STEPS[mode](gi, states, self.weight_hh, self.bias_hh)
        return out if batched else tuple(s.squeeze(0) for s in out)


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or relu in place of tanh."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):   # PyTorch checks here, not at __init__
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step("RNN_" + self.nonlinearity.upper(), input, hx, 1)[0]


class GRUCell(RNNCellBase):
    """One GRU step; gates r, z, n in that order in weight_ih/weight_hh."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        return self._step("GRU", input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step, returning (h', c'); gates i, f, g, o in that order."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        return self._step("LSTM", input, hx, 2)


# ------------------------------------------------------------------ whole sequences
class RNNBase(Module):
    """Stacked (and optionally bidirectional) recurrent layers over a whole sequence."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for arg, value in [("bias", bias), ("batch_first", batch_first),
                           ("input_size", input_size), ("hidden_size", hidden_size)]:
            kind = bool if arg in ("bias", "batch_first") else int
            if not isinstance(value, kind):
                raise TypeError(f"{arg} should be of type {kind.__name__}, "
                                f"got: {type(value).__name__}")
        for arg, value in [("input_size", input_size), ("hidden_size", hidden_size),
                           ("num_layers", num_layers)]:
            if value <= 0:
                raise ValueError(f"{arg} must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size > 0:
            raise NotImplementedError("minigrad's LSTM does not support proj_size > 0 "
                                      "(projected hidden states) yet")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        gates, directions = _GATES[mode] * hidden_size, 2 if bidirectional else 1
        kw = dict(device=device, dtype=dtype)
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                names = [name + suffix for name in shapes]
                for name, shape in zip(names, shapes.values()):
                    setattr(self, name, Parameter(creation.empty(*shape, **kw)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        _reset(self)

    def flatten_parameters(self):
        """Nothing to do: PyTorch packs the weights for cuDNN here; minigrad needs no packing."""

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def _initial_states(self, input, hx, batched):
        """The initial states as a tuple ((h0,) or (h0, c0)) of (layers*directions, N, H)
        tensors, zeros where hx is None; the shapes checked as PyTorch checks them."""
        lstm = self.mode == "LSTM"
        expected = (self.num_layers * (2 if self.bidirectional else 1),
                    input.shape[0 if self.batch_first else 1], self.hidden_size)
        if hx is None:
            return (input.new_zeros(*expected),) * (2 if lstm else 1)
        states = tuple(hx) if lstm else (hx,)
        dims = 3 if batched else 2
        if any(s.dim() != dims for s in states):
            got = ", ".join(f"{s.dim()}-D" for s in states)
            what, got = ("hx and cx", f"({got}) tensors") if lstm else ("hx", f"{got} tensor")
            shape = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(f"For {shape} input, {what} should also be {dims}-D but got {got}")
        if not batched:
            states = tuple(s.unsqueeze(1) for s in states)
        for k, s in enumerate(states):
            if tuple(s.shape) != expected:
                what = f"hidden[{k}] size" if lstm else "hidden size"
                raise RuntimeError(f"Expected {what} {expected}, got {list(s.shape)}")
        return states

    def _check_input(self, input):
        if input.dtype != self.weight_ih_l0.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({self.weight_ih_l0.dtype}). Convert input: "
                             f"input.to({self.weight_ih_l0.dtype}), or convert model: "
                             f"model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _run(self, x, state, suffix, reverse):
        """One layer in one direction over x (L, N, H_in): (outputs (L, N, H), final state)."""
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        steps = F.linear(x, w_ih, b_ih).unbind(0)     # W_ih x + b_ih for all steps at once
        step, outputs = _STEPS[self.mode], []
        for gi in (reversed(steps) if reverse else steps):
            state = step(gi, state, w_hh, b_hh)
            outputs.append(state[0])
        if reverse:
            outputs.reverse()
        return stack(outputs), state

    def _forward(self, input, hx):
        if not isinstance(input, Tensor):
            packed = type(input).__name__ == "PackedSequence"
            raise TypeError(
                f"{type(self).__name__}: expected a Tensor, got {type(input).__name__}"
                + ("; minigrad has no PackedSequence: pad the batch "
                   "(nn.utils.rnn.pad_sequence) and take each sequence's output at its "
                   "length - 1" if packed else ""))
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D tensor instead")
        batched, batch_dim = input.dim() == 3, 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
        states = self._initial_states(input, hx, batched)
        self._check_input(input)
        x = input.transpose(0, 1) if self.batch_first else input      # (L, N, H_in)
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            if layer > 0:      # dropout on every layer's output except the last one's
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                out, state = self._run(x, tuple(s[k] for s in states), suffix, direction == 1)
                outputs.append(out)
                for final, s in zip(finals, state):
                    final.append(s)
            x = outputs[0] if directions == 1 else cat(outputs, 2)
        output = x.transpose(0, 1) if self.batch_first else x
        finals = tuple(stack(f) for f in finals)
        if not batched:
            output = output.squeeze(batch_dim)
            finals = tuple(f.squeeze(1) for f in finals)
        return output, finals


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu), stacked.
    Returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN got an unexpected keyword argument '{next(iter(kwargs))}'")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


class GRU(RNNBase):
    """Gated recurrent unit layers (gates r, z, n). Returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory layers (gates i, f, g, o). Returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._forward(input, hx)
