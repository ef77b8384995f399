"""`minigrad.compile(fn)`: turn an eager function into a static graph, as `tf.function` does.

The first call *traces* `fn`: it runs the Python code once, eagerly (and returns that
eager result), while every operation it performs is written down in a `Trace` (which
op, on which values, with which options). Later calls with inputs of the same kind
(shapes, dtypes, memory layouts, devices, requires_grad, and the same Python values of
the same types) skip the Python code and *replay* the trace: the recorded ops run one
after another on the new arrays, with no Tensor or graph node made per op. The whole
replay is one node (`compiled`) in the autograd graph, whose backward runs the
recorded ops' backwards in reverse order.

That is where the speed comes from, and also where the traps come from, the same ones
`tf.function` has:

- Python code runs only while tracing: a `print` inside `fn` prints once per trace,
  and `if x.sum() > 0:` takes one branch at trace time and keeps it (minigrad warns
  with a `TracerWarning` when a traced value is turned into a Python bool or number).
- Inputs of a new shape or dtype, or a new Python value (`fn(x, 3)` then `fn(x, 4)`),
  make a new trace; `fn.traces` lists them and says why each was made.
- Tensors that `fn` uses without receiving them as arguments (a model's parameters)
  are *captured*: the replay reads their current values, so an optimizer that updates
  them between calls is seen. Tensors `fn` creates (`minigrad.ones(3)`, random noise)
  are frozen at trace time, except dropout, whose mask is drawn anew on every replay.
- A trace is checked before each replay: if a module `fn` called was switched between
  train() and eval(), or had a parameter, buffer or submodule replaced, or a captured
  tensor changed shape or dtype, a new trace is made (`trace.reason` says which).

What a trace cannot replay faithfully, it refuses rather than replay a wrong value:
in-place ops and writes (`y += 1`, `y[i] = v`) are recorded and replayed into the same
memory, tensors used as indices are inputs of the trace, but `x[mask]`, whose shape
depends on the mask's values, raises `CompileError` while tracing.

Because the whole computation is known before it runs, a trace can be optimized in
ways eager mode cannot: ops whose results never reach the outputs are removed
(dead-code elimination; `trace.eliminated` lists them).
"""
from __future__ import annotations

import functools
import time
import warnings

import numpy as np

from . import autograd, export
from .autograd import Op, Pick
from .errors import CompileError
from .ops.shape import CopySlices, GetItem
from .tensor import Tensor

__all__ = ["compile", "CompiledFunction", "CompileError", "Trace", "TracerWarning"]


class TracerWarning(UserWarning):
    """A traced value left the graph as a Python value: the trace may not be general."""




def compile(fn):
    """Trace `fn` on its first call and replay the static graph on later calls.

    Works as a decorator too. `fn` takes tensors (NumPy arrays are turned into tensors),
    Python values and nested tuples, lists and dicts of them, and returns a tensor or
    a tuple of tensors. See the module's documentation for the rules.
    """
    if isinstance(fn, CompiledFunction):
        return fn
    if not callable(fn):
        raise TypeError(f"minigrad.compile() takes a function or a Module, "
                        f"not {type(fn).__name__}")
    return CompiledFunction(fn)


class CompiledFunction:
    """A function and the traces made of it, one per kind of input seen so far."""

    def __init__(self, fn):
        self.fn = fn
        self.traces = []          # every trace made, oldest first
        self._cache = {}          # signature -> its traces, newest first
        functools.update_wrapper(self, fn, updated=())

    def __repr__(self):
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return f"<compiled {name}: {len(self.traces)} trace(s)>"

    def __call__(self, *args, **kwargs):
        if autograd.tracing():      # called by a function being traced: part of its trace
            return self.fn(*args, **kwargs)
        tensors, signature = _flatten((args, kwargs))
        reason = None
        for trace in self._cache.get(signature, ()):     # newest first
            failure = trace.guard_failure()
            if failure is None:
                return trace.replay(tensors)
            reason = reason or failure
        # The tracing call has run the function itself, on these inputs: its result
        # is that eager result (replaying as well would repeat any in-place change)
        return self._trace(args, kwargs, tensors, signature, reason)

    def _trace(self, args, kwargs, tensors, signature, reason=None):
        """Run the function while recording a new trace; return its (eager) result."""
        reason = reason or _why_new(signature, [t.signature for t in self.traces])
        tracer = _Tracer(tensors)
        started = time.perf_counter()
        with autograd.recording_into(tracer):
            args, kwargs = _rebuild((args, kwargs), iter(tensors))
            result = self.fn(*args, **kwargs)
            outputs, rebuild_result = _outputs(result)
            for t in outputs:
                # an output that is a view of something changed in place afterwards
                # gets its grad_fn made again now, while the tracer records it
                if t._view is not None:
                    autograd.refresh_view(t)
        trace = Trace(self, signature, reason, tracer, outputs, rebuild_result,
                      time.perf_counter() - started)
        self._cache.setdefault(signature, []).insert(0, trace)
        self.traces.append(trace)
        return result


class _Step:
    """One recorded operation: an Op (differentiable) or a plain array function."""
    __slots__ = ("fn", "is_function", "inputs", "options", "needs", "op", "shape", "dtype",
                 "copy_args", "shares_input", "invalid", "node")

    def __init__(self, fn, is_function, inputs, options, needs, out, copy_args, shares_input):
        self.fn, self.is_function, self.inputs, self.options = fn, is_function, inputs, options
        self.needs = needs                 # per input: whether a gradient flows to it
        self.op = fn.op if is_function else getattr(fn, "__name__", "op")
        self.shape, self.dtype = tuple(out.data.shape), out.data.dtype
        self.copy_args = copy_args         # inputs to copy before the op reads them
        self.shares_input = shares_input   # the result is input 0's memory (a view, a write)
        self.invalid = None                # why backward must refuse, if it must
        # the eager node of this very op, while tracing (not the node of an op whose
        # result a write stored)
        self.node = out.grad_fn if type(out.grad_fn) is fn else None


class _Tracer:
    """Receives every op run while `fn` is being traced (see autograd.Op.apply).

    A value is ("in", k) an input, ("cap", k) a captured tensor (read by reference on
    every call: a model's parameters), ("new", k) a tensor the function made itself
    (kept as it was when made), ("op", j) the result of step j, or ("py", v) a Python
    value or array used as it is. An in-place op changes which value a tensor holds:
    `refs` maps each tensor to the value it holds now."""

    def __init__(self, inputs):
        self.refs = {id(t): ("in", k) for k, t in enumerate(inputs)}
        self.inputs = list(inputs)
        self.captured = []
        self.made = []                     # what each tensor made by fn held when made
        self.steps = []
        self.grad_flows = {("in", k): t.requires_grad for k, t in enumerate(inputs)}
        self.copies = set()                # ids of tensors that are copies of a value
        self.modules = {}                  # id -> (module, its state when called)
        self.keep = list(inputs)           # holds every traced tensor, so ids stay unique

    def ref(self, x):
        if not isinstance(x, Tensor):
            return ("py", x)
        r = self.refs.get(id(x))
        if r is None:
            r = self.refs[id(x)] = ("cap", len(self.captured))
            self.captured.append(x)
            self.keep.append(x)
            self.grad_flows[r] = x.requires_grad
        return r

    def created(self, tensor):
        r = self.refs[id(tensor)] = ("new", len(self.made))
        self.made.append(tensor.data.copy())
        self.keep.append(tensor)
        self.grad_flows[r] = tensor.requires_grad

    def alias(self, tensor, source, copy):
        self.refs[id(tensor)] = self.ref(source)
        self.keep.append(tensor)
        if copy:
            self.copies.add(id(tensor))
        else:
            self.copies.discard(id(tensor))

    def saw_module(self, module):
        if id(module) not in self.modules:
            self.modules[id(module)] = (module, _module_state(module))

    def record(self, fn, inputs, options, out, is_function):
        refs = tuple(self.ref(x) for x in inputs)
        if fn is GetItem or fn is CopySlices:
            self._check_index(fn, inputs, refs, options)
        needs = tuple(is_function and r[0] != "py" and self.grad_flows.get(r, False)
                      for r in refs)
        copy_args = tuple(k for k, x in enumerate(inputs)
                          if isinstance(x, Tensor) and id(x) in self.copies)
        # the result lives in input 0's memory: a write, a view, or detach()
        shares = fn is CopySlices or (
            out is not None and isinstance(inputs[0], Tensor) and out._vc is not None
            and out._vc is inputs[0]._vc and (out._view is not None or not is_function))
        if fn is CopySlices and out is not None and out.requires_grad \
                and self.root(refs[0])[0] in ("in", "cap"):
            raise CompileError(
                "minigrad.compile cannot trace an in-place change, recorded in the graph, "
                "of a tensor the function was given or uses from outside: eagerly it "
                "gives the caller's tensor a new grad_fn, which a replay cannot do. Change "
                "a copy (y = x.clone(); y += ...) and return it, or make the change inside "
                "no_grad() if no gradient should flow through it.")
        self.steps.append(_Step(fn, is_function, refs, options, needs,
                                inputs[0] if out is None else out,
                                copy_args, shares))
        if out is None:       # a write that leaves the tensor's value, for gradients, as it was
            return
        r = self.refs[id(out)] = ("op", len(self.steps) - 1)
        self.copies.discard(id(out))
        self.grad_flows[r] = out.requires_grad
        self.keep.append(out)

    def _check_index(self, fn, inputs, refs, options):
        """Refuse what a replay would get wrong: a shape that depends on data."""
        first_index = 1 if fn is GetItem else 2
        for x, r in zip(inputs[first_index:], refs[first_index:]):
            if fn is GetItem and x.data.dtype == np.bool_ and r[0] != "new":
                raise CompileError(
                    f"minigrad.compile cannot trace x[mask] with a boolean mask tensor: the "
                    f"result's shape depends on the mask's values (now it has "
                    f"{int(x.data.sum())} elements), and a trace has fixed shapes, so the "
                    "next call could select a different number. torch.compile stops its "
                    "graph at the same place (a graph break: 'Dynamic shape operator ... "
                    "output shape depends on input Tensor data'), and minigrad.compile "
                    "cannot split a function in two. Keep the shape fixed, e.g. "
                    "minigrad.where(mask, x, 0), or index with the mask outside the "
                    "compiled function. (Writing through a mask, x[mask] = 0, is fine.)")

    def root(self, ref):
        """The value whose memory `ref` lives in (through views, detach and writes)."""
        return _root(self.steps, ref)

    def is_traced(self, tensor):
        r = self.refs.get(id(tensor))
        return r is not None and r[0] in ("in", "op")

    def escaped(self, tensor, how):
        # frozen unless it is a constant the function made itself
        if self.refs.get(id(tensor), ("cap",))[0] not in ("new", "py"):
            warnings.warn(
                f"minigrad.compile: {how} takes a traced tensor's value out of the trace; "
                "the trace keeps what it was now (a branch taken, a number computed, a "
                "copy made) and replays it for every later input", TracerWarning,
                stacklevel=4)


_SETTINGS = (bool, int, float, str, tuple, type(None))


def _module_state(module):
    """What a trace assumed about a module it called: its mode, its settings (plain
    attributes such as Dropout's p or Conv2d's stride), and which parameters, buffers and
    submodules it had (by identity)."""
    settings = tuple((k, v) for k, v in vars(module).items()
                     if isinstance(v, _SETTINGS) and not k.startswith("_") and k != "training")
    return (module.training, settings, tuple(module._parameters.items()),
            tuple(getattr(module, "_buffers", {}).items()), tuple(module._modules.items()))


def _module_change(module, state):
    """A sentence saying how `module` differs from `state`, or None if it does not."""
    training, settings, *tables = state
    name = type(module).__name__
    if module.training != training:
        return f"{name} was switched to {'train' if module.training else 'eval'}() mode"
    for key, value in settings:
        now = getattr(module, key, _MISSING)
        if now is not value and now != value:
            return f"{name}.{key} changed: {value!r} -> {now!r}"
    now = (module._parameters, getattr(module, "_buffers", {}), module._modules)
    for kind, before, current in zip(("parameter", "buffer", "submodule"), tables, now):
        if len(before) != len(current):
            return f"a {kind} of {name} was added or removed"
        for key, value in before:
            if current.get(key, _MISSING) is not value:
                return f"{kind} {key!r} of {name} was replaced by another object"
    return None


_MISSING = object()


def _alias_of(steps, ref):
    """(argument ref, the view and detach steps from it to `ref`) if `ref` is an argument
    or a view of one, else None."""
    chain = []
    while ref[0] == "op" and steps[ref[1]].shares_input:
        step = steps[ref[1]]
        if step.fn is not CopySlices:
            if len(step.inputs) > 1:         # a view that needs more than its base
                return None
            chain.append(step)
        ref = step.inputs[0]
    return (ref, chain[::-1]) if ref[0] in ("in", "cap") else None


def _view_again(tensor, chain):
    """Apply the view (or detach) steps of `chain` to `tensor`, eagerly."""
    for step in chain:
        tensor = step.fn.apply(tensor, **step.options) if step.is_function else tensor.detach()
    return tensor


def _root(steps, ref):
    """The value whose memory `ref` lives in (through views, detach and writes)."""
    while ref[0] == "op" and steps[ref[1]].shares_input:
        ref = steps[ref[1]].inputs[0]
    return ref


class Trace:
    """One static graph of a compiled function, for one kind of input.

    signature: what the inputs were (shapes, dtypes, devices, Python values).
    reason: why this trace was made. ops: the op names replayed, in order.
    eliminated: ops recorded while tracing but removed because no output needs them.
    seconds: how long tracing took.
    """

    def __init__(self, owner, signature, reason, tracer, outputs, rebuild_result, seconds):
        self.signature, self.reason, self.seconds = signature, reason, seconds
        self.number = len(owner.traces) + 1
        self.n_inputs = len(tracer.inputs)
        self.captured = tracer.captured
        self._captured_kinds = [_kind(t) for t in self.captured]
        self._modules = list(tracer.modules.values())
        self._modules_seen_at = autograd.module_changes()
        self._rebuild_result = rebuild_result
        self._input_kinds = [_kind(t) for t in tracer.inputs]
        self.outputs = [tracer.ref(t) for t in outputs]
        self.grad_flows = tracer.grad_flows
        # an output requires grad where it did in the eager run that was traced
        self._flows = [bool(self.grad_flows.get(r)) for r in self.outputs]
        saved = set()         # the values steps saved for backward
        for j, step in enumerate(tracer.steps):
            if step.node is None:
                continue
            # Values a step saved for backward and the function then changed in place:
            # eager backward would refuse them, and so does every replay's.
            try:
                step.node._check_versions()
            except RuntimeError as error:
                step.invalid = str(error)
            saved.update(step.inputs[which] if which >= 0 else ("op", j)
                         for *_, which, _ in step.node._versions)
            step.node = None
        steps = tracer.steps
        # Arguments (inputs, captured tensors) whose memory a step saved, or wrote into:
        # a replay saves the first too and bumps the version of the second, so that an
        # in-place change before backward() is caught as in eager mode.
        saved_arguments = {r for r in (_root(steps, ref) for ref in saved)
                           if r[0] in ("in", "cap")}
        written = {_root(steps, s.inputs[0]) for s in steps if s.fn is CopySlices}
        self._saved_outputs = {k for k, r in enumerate(self.outputs) if r in saved}
        # Outputs that are an argument, or a view of one: handed out as that argument,
        # or a view made of it, so they alias it as the eager result did.
        self._aliases = [_alias_of(steps, r) for r in self.outputs]
        self.steps, self.eliminated = _eliminate_dead_code(steps, self.outputs)
        self.ops = [s.op for s in self.steps if s is not None]
        self._compile_program(tracer.made, saved_arguments,
                              {r for r in written if r[0] in ("in", "cap")})

    def _compile_program(self, made, saved_arguments, written_arguments):
        """Lay every value out in one flat list of slots, so a replay indexes a list:
        the inputs, the captured tensors, each kept step's result, the constants."""
        first_result = self.n_inputs + len(self.captured)
        result_slot = {j: first_result + k
                       for k, j in enumerate(j for j, s in enumerate(self.steps) if s)}
        constants, constant_slot = [], {}

        def slot(ref):
            kind, k = ref
            if kind == "in":
                return k
            if kind == "cap":
                return self.n_inputs + k
            if kind == "op":
                return result_slot[k]
            if kind == "new" and ref in constant_slot:
                return constant_slot[ref]
            constants.append(made[k] if kind == "new" else k)
            constant_slot[ref] = first_result + len(result_slot) + len(constants) - 1
            return constant_slot[ref]

        self._program = []
        for j, step in enumerate(self.steps):
            if step is not None:
                args = tuple(slot(r) for r in step.inputs)
                self._program.append((step, args, result_slot[j]))
        self._output_slots = [slot(r) for r in self.outputs]
        self._saved_arguments = sorted(slot(r) for r in saved_arguments)
        self._written_arguments = sorted(slot(r) for r in written_arguments)
        self._aliases = [None if a is None else (slot(a[0]), a[1]) for a in self._aliases]
        self._one_plain_output = (len(self.outputs) == 1 and self._aliases[0] is None
                                  and not self._written_arguments)
        self._blank = [None] * len(result_slot) + constants
        self._first_blank, self._constant_slots = first_result, constant_slot
        # A tensor the function made is made anew by each eager call; a replay copies
        # the ones that are written into or handed out, so no call sees another's.
        fresh = {self._root(r) for r in self.outputs}
        fresh.update(self._root(s.inputs[0]) for s in self.steps if s and s.fn is CopySlices)
        self._fresh = sorted(constant_slot[r] for r in fresh if r[0] == "new")

    def _root(self, ref):
        return _root(self.steps, ref)

    def __repr__(self):
        return (f"<trace {self.number}: {len(self.ops)} ops, "
                f"{len(self.eliminated)} eliminated; made because {self.reason}>")

    def guard_failure(self):
        """Why this trace no longer fits the world it was made in, or None if it does:
        a captured tensor changed kind, or a module it called changed mode or had a
        parameter, buffer or submodule replaced."""
        for k, (t, kind) in enumerate(zip(self.captured, self._captured_kinds)):
            if _kind(t) != kind:
                return (f"captured tensor {k} changed: {_describe(('tensor',) + kind)} -> "
                        f"{_describe(('tensor',) + _kind(t))}")
        if self._modules_seen_at != autograd.module_changes():   # else none changed
            for module, state in self._modules:
                change = _module_change(module, state)
                if change:
                    return change
            self._modules_seen_at = autograd.module_changes()
        return None

    def replay(self, inputs):
        arguments = list(inputs) + self.captured
        flows = self._flows
        if self._one_plain_output and autograd.is_grad_enabled() == flows[0]:
            # the common case, kept short: one output, no writes into the arguments
            return self._rebuild_result([_Replay.apply(*arguments, trace=self, pick=0,
                                                       written=())])
        options = {"trace": self, "written": [arguments[i] for i in self._written_arguments]}
        with autograd.set_grad_enabled(any(flows)):
            if len(self.outputs) == 1 and self._aliases[0] is None:
                outputs = [_Replay.apply(*arguments, pick=0, **options)]
            elif not self.outputs and not self._program:
                outputs = []
            else:
                box = []
                bundle = _Replay.apply(*arguments, pick=box, **options)
                outputs = []
                for k, (value, flow) in enumerate(zip(box, flows)):
                    with autograd.set_grad_enabled(flow):
                        outputs.append(None if self._aliases[k] else
                                       Pick.apply(bundle, k, value=value))
                    if k in self._saved_outputs and bundle.grad_fn is not None:
                        # a step saved this output: the replay node checks that it is
                        # unchanged at backward, whichever output backward comes through
                        vc, node = autograd.counter(outputs[k]), bundle.grad_fn
                        node._versions = [*node._versions, (vc, vc.value, -1, value)]
        for k, alias in enumerate(self._aliases):
            if alias is not None:
                with autograd.set_grad_enabled(flows[k]):
                    outputs[k] = _view_again(arguments[alias[0]], alias[1])
        return self._rebuild_result(outputs)

    def graph(self):
        """The static graph as plain data, in the schema of `minigrad.export` (no values);
        `widgets.GraphView(trace)` draws it."""
        nodes, edges, ids = [], [], {}

        def add_tensor(ref, shape, dtype, role, label=""):
            if ref not in ids:
                ids[ref] = f"t{len(ids)}"
                flows = bool(self.grad_flows.get(ref, False))
                nodes.append(export.tensor_node(
                    ids[ref], label=label, shape=shape, dtype=np.dtype(dtype).name, role=role,
                    requires_grad=flows, is_leaf=ref[0] != "op"))
            return ids[ref]

        def value(ref):
            kind, k = ref
            if kind == "in":
                return add_tensor(ref, self._input_kinds[k][0], self._input_kinds[k][1],
                                   "input", f"input {k}")
            if kind == "cap":
                t = self.captured[k]
                return add_tensor(ref, t.shape, t.data.dtype,
                                   "parameter" if t.requires_grad else "input", "captured")
            if kind == "new":
                constant = self._blank[self._constant_slots[ref] - self._first_blank]
                return add_tensor(ref, constant.shape, constant.dtype, "input", "constant")
            step = self.steps[k]
            role = "output" if ref in self.outputs else "intermediate"
            return add_tensor(ref, step.shape, step.dtype, role)

        for j, step in enumerate(self.steps):
            if step is None:
                continue
            oid = f"op{j}"
            nodes.append(export.op_node(oid, op=step.op, label=step.op, seq=j + 1,
                                        saved_shapes=[], freed=False))
            for r in step.inputs:
                if r[0] != "py":
                    edges.append(export.edge(value(r), oid))
            edges.append(export.edge(oid, value(("op", j))))
        for r in self.outputs:
            value(r)
        return {"nodes": nodes, "edges": edges, "framework": "minigrad"}


def _eliminate_dead_code(steps, outputs):
    """Keep only the steps some output depends on, and every write into memory with the
    steps it depends on (a write may be seen through a view, or by the caller); the
    others become None."""
    live = {k for kind, k in outputs if kind == "op"}
    live.update(j for j, s in enumerate(steps) if s.fn is CopySlices)
    for j in range(len(steps) - 1, -1, -1):
        if j in live:
            live.update(k for kind, k in steps[j].inputs if kind == "op")
    kept = [s if j in live else None for j, s in enumerate(steps)]
    return kept, [s.op for j, s in enumerate(steps) if j not in live]


class _Replay(Op):
    """A whole trace as one node: forward replays the steps, backward reverses them."""
    op = "compiled"

    @staticmethod
    def forward(ctx, *arrays, trace, pick, written):
        # pick: which output to return, or a list to put all the outputs in;
        # written: the argument tensors whose memory the trace writes into
        values = [*arrays, *trace._blank]
        for i in trace._fresh:
            values[i] = values[i].copy()
        contexts = []
        try:
            for step, args, out_slot in trace._program:
                inputs = [values[i] for i in args]
                if step.copy_args:
                    for k in step.copy_args:    # the old value of an in-place op
                        inputs[k] = inputs[k].copy()
                if step.is_function:
                    c = step.fn()
                    c.needs_input_grad = step.needs
                    out = step.fn.forward(c, *inputs, **step.options)
                else:
                    c, out = None, step.fn(*inputs, **step.options)
                if isinstance(out, np.generic):    # full reductions give NumPy scalars
                    out = np.asarray(out)
                values[out_slot] = out
                contexts.append(c)
        except (ValueError, IndexError) as error:
            raise type(error)(f"{step.op} (step {len(contexts) + 1} of trace {trace.number} "
                              f"of a compiled function): {error}") from None
        for t in written:
            autograd.bump_version(t)
        ctx.trace, ctx.contexts, ctx.pick, ctx.n_values = trace, contexts, pick, len(values)
        # What steps saved for backward of the arguments (inputs, captured tensors) and
        # of the output: saved here too, so that an in-place change of one before
        # backward is refused as in eager mode.
        saved = tuple(map(arrays.__getitem__, trace._saved_arguments))
        if type(pick) is int:
            result = values[trace._output_slots[pick]]
            ctx.save_for_backward(*saved, *([result] if 0 in trace._saved_outputs else []))
            return result
        ctx.save_for_backward(*saved)
        pick.extend(values[i] for i in trace._output_slots)  # Pick hands out each one
        return np.zeros(())

    @staticmethod
    def backward(ctx, grad):
        if ctx._saved is None:
            ctx.saved_tensors      # refuses a second backward once the graph is freed
        trace = ctx.trace
        grads = [None] * ctx.n_values

        def add(i, g):
            grads[i] = g if grads[i] is None else grads[i] + g

        if type(ctx.pick) is int:
            add(trace._output_slots[ctx.pick], grad)
        else:
            for k, g in grad.items():
                add(trace._output_slots[k], g)
        for (step, args, out_slot), c in zip(reversed(trace._program), reversed(ctx.contexts)):
            g = grads[out_slot]
            if g is None or c is None or True not in step.needs:
                continue
            if step.invalid:
                raise RuntimeError(step.invalid)
            inputs_grads = step.fn.backward(c, g)
            if type(inputs_grads) is not tuple:
                inputs_grads = (inputs_grads,)
            for i, need, gi in zip(args, step.needs, inputs_grads):
                if need and gi is not None:
                    add(i, gi)
        # one array per argument: two arguments may have got the same one (a + b)
        out, seen = grads[:trace.n_inputs + len(trace.captured)], set()
        for k, g in enumerate(out):
            if g is not None:
                if id(g) in seen:
                    out[k] = g.copy()
                seen.add(id(g))
        return tuple(out)

    def _release(self):
        if not self._saved and not any(c._saved for c in self.contexts if c is not None):
            return                 # nothing was saved: like such eager nodes, reusable
        super()._release()
        self.contexts = None       # every step's saved values

    @classmethod
    def explain(cls, inputs, options, error):
        return error               # already names the step that failed

    def name(self):
        return "CompiledBackward"


# --------------------------------------------------------------------- signatures


def _kind(t):
    data = t.data
    return (data.shape, data.dtype, data.strides, type(data), t.requires_grad,
            t.grad_fn is None)


def _flatten(tree):
    """The tensors in nested args (NumPy arrays become tensors), and a hashable signature:
    each tensor's shape, dtype, device and requires_grad; each other value itself."""
    tensors = []

    def walk(x):
        if isinstance(x, Tensor):
            tensors.append(x)
            return ("tensor",) + _kind(x)
        if isinstance(x, np.ndarray):
            t = Tensor(x)
            tensors.append(t)
            return ("tensor",) + _kind(t)
        if isinstance(x, (tuple, list)):
            return (type(x).__name__,) + tuple(walk(v) for v in x)
        if isinstance(x, dict):      # in the order _rebuild hands the tensors out
            return ("dict",) + tuple((k, walk(v)) for k, v in x.items())
        if isinstance(x, float):     # by bits: 0.0 and -0.0 differ, nan equals itself
            return ("value", float, x.hex())
        try:
            hash(x)
        except TypeError:
            return ("object", id(x))
        return ("value", type(x), x)     # by type too: 1, 1.0 and True are equal in Python

    args, kwargs = tree
    signature = tuple(walk(a) for a in args) + (("kwargs",) + tuple(
        (k, walk(v)) for k, v in kwargs.items()),) + (autograd.is_grad_enabled(),)
    # which tensors are the same tensor, or share memory, as an earlier one: a trace
    # made with f(x, x) must not replay f(x, y)
    sharing = []
    for k, t in enumerate(tensors):
        sharing.append(next((j for j in range(k) if _overlap(tensors[j], t)), None))
    return tensors, signature + (tuple(sharing),)


def _overlap(a, b):
    if a is b:
        return True
    if a.data.base is None and b.data.base is None:   # two arrays owning their memory
        return False
    return type(a.data) is type(b.data) and bool(np.may_share_memory(a.data, b.data))


def _rebuild(tree, tensors):
    """`tree` with every tensor (or array) replaced by the next of `tensors`."""
    if isinstance(tree, (Tensor, np.ndarray)):
        return next(tensors)
    if isinstance(tree, (tuple, list)):
        return _same_kind(tree, [_rebuild(v, tensors) for v in tree])
    if isinstance(tree, dict):
        return {k: _rebuild(v, tensors) for k, v in tree.items()}
    return tree


def _outputs(result):
    """The tensors in `result`, and a function that rebuilds it from replayed tensors."""
    if isinstance(result, Tensor):
        return [result], lambda outs: outs[0]
    if isinstance(result, (tuple, list)) and all(isinstance(r, Tensor) for r in result):
        return list(result), lambda outs: _same_kind(result, outs)
    if result is None:
        return [], lambda outs: None
    raise TypeError("minigrad.compile: the function must return a tensor, a tuple or list "
                    f"of tensors, or None; it returned {type(result).__name__}")


def _same_kind(sequence, items):
    """A tuple or list like `sequence` (a named tuple too) holding `items`."""
    if type(sequence) in (tuple, list):
        return type(sequence)(items)
    return type(sequence)(*items)


def _why_new(signature, earlier):
    """A sentence saying how `signature` differs from the closest earlier one."""
    if not earlier:
        return "first call"
    *args, kwargs, grad_mode, sharing = signature

    def differences(old):
        *old_args, old_kwargs, old_mode, old_sharing = old
        if len(old_args) != len(args):
            return [f"called with {len(args)} arguments instead of {len(old_args)}"]
        found = [f"argument {k} changed: {_describe(b)} -> {_describe(a)}"
                 for k, (a, b) in enumerate(zip(args, old_args)) if a != b]
        if kwargs != old_kwargs:
            found.append("keyword arguments changed")
        if grad_mode != old_mode:
            found.append(f"grad mode changed to "
                         f"{'enabled' if grad_mode else 'disabled (no_grad)'}")
        if sharing != old_sharing and not found:    # else it follows from the above
            found.append("which tensor arguments are the same tensor, or share memory, "
                         "changed")
        return found

    # the closest earlier trace: fewest differences, the most recent among equals
    closest = min(reversed(earlier), key=lambda old: len(differences(old)))
    return "; ".join(differences(closest)) or "new inputs"


def _contiguous_strides(shape, dtype):
    strides, step = [], dtype.itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _describe(entry):
    if entry[0] == "tensor":
        _, shape, dtype, strides, array_type, grad, leaf = entry
        device = "cpu" if array_type is np.ndarray else "cuda"
        layout = "" if strides == _contiguous_strides(shape, dtype) else f", strides {strides}"
        grad = f", requires_grad ({'a leaf' if leaf else 'a result'})" if grad else ""
        return f"tensor{list(shape)} {dtype.name} on {device}{layout}{grad}"
    if entry[0] == "value":
        value = float.fromhex(entry[2]) if entry[1] is float else entry[2]
        return f"Python {entry[1].__name__} {value!r}"
    return entry[0]
