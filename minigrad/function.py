"""PyTorch's tensor-level autograd API, built on the engine in `autograd.py`.

`Function` is `torch.autograd.Function`: forward and backward see tensors, forward runs
without recording a graph, and the call becomes one node of the graph. (minigrad's own
operations are `Op`s, which compute on arrays; a `Function` is an Op whose forward and
backward wrap their arrays in tensors.) `grad` returns gradients instead of filling
`.grad`; `gradcheck` compares them with finite differences.

    class Exp(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y          # d exp(x)/dx = exp(x)
"""
import warnings

import numpy as np

from . import autograd
from .autograd import (
    NO_HIGHER_ORDER,
    Op,
    Pick,
    counter,
    no_grad,
    run_backward,
    run_hooks,
    seed_gradient,
)
from .backend import array_module
from .ops.util import unbroadcast
from .tensor import Tensor


class FunctionCtx(Op):
    """The `ctx` a Function's forward and backward receive; after the call, the
    output's `grad_fn`. One subclass per Function, named after it (`ExpBackward`)."""

    function = None          # the user's Function subclass
    materialize_grads = True
    non_differentiable = ()
    _saved_tensors = ()

    def save_for_backward(self, *tensors):
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save tensors, but argument "
                                f"{k} is of type {type(t).__name__}; keep "
                                "other values as attributes of ctx (ctx.k = k)")
        self._saved_tensors = tensors
        # the version of each now, checked before backward (see Op._check_versions)
        self._saved = tuple(t.data for t in tensors if t is not None)
        self._versions = [(counter(t), counter(t).value, k, t.data)
                          for k, t in enumerate(tensors) if t is not None]

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access "
                "saved tensors after they have already been freed): backward() freed what "
                f"{self.name()} saved. Pass backward(retain_graph=True) the first time if "
                "you need to backpropagate twice.")
        self._check_versions()
        return self._saved_tensors

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient (indices, masks): requires_grad=False."""
        self.non_differentiable = self.non_differentiable + tensors

    def set_materialize_grads(self, value):
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise NotImplementedError(
            "mark_dirty(): a custom Function that changes its inputs in place is not "
            "supported by minigrad; return a new tensor from forward instead")

    def mark_shared_storage(self, *pairs):
        raise NotImplementedError("mark_shared_storage() was removed from PyTorch; "
                                  "minigrad does not have it either")

    def _release(self):
        super()._release()
        self._saved_tensors = ()

    def _check_versions(self):
        for vc, version, k, _ in self._versions:
            if vc.value != version:
                t = self._saved_tensors[k]
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: tensor {k} that {self.name()} saved with "
                    f"save_for_backward (a {t.dtype} tensor of shape {tuple(t.shape)}) was "
                    f"at version {version} and is now at version {vc.value}. Make the "
                    "change out of place, or after backward().")

    def name(self):
        return f"{self.function.__name__}Backward"

    @staticmethod
    def forward(ctx, *arrays):
        raise RuntimeError("a Function's node is made by Function.apply(), not applied itself")

    @staticmethod
    def backward(ctx, grad):
        outputs = ctx.outputs
        if type(grad) is dict:              # several outputs: see autograd.Pick
            grads = [grad.get(k) for k in range(len(outputs))]
        else:
            grads = [grad]
        upstream = []
        for output, g in zip(outputs, grads):
            if g is None and ctx.materialize_grads and output is not None:
                shape, dtype, xp = output
                g = xp.zeros(shape, dtype)
            upstream.append(None if g is None else Tensor._make(g, False, None))
        with no_grad():
            result = ctx.function.backward(ctx, *upstream)
        return _check_gradients(ctx, result)


def _check_gradients(ctx, result):
    """One array (or None) per forward argument, as the engine wants, after PyTorch's
    checks: how many, None for arguments that are not tensors, shapes that fit."""
    if not isinstance(result, tuple):
        result = (result,)
    inputs, name = ctx.inputs, ctx.name()
    if len(result) < len(inputs) or any(g is not None for g in result[len(inputs):]):
        raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                           f"(expected {len(inputs)}, got {len(result)})")
    grads = []
    for k, (x, g) in enumerate(zip(inputs, result)):
        if g is None:
            grads.append(None)
            continue
        if not isinstance(g, Tensor):
            raise RuntimeError(f"function {name} returned a {type(g).__name__} as gradient "
                               f"{k}: expected a tensor or None (wrap arrays with "
                               "minigrad.tensor, or write the operation as an autograd.Op)")
        if not isinstance(x, Tensor):
            raise RuntimeError(f"function {name} returned a gradient different than None at "
                               f"position {k + 1}, but the corresponding forward input was "
                               "not a tensor")
        if not ctx.needs_input_grad[k]:
            grads.append(None)
            continue
        data = g.data
        if data.shape != x.data.shape:
            data = _sum_to(data, x.data.shape)
            if data is None:
                raise RuntimeError(f"Function {name} returned an invalid gradient at index "
                                   f"{k} - got {list(g.shape)} but expected shape "
                                   f"compatible with {list(x.shape)}")
        grads.append(data.astype(x.data.dtype, copy=False))
    return tuple(grads)


def _sum_to(g, shape):
    """`g` summed down to `shape` if `shape` broadcasts to g's shape, else None."""
    extra = g.ndim - len(shape)
    if extra < 0 or any(s != 1 and s != gs for s, gs in zip(shape, g.shape[extra:])):
        return None
    return unbroadcast(g, shape)


class Function:
    """Base class of custom differentiable operations on tensors, as in PyTorch.

    Subclasses write static methods `forward(ctx, *args, **kwargs)` (or `forward(*args)`
    plus `setup_context(ctx, inputs, output)`) and `backward(ctx, *grad_outputs)` with
    one gradient (or None) per forward argument, and call `MyFunction.apply(*args)`.
    """

    def __init__(self, *args, **kwargs):
        warnings.warn(f"{type(self).__name__} should not be instantiated. Methods on "
                      "autograd functions are all static, so you should invoke them on "
                      "the class itself.", DeprecationWarning, stacklevel=2)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method "
                                  "for your custom autograd.Function to use it with "
                                  "backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        autograd.refuse_while_tracing(
            f"the custom autograd.Function {cls.__name__}",
            "Call it outside the compiled function, or write the operation as an "
            "autograd.Op, whose forward and backward the trace can replay.")
        node_class = cls.__dict__.get("_node_class")
        if node_class is None:
            node_class = type(f"{cls.__name__}Backward", (FunctionCtx,),
                              {"function": cls, "op": cls.__name__.lower()})
            cls._node_class = node_class
        ctx = node_class()
        # as in PyTorch, what the inputs require, also inside no_grad()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        separate = cls.setup_context is not Function.setup_context
        with no_grad():
            if separate:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        if True not in ctx.needs_input_grad or not autograd.is_grad_enabled():
            return output
        return _connect(ctx, args, output)


def _connect(ctx, args, output):
    """Make the tensors forward returned the outputs of node `ctx` in the graph."""
    single = not isinstance(output, tuple)
    outputs = (output,) if single else output
    differentiable = [isinstance(t, Tensor) and t.data.dtype.kind in "fc"
                      and not any(t is n for n in ctx.non_differentiable) for t in outputs]
    ctx.inputs = args
    ctx.seq = next(autograd._sequence)
    # what backward needs to make zeros for an output that got no gradient; None for
    # outputs that are not tensors (backward receives None for them, as in PyTorch)
    ctx.outputs = [(t.data.shape, t.data.dtype, array_module(t.data)) if isinstance(t, Tensor)
                   else None for t in outputs]
    results = []
    if single and differentiable[0]:
        results.append(_as_output(output, args, ctx))
    elif True in differentiable:
        bundle = Tensor._make(np.zeros(()), True, ctx)    # stands for all outputs at once
        for k, (t, d) in enumerate(zip(outputs, differentiable)):
            results.append(_as_output(t, args, Pick.apply(bundle, k, t.data).grad_fn)
                           if d else t)
    else:
        results = list(outputs)
    return results[0] if single else tuple(results)


def _as_output(t, args, grad_fn):
    """The tensor forward made, now recording `grad_fn`; a new tensor sharing its memory
    (and version counter) if forward returned an input, or a view of one, as it is."""
    if t.grad_fn is None and not t.requires_grad and t._view is None and \
            not any(t is a for a in args):
        t.grad_fn, t.requires_grad = grad_fn, True
        return t
    out = Tensor._make(t.data, True, grad_fn)
    out._vc = counter(t)
    return out


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, as a tuple, without touching
    any `.grad` (torch.autograd.grad)."""
    if create_graph:
        raise NotImplementedError(f"autograd.grad(create_graph=True): {NO_HIGHER_ORDER}")
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported "
                                  "by minigrad: call it once per gradient")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None \
            else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs: got "
                           f"{len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for k, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, grads = [], []
    for k, (y, g) in enumerate(zip(outputs, grad_outputs)):
        if not y.requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not "
                               "have a grad_fn")
        roots.append(y)
        grads.append(seed_gradient(y, g, "grad_outputs=...", f"grad_outputs[{k}]"))
    found = [None] * len(inputs)
    for y, g in zip(roots, grads):          # an output that is itself an input
        for k, x in enumerate(inputs):
            if y is x and y.grad_fn is None:
                found[k] = g if found[k] is None else found[k] + g
    walked = [(y, g) for y, g in zip(roots, grads) if y.grad_fn is not None]
    if walked:
        more = run_backward([y for y, _ in walked], [g for _, g in walked],
                            bool(retain_graph), inputs)
        found = [a if b is None else b if a is None else a + b for a, b in zip(found, more)]
    result = []
    for k, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {k} appears to not "
                                   "have been used in the graph. Set allow_unused=True if "
                                   "this is the desired behavior.")
            result.append(Tensor._make(array_module(x.data).zeros_like(x.data), False, None)
                          if materialize_grads else None)
        else:
            if x.grad_fn is None and x._hooks:     # a leaf's hooks see its total gradient
                g = run_hooks(x._hooks, g)
            result.append(Tensor._make(array_module(g).array(g, dtype=x.data.dtype),
                                       False, None))
    return tuple(result)


class GradcheckError(RuntimeError):
    """gradcheck found analytical gradients that differ from finite differences."""


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of `func(*inputs)` against central finite differences, one
    input element at a time: the analytical Jacobian (from autograd.grad, one output
    element at a time) must match within `atol + rtol * |numerical|`."""
    if check_forward_ad or check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck: minigrad has no forward-mode AD or batched "
                                  "gradients; pass check_forward_ad=False, "
                                  "check_batched_grad=False")
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    wrt = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of the them have requires_grad=True.")
    for k in wrt:
        if inputs[k].data.dtype != np.float64:
            warnings.warn(f"Input #{k} requires gradient and is not a double precision "
                          "floating point. This check will likely fail if all the inputs "
                          "are not of double precision floating point. ", UserWarning,
                          stacklevel=2)

    def outputs_of():
        out = func(*inputs)
        return [o for o in ((out,) if isinstance(out, Tensor) else tuple(out))
                if isinstance(o, Tensor)]

    outputs = outputs_of()
    for i, y in enumerate(outputs):
        if not y.requires_grad:
            continue
        analytical = [np.zeros((y.data.size, inputs[k].data.size)) for k in wrt]
        for j in range(y.data.size):
            upstream = array_module(y.data).zeros(y.data.size, y.data.dtype)
            upstream[j] = 1
            grads = grad(y, [inputs[k] for k in wrt], Tensor(upstream.reshape(y.data.shape)),
                         retain_graph=True, allow_unused=True)
            for a, g in zip(analytical, grads):
                if g is not None:
                    a[j] = np.asarray(g.data).ravel()
        for a, k in zip(analytical, wrt):
            numerical = _numerical_jacobian(outputs_of, i, inputs[k], eps)
            if not np.allclose(a, numerical, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(f"Jacobian mismatch for output {i} with respect to "
                                     f"input {k},\nnumerical:{Tensor(numerical)}\n"
                                     f"analytical:{Tensor(a)}\n")
    return True


def _numerical_jacobian(outputs_of, i, x, eps):
    """d output_i / d x by central differences, changing x's memory and putting it back."""
    data, columns = x.data, []
    with no_grad():
        for index in np.ndindex(*data.shape):
            keep = data[index].copy()
            data[index] = keep + eps
            plus = np.array(outputs_of()[i].data, dtype=np.float64).ravel()
            data[index] = keep - eps
            minus = np.array(outputs_of()[i].data, dtype=np.float64).ravel()
            data[index] = keep
            columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def once_differentiable(fn):
    """PyTorch marks backward functions that cannot be differentiated again with this;
    in minigrad no backward can be, so it changes nothing."""
    return fn
