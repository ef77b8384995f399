"""Reverse-mode automatic differentiation.

Every differentiable operation is an `Op` with a `forward` and a `backward`, shaped like
`torch.autograd.Function` but computing on arrays. Calling `Fn.apply(a, b)` runs `forward`
on the arrays inside the tensors and, if any input needs a gradient, returns a tensor
whose `grad_fn` is the record of that call (the `ctx`): which inputs it used and what it
saved. Those records form the graph; `backward()` walks it from the output back to the
leaves. `Function` is PyTorch's tensor-level form of the same idea, built on `Op`.
"""
import bisect
import contextlib
import functools
import heapq
import itertools
import threading
import time
import warnings
import weakref

import numpy as np

from .backend import array_module
from .errors import CompileError, ShapeError, broadcast_mismatch, shape_error

# ---------------------------------------------------------------------------- grad mode


class _ThreadState(threading.local):
    """Per thread, as in PyTorch: whether graphs are recorded, and who watches ops."""
    enabled = True          # grad mode
    observers = ()          # callbacks given to observe(), newest last
    notifying = False       # True while observers run: their own ops are not reported
    tracer = None           # set while minigrad.compile traces a function
    inference = False       # inside inference_mode()


_state = _ThreadState()
_sequence = itertools.count(1)


def is_grad_enabled():
    return _state.enabled


class _GradMode:
    """Graph recording on or off inside a `with` block or a decorated function."""

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self.previous = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._for_one_call():
                return fn(*args, **kwargs)
        return wrapper

    def _for_one_call(self):
        """A fresh context for each call of a decorated function (calls may nest)."""
        return _GradMode(self.mode)


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: at once when called (`set_grad_enabled(False)`),
    until the end of the block as a context manager, or inside a decorated function."""

    def __init__(self, mode):
        super().__init__(mode)
        self.previous = _state.enabled
        _state.enabled = self.mode

    def __enter__(self):
        return self                     # already set by __init__

    def __call__(self, fn):
        _state.enabled = self.previous  # as a decorator it changes nothing until called
        return super().__call__(fn)


class _BareDecorator:
    """Lets `@no_grad` be written without parentheses, as PyTorch allows."""

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])
        return super().__new__(cls)


class no_grad(_BareDecorator, _GradMode):
    """Run code without recording a graph: results have requires_grad=False."""

    def __init__(self, fn=None):
        super().__init__(False)


class enable_grad(_BareDecorator, _GradMode):
    """Record a graph again inside a `no_grad()` block."""

    def __init__(self, fn=None):
        super().__init__(True)


class inference_mode(_BareDecorator, _GradMode):
    """`torch.inference_mode()`: no graph is recorded, as in no_grad(). (PyTorch also
    marks the tensors made inside as inference tensors, which autograd then refuses;
    minigrad does not, so they can still be used in a graph later.)"""

    def __init__(self, mode=True):
        super().__init__(not mode)
        self.inference = bool(mode)

    def __enter__(self):
        self.was_inference = _state.inference
        _state.inference = self.inference
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self.was_inference
        super().__exit__(*exc)

    def _for_one_call(self):
        return inference_mode(self.inference)


def is_inference_mode_enabled():
    return _state.inference


# ----------------------------------------------------------------------------------- Op


class Op:
    """One differentiable operation, computed on arrays (NumPy or CuPy).

    Subclasses write two static methods:
      forward(ctx, *inputs, **options) -> array   inputs are arrays or Python numbers
      backward(ctx, grad) -> gradient for each positional input (None where not needed)
    `ctx` is the Op instance itself; after the call it is the result's `grad_fn`.
    """

    op = None               # short lower-case name, used in graphs and error messages
    view = False            # True for ops whose result may share the input's memory
    seq = 0                 # creation order: a node is always newer than its inputs' nodes
    _saved = ()             # arrays kept for backward (None once the graph is freed)
    _versions = ()          # (counter, version, which, array) for each saved tensor
    _hooks = None           # hooks registered on the output tensor
    _retained = None        # weak reference to the output tensor, if it retains grad

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.op is None:
            cls.op = cls.__name__.lower()

    @classmethod
    def apply(cls, *inputs, **options):
        observers = _state.observers
        if observers:
            started = time.perf_counter()
        ctx = cls()
        recording = _state.enabled
        if recording and _rebased:   # a view's base may have a new grad_fn: refresh views
            for x in inputs:
                if isinstance(x, Tensor) and x._view is not None:
                    refresh_view(x)
        arrays, needs = [], []
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x._data)          # the array itself (Tensor.data reads it)
                needs.append(recording and x.requires_grad)
            else:
                arrays.append(x)
                needs.append(False)
        # Known before forward runs, so that forward saves only what backward will use
        # (PyTorch saves `b` for a * b only when `a` needs a gradient, and so on).
        ctx.needs_input_grad = needs = tuple(needs)
        try:
            data = cls.forward(ctx, *arrays, **options)
        except (ValueError, IndexError) as error:
            raise cls.explain(inputs, options, error) from None
        if isinstance(data, np.generic):   # full reductions give NumPy scalars
            scalar, data = data, np.asarray(data)
            if any(saved is scalar for saved in ctx._saved):    # saved its own output
                ctx._saved = tuple(data if saved is scalar else saved for saved in ctx._saved)
        if True in needs:
            ctx.inputs = inputs
            ctx.seq = next(_sequence)
            out = Tensor._make(data, True, ctx)
            if ctx._saved:
                _record_versions(ctx, inputs, arrays, out)
        else:
            out = Tensor._make(data, False, None)
        if cls.view and _is_view_of(data, arrays[0]):
            _become_view(out, cls, inputs, options)
        if observers:
            _notify(observers, OpEvent("forward", cls.op, out.grad_fn, inputs, out,
                                       seconds=time.perf_counter() - started))
        if _state.tracer is not None:
            _state.tracer.record(cls, inputs, options, out, True)
        return out

    @classmethod
    def view_step(cls, inputs, options):
        """(cls, other inputs, options): how a view op is applied again to a view's base."""
        return cls, inputs[1:], options

    @classmethod
    def explain(cls, inputs, options, error):
        """Turn NumPy's error into one that names this op and the shapes involved."""
        shapes = [tuple(x.shape) for x in inputs if hasattr(x, "shape")]
        if isinstance(error, IndexError):     # a dim out of range (NumPy's AxisError too)
            return IndexError(f"{cls.op}: {error} (input shapes {', '.join(map(str, shapes))})")
        if len(shapes) < 2:
            return ShapeError(f"{cls.op}: input of shape {shapes[0] if shapes else ()} "
                              f"is not valid here: {error}")
        return shape_error(cls.op, shapes, broadcast_mismatch(shapes) or str(error))

    # -- what forward() uses to keep values for backward()

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(
                f"{self.op}: trying to backward through the graph a second time, but the "
                "values this operation saved were freed by the first backward(). Pass "
                "backward(retain_graph=True) the first time if you need to backpropagate twice.")
        return self._saved

    # -- introspection, for people and for the graph widgets

    def name(self):
        return f"{type(self).__name__}Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    @property
    def saved_shapes(self):
        """Shapes of the arrays kept for backward; None once backward() freed them."""
        if self._saved is None:
            return None
        return tuple([tuple(getattr(a, "shape", ())) for a in self._saved if a is not None])

    @property
    def next_functions(self):
        """(grad_fn, 0) per input, as PyTorch gives it; leaves appear as AccumulateGrad."""
        out = []
        for x, need in zip(self.inputs, self.needs_input_grad):
            if not need:
                out.append((None, 0))
            else:
                out.append((made_by(x, self) or AccumulateGrad(x), 0))
        return tuple(out)

    def _release(self):
        self._saved = None
        self._versions = ()

    def _check_versions(self):
        """Refuse to run backward on values that were changed in place after forward."""
        for vc, version, which, array in self._versions:
            if vc.value != version:
                which = "output" if which < 0 else f"input {which}"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: {self.name()} saved its {which} (a "
                    f"{array.dtype} tensor of shape {tuple(array.shape)}) at version "
                    f"{version}, and it is now at version {vc.value}. Something "
                    "changed it in place (+=, x[...] = ..., copy_(), zero_(), an "
                    "optimizer step) between the forward pass and backward(); make that "
                    "change out of place (x = x + 1) or move it after backward().")

    def register_hook(self, hook):
        """Run `hook(grad)` on the gradient of this node's output (see Tensor.register_hook)."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _RemovableHandle(self._hooks, hook)


class Pick(Op):
    """Output k of a node that has several outputs (a compiled function, a custom
    Function): forward hands out `value`. Each output is a Pick of the node's placeholder
    output, so backward sends the node one dict, {output number: gradient}, for all the
    outputs that got a gradient (see `add_gradients`)."""
    op = "output"

    @staticmethod
    def forward(ctx, bundle, k, value):
        ctx.k = k
        return value

    @staticmethod
    def backward(ctx, grad):
        return {ctx.k: grad}, None

    def name(self):
        return "OutputBackward"


class AccumulateGrad:
    """Stands for a leaf tensor in `next_functions`, as in PyTorch."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def run_hooks(hooks, grad):
    """Call tensor hooks in order; a hook may return a replacement gradient. Hooks get a
    copy of their own: one that changes it in place (g.mul_(2)) changes only this
    gradient, not the same array that other inputs of an op may be receiving."""
    grad = array_module(grad).array(grad)
    for hook in hooks:
        result = hook(Tensor._make(grad, False, None))
        if result is not None:
            grad = result.data if isinstance(result, Tensor) else np.asarray(result)
    return grad


# ----------------------------------------------------- in-place changes and views
#
# PyTorch's safety net for in-place ops, in a few lines. Every tensor's memory has a
# version counter that every in-place op bumps; views share their base's counter. An op
# that saves a tensor for backward writes down the version it saw, and backward checks it
# (Op._check_versions): if the saved values were changed since, it refuses.


class VersionCounter:
    """How many times a tensor's memory has been changed in place (`tensor._version`)."""
    value = 0      # read from the class until the first change sets it on the counter


def counter(tensor):
    """The tensor's version counter, made on first use (most tensors never need one)."""
    vc = tensor._vc
    if vc is None:
        vc = tensor._vc = VersionCounter()
    return vc


def bump_version(tensor):
    vc = tensor._vc
    if vc is None:
        vc = tensor._vc = VersionCounter()
    vc.value += 1


# How many times an in-place op has given a tensor a new grad_fn. While it is 0 (most
# programs), no view can be out of date and Op.apply skips looking for one.
_rebased = 0


def rebase(tensor, grad_fn):
    """Give `tensor` a new grad_fn after an in-place op (`y += 1` makes y the result of
    an add). Nodes that used y before keep using its old grad_fn: the tensor keeps a
    history of (when the change happened, the grad_fn it had until then)."""
    global _rebased
    _rebased += 1
    old = tensor.grad_fn
    if tensor._rebases is None:
        tensor._rebases = []
    tensor._rebases.append((next(_sequence), old))
    tensor.grad_fn, tensor.requires_grad = grad_fn, True
    if old is not None and old._retained is not None and old._retained() is tensor:
        old._retained = None           # retain_grad() follows the tensor to its new node
        retain(grad_fn, tensor)


def made_by(x, node):
    """The grad_fn that input `x` of `node` had when node used it."""
    history = x._rebases
    if history:      # the first change made after node used x kept what x had then
        k = bisect.bisect_right(history, node.seq, key=lambda change: change[0])
        if k < len(history):
            return history[k][1]
    return x.grad_fn


def _record_versions(ctx, inputs, arrays, out):
    """Write down the version of every input or output tensor whose values ctx saved,
    as (counter, version, which: the input's position or -1 for the output, array)."""
    versions = []
    for saved in ctx._saved:
        if saved is None:
            continue
        which = 0
        for array in arrays:
            if saved is array:
                owner = inputs[which]
                break
            which += 1
        else:
            if saved is out.data:
                owner, which = out, -1
            elif getattr(saved, "base", None) is None:
                continue                          # an array of the op's own
            else:    # a view of an input? (convolution saves sliding windows of x)
                for which, array in enumerate(arrays):
                    owner = inputs[which]
                    if isinstance(owner, Tensor) and _shares_memory(saved, array):
                        break
                else:
                    continue
        if not isinstance(owner, Tensor):         # a Python number
            continue
        vc = owner._vc
        if vc is None:
            vc = owner._vc = VersionCounter()
        versions.append((vc, vc.value, which, saved))
    ctx._versions = versions


def _is_view_of(out, x):
    """Whether the result `out` of a view op shares `x`'s memory (no copy was made)."""
    base = getattr(out, "base", None)
    if base is None:
        return out is x
    return base is x or base is x.base or _shares_memory(out, x)


def _shares_memory(a, b):
    """Whether two arrays may overlap in memory (a check of their bounds, no scan)."""
    if a is b:
        return True
    if not hasattr(a, "base") or not hasattr(b, "base"):
        return False
    return bool(array_module(a).may_share_memory(a, b))


class ViewInfo:
    """What makes a tensor a view: its base (the tensor that owns the memory) and the view
    ops that lead from the base to it, so an in-place op on the view can write into the
    base, and the view's grad_fn can be made again after the base got a new one."""
    __slots__ = ("base", "steps", "base_grad_fn", "made_in_grad_mode", "one_of_many")

    def __init__(self, base, steps, made_in_grad_mode):
        self.base, self.steps = base, steps
        self.base_grad_fn = base.grad_fn      # the base's node the view's node came from
        self.made_in_grad_mode = made_in_grad_mode
        self.one_of_many = False              # one of the rows iterating over a tensor gives


def _become_view(out, cls, inputs, options):
    source = inputs[0]
    info = source._view
    base, steps = (source, ()) if info is None else (info.base, info.steps)
    out._vc = counter(source)       # one memory, one counter
    out._view = ViewInfo(base, steps + (cls.view_step(inputs, options),), _state.enabled)


def follow_views(array, steps, exact=True):
    """Apply a view's steps to `array` (its base's data, or anything of that shape).
    exact=False lets a reshape copy, for arrays laid out unlike the base."""
    from .ops.shape import Reshape
    for cls, extra, options in steps:
        forward = Reshape.forward if not exact and issubclass(cls, Reshape) else cls.forward
        array = forward(cls(), array, *[x.data if isinstance(x, Tensor) else x for x in extra],
                        **options)
    return array


def refresh_view(view):
    """After an in-place op gave its base a new grad_fn (through the base or another view
    of it), a view's grad_fn is made again from the base as it is now, as PyTorch does."""
    info = view._view
    base = info.base
    if base.grad_fn is info.base_grad_fn or not _state.enabled:
        return
    if not info.made_in_grad_mode:
        raise RuntimeError(
            "A view was created in no_grad mode and its base or another view of its base "
            "has been modified inplace with grad mode enabled: which graph the view belongs "
            "to is ambiguous. Make the view and the change both inside no_grad() or both "
            "outside it.")
    info.base_grad_fn = base.grad_fn
    out = base
    for cls, extra, options in info.steps:
        out = cls.apply(out, *extra, **options)
    rebase(view, out.grad_fn)
    alias(view, out)


def moved_output(node, array, tensor):
    """`node`'s output was written into `tensor`'s memory by an in-place op: what node
    saved of its output is read there from now on, and checked against its counter (so
    `y.exp_(); y += 1` fails at backward, as in PyTorch)."""
    if node is None or not any(saved is array for saved in node._saved):
        return
    vc = counter(tensor)
    node._saved = tuple(tensor.data if saved is array else saved for saved in node._saved)
    node._versions = [(vc, vc.value, which, tensor.data) if saved is array
                      else (c, v, which, saved) for c, v, which, saved in node._versions]


def tracing():
    """Whether minigrad.compile is recording a trace in this thread."""
    return _state.tracer is not None


@contextlib.contextmanager
def recording_into(tracer):
    """Within the block, every op this thread runs is also handed to ``tracer.record``
    (minigrad.compile's trace); the tracer in place before comes back after it."""
    previous, _state.tracer = _state.tracer, tracer
    try:
        yield tracer
    finally:
        _state.tracer = previous


def refuse_while_tracing(what, instead):
    """Raise CompileError if minigrad.compile is tracing: `what` cannot be replayed."""
    if _state.tracer is not None:
        raise CompileError(f"minigrad.compile cannot trace {what}: a replay would not do it "
                           f"again. {instead}")


def created(tensor):
    """Tell a running minigrad.compile trace that the traced function made a new tensor."""
    if _state.tracer is not None:
        _state.tracer.created(tensor)


_module_changes = 0


def module_changed():
    """A module's attribute or mode was set (see nn.Module.__setattr__ and train())."""
    global _module_changes
    _module_changes += 1


def module_changes():
    """How many times a module's attribute or mode has been set: a compiled function
    looks at its modules again only when this has moved."""
    return _module_changes


def module_called(module):
    """Tell a running minigrad.compile trace that the traced function called `module`:
    the trace is valid only while the module keeps its mode and parameters."""
    if _state.tracer is not None:
        _state.tracer.saw_module(module)


def alias(tensor, source, copy=False):
    """Tell a running minigrad.compile trace that `tensor` holds the value of `source`
    (or, with copy=True, a copy of it made so that a later write cannot reach it)."""
    if _state.tracer is not None:
        _state.tracer.alias(tensor, source, copy)


def wrote(tensor, value):
    """Tell a running minigrad.compile trace that `value` was written into all of
    `tensor`'s memory. Written inside no_grad(), the tensor stays, for gradients, the
    tensor it was (a parameter updated in place stays that parameter)."""
    if _state.tracer is not None:
        from .ops.shape import CopySlices
        _state.tracer.record(CopySlices, (tensor, value), {"steps": (), "index": None},
                             tensor if _state.enabled else None, True)


# ---------------------------------------------------------------------------- backward

NO_HIGHER_ORDER = (
    "minigrad's backward functions compute with NumPy arrays, not tensors, so no graph of "
    "the gradient is recorded and higher-order gradients are not available; PyTorch's "
    "backward functions are themselves differentiable ops, which is what create_graph needs")


def backward(output, gradient=None, retain_graph=False, inputs=None):
    """Fill `.grad` of every leaf that `output` depends on (see Tensor.backward), or only
    of the tensors in `inputs`."""
    if _state.tracer is not None and _state.tracer.is_traced(output):
        raise RuntimeError(
            "backward() inside a function being compiled: minigrad.compile records the "
            "forward computation only. Return the loss from the compiled function and call "
            "loss.backward() (and optimizer.step()) outside it.")
    if not output.requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad, so there is no graph to walk. "
            "Create the inputs with requires_grad=True, and do not compute the output "
            "inside no_grad().")
    if output._view is not None:
        refresh_view(output)
    grad = seed_gradient(output, gradient)

    if output.grad_fn is None:
        if inputs is None or any(x is output for x in inputs):
            output._accumulate(grad)
        return
    if inputs is None:
        run_backward([output], [grad], retain_graph)
        return
    for x, g in zip(inputs, run_backward([output], [grad], retain_graph, inputs)):
        if g is not None:
            x._accumulate(g)


def seed_gradient(output, gradient, call="backward(gradient=...)", label="gradient"):
    """The gradient backward starts from at `output`: `gradient` as an array of the
    output's dtype, or ones when it is None (allowed for one element only). `call` and
    `label` name the argument in the errors (autograd.grad's is grad_outputs)."""
    data = output.data
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(
                f"backward(): the output has shape {output.shape}, and a gradient can be "
                "created implicitly only for a scalar output (one element). Reduce it "
                f"first, e.g. out.sum().backward(), or pass {call} with a tensor of shape "
                f"{output.shape}.")
        if type(data) is np.ndarray:     # ones_like for one element, in a third of the time
            return np.array(1, data.dtype).reshape(data.shape)
        return array_module(data).ones_like(data)
    grad = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
    if grad.shape != data.shape:
        raise ShapeError(f"backward(): {label} has shape {tuple(grad.shape)} but the output "
                         f"has shape {output.shape}; they must be equal")
    return grad.astype(data.dtype, copy=False)


def add_gradients(total, grad):
    """Two gradients for the same node, added up. A node with several outputs gets a
    dict by output number from each `Pick`; those add up output by output."""
    if type(total) is not dict:
        return total + grad
    total = dict(total)
    for k, g in grad.items():
        total[k] = total[k] + g if k in total else g
    return total


def run_backward(outputs, grads, retain_graph, inputs=None):
    """Send `grads` (arrays) back from `outputs` (tensors with a grad_fn).

    Without `inputs`, every leaf reached gets its gradient added to `.grad` (backward()).
    With `inputs`, only the nodes on a path to one of them run, no `.grad` is touched,
    and the gradient of each input (an array, or None if unreached) is returned
    (autograd.grad(), backward(inputs=...))."""
    targets = capture = needed = None
    if inputs is not None:
        targets = {}            # leaf input -> its position in `inputs`
        capture = {}            # grad_fn of a non-leaf input -> its positions
        for k, x in enumerate(inputs):
            if x.grad_fn is None:
                targets.setdefault(x, []).append(k)
            else:
                capture.setdefault(x.grad_fn, []).append(k)
        needed = _needed([t.grad_fn for t in outputs], targets, capture)
        found = [None] * len(inputs)

    # Walk newest node first. A node's consumers are all newer than it, so by the time
    # it comes off the heap, every gradient flowing into it has been added up.
    pending, heap = {}, []
    for output, grad in zip(outputs, grads):
        root = output.grad_fn
        if root in pending:
            pending[root] = add_gradients(pending[root], grad)
        else:
            pending[root] = grad
            heapq.heappush(heap, (-root.seq, root))
    leaves = {}          # leaf tensor -> [gradient so far, whether we own that array]
    observers = _state.observers
    while heap:
        node = heapq.heappop(heap)[1]
        grad = pending.pop(node)
        for vc, version, _, _ in node._versions:    # changed in place since forward?
            if vc.value != version:
                node._check_versions()                # raises, saying what changed
        if node._hooks:
            grad = run_hooks(node._hooks, grad)
        if inputs is not None:
            for k in capture.get(node, ()):
                found[k] = grad
            if node not in needed:
                continue
        if node._retained is not None:
            tensor = node._retained()
            if tensor is not None:
                tensor._accumulate(grad)
        if observers:
            started = time.perf_counter()
        grads = node.backward(node, grad)
        if type(grads) is not tuple:
            grads = (grads,)
        if observers:
            _notify(observers, OpEvent("backward", node.op, node, node.inputs, grad_output=grad,
                                       grad_inputs=grads, seconds=time.perf_counter() - started))
        if not retain_graph:
            node._release()
        for x, need, g in zip(node.inputs, node.needs_input_grad, grads):
            if not need or g is None:
                continue
            parent = x.grad_fn if x._rebases is None else made_by(x, node)
            if parent is None:
                if targets is not None and x not in targets:
                    continue
                if x in leaves:
                    leaves[x] = [leaves[x][0] + g, True]
                else:
                    # A fresh array may become the leaf's .grad as it is; one passed
                    # through unchanged (add gives the same array to both inputs) or a
                    # view of another array must be copied first.
                    leaves[x] = [g, g is not grad and g.base is None]
            elif needed is not None and parent not in needed and parent not in capture:
                continue
            elif parent in pending:
                pending[parent] = add_gradients(pending[parent], g)
            else:
                pending[parent] = g
                heapq.heappush(heap, (-parent.seq, parent))
    if inputs is not None:      # the callers run the leaves' hooks
        for leaf, (g, owned) in leaves.items():
            for k in targets[leaf]:
                found[k] = g
        return found
    # Leaves last, each once with its total gradient, so a leaf's hooks see the sum.
    for leaf, (g, owned) in leaves.items():
        leaf._accumulate(g, owned)


def _needed(roots, leaf_targets, node_targets):
    """The nodes from which a path of inputs that need a gradient reaches a target (a
    leaf in `leaf_targets` or a node in `node_targets`): the ones autograd.grad runs."""
    needed, seen = set(), set()
    stack = [(root, False) for root in roots]
    while stack:                  # depth first; a node is decided after all its parents
        node, parents_done = stack.pop()
        if parents_done:
            for x, need in zip(node.inputs, node.needs_input_grad):
                if need:
                    parent = made_by(x, node)
                    if (x in leaf_targets if parent is None
                            else parent in needed or parent in node_targets):
                        needed.add(node)
                        break
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for x, need in zip(node.inputs, node.needs_input_grad):
            if need:
                parent = made_by(x, node)
                if parent is not None and parent not in seen:
                    stack.append((parent, False))
    return needed


# ------------------------------------------------------------------ observing ops


class OpEvent:
    """One operation as it runs, for tools that watch the engine (graph views, steppers,
    profilers). `phase` is "forward" or "backward"; `node` is the grad_fn (None when no
    graph was recorded); forward events carry the `output` tensor, backward events the
    gradient arriving at the node (`grad_output`) and those it sends to its `inputs`
    (`grad_inputs`, arrays or None); `seconds` is the time the op's own code took."""

    __slots__ = ("phase", "op", "node", "inputs", "output", "grad_output", "grad_inputs",
                 "seconds")

    def __init__(self, phase, op, node, inputs, output=None, grad_output=None,
                 grad_inputs=None, seconds=0.0):
        self.phase, self.op, self.node, self.inputs = phase, op, node, inputs
        self.output, self.grad_output, self.grad_inputs = output, grad_output, grad_inputs
        self.seconds = seconds

    def __repr__(self):
        return f"OpEvent({self.phase} {self.op}, {self.seconds * 1e6:.1f} us)"


@contextlib.contextmanager
def observe(callback):
    """Call `callback(event)` with an OpEvent for every operation this thread runs
    inside the block, forward and backward. Ops the callback runs itself are not
    reported, and a callback that raises is reported as a warning, so watching never
    breaks the computation. Costs nothing when no one observes.

    `seconds` covers the op's own forward or backward code; the backward engine's
    bookkeeping (adding up gradients, filling .grad, hooks) falls between events."""
    _state.observers = _state.observers + (callback,)
    try:
        yield callback
    finally:
        _state.observers = tuple(c for c in _state.observers if c is not callback)


def _notify(observers, event):
    if _state.notifying:
        return
    _state.notifying = True
    try:
        for callback in observers:
            try:
                callback(event)
            except Exception as error:
                warnings.warn(f"an observer of minigrad ops raised {error!r} on {event!r}; "
                              "the computation goes on", RuntimeWarning, stacklevel=3)
    finally:
        _state.notifying = False


def untracked(fn, inputs, out, **options):
    """Report to a running minigrad.compile trace a result made without Op.apply
    (comparisons, argmax, detach): `out` is `fn(*arrays of inputs, **options)`."""
    if _state.tracer is not None:
        _state.tracer.record(fn, inputs, options, out, False)
    return out


def escaped(tensor, how):
    """Warn when a traced tensor's value leaves the trace (bool(), item(), a copy...)."""
    if _state.tracer is not None:
        _state.tracer.escaped(tensor, how)


def retain(node, tensor):
    node._retained = weakref.ref(tensor)


from .tensor import Tensor  # noqa: E402  (tensor.py builds on this module)

# isort: split
# PyTorch's torch.autograd offers these too. Inside this module's functions `grad` is a
# gradient, a local name that has nothing to do with this one (pyproject.toml tells Ruff).
from .function import Function, FunctionCtx, GradcheckError, grad, gradcheck, once_differentiable  # noqa: E402,F401
