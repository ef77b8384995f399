"""Stepper: a debugger for the forward and backward pass, one operation at a time.

    Stepper(lambda: loss_fn(model(X), y))          # minigrad: every op, then backward
    Stepper.torch(model, X, loss_fn=F.cross_entropy, target=y)   # PyTorch, via hooks

The function runs once, under `minigrad.autograd.observe`, and every op is recorded
with a snapshot of its inputs and output (and, in the backward pass, of the gradient
arriving and the gradients sent on). The widget then replays that record: Next, Back,
Continue (to the next breakpoint), Run to end, or Run to a chosen op, with the current
op highlighted in a GraphView. Breakpoints stop on op names; "break on NaN/Inf" stops
at the first op whose result is not finite and says which input caused it.
"""
import warnings
from html import escape

import numpy as np

import minigrad
from minigrad.autograd import observe
from minigrad.export import summarize

from .drawing import with_static_copy
from .graphview import GraphView


class Step:
    """One recorded op: its phase ("forward"/"backward"), name, graph node, and values."""

    def __init__(self, phase, op, node_id, values, nonfinite=None):
        self.phase, self.op, self.node_id = phase, op, node_id
        self.values = values              # list of (label, `summarize` dict)
        self.nonfinite = nonfinite        # None, or a sentence saying what went wrong

    def __repr__(self):
        return f"Step({self.phase} {self.op})"


def _hint(op, index, inputs):
    """Why an op's output may stop being finite, naming the input that did it."""
    at = lambda i: inputs[i][index] if inputs[i].shape else inputs[i]   # noqa: E731
    if op in ("log", "sqrt") and inputs:
        return f"input 0 is {float(at(0)):.4g} there: {op} needs a positive number"
    if op == "div" and len(inputs) > 1:
        return f"input 1 (the divisor) is {float(at(1)):.4g} there"
    if op == "exp" and inputs:
        return f"input 0 is {float(at(0)):.4g} there: exp overflows above ~88 in float32"
    if op == "pow" and inputs:
        return f"input 0 is {float(at(0)):.4g} there"
    return "inputs there: " + ", ".join(
        f"input {i} = {float(at(i)):.4g}" for i in range(len(inputs))
    )


def _nonfinite(op, inputs, output):
    """None if `output` is finite (or its inputs already were not); else a sentence."""
    out = np.asarray(output)
    if out.dtype.kind != "f" or np.isfinite(out).all():
        return None
    arrays = [np.asarray(x) for x in inputs if isinstance(x, np.ndarray)]
    if any(a.dtype.kind == "f" and not np.isfinite(a).all() for a in arrays):
        return None                          # it came from further up, not from here
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
    kind = "NaN" if np.isnan(out[index]) else "Inf"
    same_shape = []
    for a in arrays:
        try:
            same_shape.append(np.broadcast_to(a, out.shape))
        except ValueError:
            same_shape = []
            break
    where = f"{op} produced {kind} at index {index}"
    if same_shape:
        return f"{where}; {_hint(op, index, same_shape)}"
    return f"{where}; its inputs were finite, so this op made it"


def _nonfinite_gradient(op, values):
    """A sentence if this backward step's gradients are not all finite, else None."""
    bad = [label for label, info in values if info.get("nan") or info.get("inf")]
    if not bad:
        return None
    arrived = [label for label in bad if label.startswith("gradient in")]
    if arrived:
        return f"the gradient arriving at {op} is already not finite ({', '.join(arrived)})"
    return f"{op}'s backward turned a finite gradient into NaN/Inf ({', '.join(bad)})"


class Stepper:
    """Replay a recorded forward and backward pass one op at a time."""

    def __init__(self, fn=None, *args, backward=True, breakpoints=(), break_on_nan=True):
        self.steps, self.position = [], 0
        self.breakpoints = set(breakpoints)
        self.break_on_nan = break_on_nan
        self.error, self.result = None, None
        self.view = GraphView(title="minigrad")
        self._full_graph = None
        self._ui = None
        if fn is not None:
            self._record_minigrad(fn, args, backward)

    # ------------------------------------------------------------ recording

    def _record_minigrad(self, fn, args, backward):
        events = []
        try:
            with observe(lambda e: events.append(self._snapshot(e))):
                self.result = fn(*args)
                if backward and isinstance(self.result, minigrad.Tensor) \
                        and self.result.requires_grad and self.result.numel() == 1:
                    self.result.backward(retain_graph=True)
        except Exception as error:      # a model that raises: show it, keep what ran
            self.error = f"{type(error).__name__}: {error}"
        if isinstance(self.result, minigrad.Tensor) and self.result.grad_fn is not None:
            self.view.show(self.result)
        node_of_seq = {n.get("seq"): n["id"] for n in (self.view.graph or {}).get("nodes", [])
                       if n["kind"] == "op"}
        for seq, step in events:
            step.node_id = node_of_seq.get(seq)
            self.steps.append(step)
        self._after_record()

    @staticmethod
    def _snapshot(event):
        seq = event.node.seq if event.node is not None else None
        arrays = [x.data if isinstance(x, minigrad.Tensor) else x for x in event.inputs]
        tensors = [(i, a) for i, a in enumerate(arrays) if isinstance(a, np.ndarray)]
        if event.phase == "forward":
            values = [(f"input {i}", summarize(a)) for i, a in tensors]
            values.append(("output", summarize(event.output.data)))
            return seq, Step("forward", event.op, None, values,
                             _nonfinite(event.op, arrays, event.output.data))
        values = [("gradient in", summarize(event.grad_output))]
        for i, g in enumerate(event.grad_inputs):
            if g is not None:
                values.append((f"gradient to input {i}", summarize(g)))
        return seq, Step("backward", event.op, None, values, _nonfinite_gradient(event.op, values))

    @classmethod
    def torch(cls, model, *inputs, loss_fn=None, target=None, break_on_nan=True):
        """Step through a PyTorch model module by module, with forward hooks and (given
        a loss) full backward hooks on every leaf module."""
        import torch

        stepper = cls(break_on_nan=break_on_nan)
        stepper.view.title = "PyTorch (module hooks)"
        handles = []

        def arrays(xs):
            return [x.detach().cpu().numpy() for x in xs if isinstance(x, torch.Tensor)]

        def on_forward(name):
            def hook(module, args, output):
                ins, out = arrays(args), output.detach().cpu().numpy()
                values = [(f"input {i}", summarize(a)) for i, a in enumerate(ins)]
                values.append(("output", summarize(out)))
                label = f"{name} ({type(module).__name__})"
                stepper.steps.append(Step("forward", label, "group:" + name, values,
                                          _nonfinite(type(module).__name__.lower(), ins, out)))
            return hook

        def on_backward(name):
            def hook(module, grad_input, grad_output):
                values = [
                    (f"gradient in {i}", summarize(g)) for i, g in enumerate(arrays(grad_output))
                ]
                values += [
                    (f"gradient to input {i}", summarize(g))
                    for i, g in enumerate(arrays(grad_input))
                ]
                label = f"{name} ({type(module).__name__})"
                stepper.steps.append(Step("backward", label, "group:" + name, values,
                                          _nonfinite_gradient(label, values)))
            return hook

        leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
        for name, module in leaves:
            handles.append(module.register_forward_hook(on_forward(name)))
            if loss_fn is not None:
                handles.append(module.register_full_backward_hook(on_backward(name)))
        try:
            out = model(*inputs)
            stepper.result = out
            if loss_fn is not None:
                loss = loss_fn(out, target) if target is not None else loss_fn(out)
                stepper.result = loss
                with warnings.catch_warnings():
                    # the first layer's input needs no gradient, which PyTorch points out
                    warnings.filterwarnings("ignore", message="Full backward hook is firing")
                    loss.backward()
                stepper.view.show(loss, model=model, collapse=True)
                drawn = (
                    {n["id"] for n in stepper.view.graph["nodes"]} if stepper.view.graph else set()
                )
                for step in stepper.steps:
                    if step.node_id not in drawn:
                        step.node_id = None     # a layer without weights is not a group
        except Exception as error:
            stepper.error = f"{type(error).__name__}: {error}"
        finally:
            for h in handles:
                h.remove()
        stepper._after_record()
        return stepper

    def _after_record(self):
        self.position = 0
        self._full_graph = self.view.graph      # with every gradient, as after backward
        if self.error:
            self.view.message = "the function raised " + self.error
        self._sync()

    # ------------------------------------------------------------ navigation

    @property
    def current(self):
        return self.steps[self.position] if self.steps else None

    def next(self):
        self.position = min(self.position + 1, max(len(self.steps) - 1, 0))
        self._sync()
        return self.current

    def back(self):
        self.position = max(self.position - 1, 0)
        self._sync()
        return self.current

    def run_to_end(self):
        self.position = max(len(self.steps) - 1, 0)
        self._sync()
        return self.current

    def run_to(self, target):
        """Go to a step index, or to the next step whose op is named `target`."""
        if isinstance(target, int):
            if not 0 <= target < len(self.steps):
                raise IndexError(f"there are {len(self.steps)} steps; step {target} does not exist")
            self.position = target
        else:
            found = self._find(lambda s: s.op == target)
            if found is None:
                raise ValueError(f"no step after this one runs an op named {target!r}")
            self.position = found
        self._sync()
        return self.current

    def continue_(self):
        """Run forward until a breakpoint, a non-finite value (if enabled) or the end."""
        found = self._find(self._stops_at)
        self.position = found if found is not None else max(len(self.steps) - 1, 0)
        self._sync()
        return self.current

    def _stops_at(self, step):
        return step.op in self.breakpoints or (self.break_on_nan and step.nonfinite is not None)

    def _find(self, predicate):
        return next((i for i in range(self.position + 1, len(self.steps))
                     if predicate(self.steps[i])), None)

    # ------------------------------------------------------------ display

    def _graph_at(self, step):
        """The recorded graph as it stands at `step`: no gradients during the forward
        pass; in the backward pass, those of the tensors next to the ops whose backward
        has run."""
        graph = self._full_graph
        done = {s.node_id for s in self.steps[:self.position + 1] if s.phase == "backward"}
        reached = {e["source"] for e in graph["edges"] if e["target"] in done} | \
                  {e["target"] for e in graph["edges"] if e["source"] in done}
        nodes = [n if n["id"] in reached or not n.get("grad") else {**n, "grad": None}
                 for n in graph["nodes"]]
        return {**graph, "nodes": nodes}

    def _sync(self):
        step = self.current
        if self._full_graph is not None:
            self.view.set_graph(self._graph_at(step), highlight=step.node_id if step else None)
        if self._ui is not None:
            self._ui["details"].value = self.details_html()
            self._ui["position"].value = self.status()
            if self.steps:
                self._ui["choose"].value = self.position     # keep "Run to" in step

    def status(self):
        if not self.steps:
            return "nothing was recorded"
        step = self.current
        return f"step {self.position + 1} of {len(self.steps)}: {step.phase} {step.op}"

    def details_html(self):
        step = self.current
        if step is None:
            return f"<p>{escape(self.error or 'no operations were recorded')}</p>"
        rows = []
        if step.nonfinite:
            rows.append('<p style="color:var(--jp-error-color1, #9d0208)">'
                        f'<b>{escape(step.nonfinite)}</b></p>')
        for label, info in step.values:
            rows.append(f"<tr><td><b>{escape(label)}</b></td><td>{_describe_html(info)}</td></tr>")
        return (f"<div class='fl-step'><b>{escape(step.phase)} · {escape(step.op)}</b>"
                f"<table>{''.join(rows)}</table></div>")

    @property
    def container(self):
        if self._ui is None:
            self._build_ui()
        return self._ui["box"]

    def _build_ui(self):
        import ipywidgets as w

        buttons = {name: w.Button(description=name, layout=w.Layout(width="auto"))
                   for name in ("Back", "Next", "Continue", "Run to end")}
        buttons["Back"].on_click(lambda _: self.back())
        buttons["Next"].on_click(lambda _: self.next())
        buttons["Continue"].on_click(lambda _: self.continue_())
        buttons["Run to end"].on_click(lambda _: self.run_to_end())
        choose = w.Dropdown(
            options=[(f"{i + 1}. {s.phase} {s.op}", i) for i, s in enumerate(self.steps)],
            description="Run to",
            layout=w.Layout(width="280px"),
            value=self.position if self.steps else None,
        )
        choose.observe(lambda change: self.run_to(change["new"]), names="value")
        breaks = w.Text(value=", ".join(sorted(self.breakpoints)), description="Break on",
                        placeholder="op names, e.g. log, div")
        breaks.observe(lambda c: setattr(self, "breakpoints",
                                         {b.strip() for b in c["new"].split(",") if b.strip()}),
                       names="value")
        nan = w.Checkbox(value=self.break_on_nan, description="break on NaN/Inf")
        nan.observe(lambda c: setattr(self, "break_on_nan", c["new"]), names="value")
        position, details = w.HTML(self.status()), w.HTML(self.details_html())
        controls = w.HBox(list(buttons.values()) + [choose])
        self._ui = {"box": w.VBox([controls, w.HBox([breaks, nan]), position, self.view, details]),
                    "position": position, "details": details, "buttons": buttons,
                    "choose": choose}

    def __repr__(self):
        return f"Stepper({self.status()})"

    def _repr_mimebundle_(self, **kwargs):
        html = self.view.static_html() + self.details_html()
        return with_static_copy(self.container._repr_mimebundle_(**kwargs), repr(self), html)


def _describe_html(info):
    """A `summarize` dict as the details table shows it: the values of a small array, or
    the statistics of its finite values and a histogram of a large one."""
    head = f"{'×'.join(map(str, info['shape'])) or 'scalar'} {info['dtype']}"
    if "data" in info:
        shown = np.array2string(np.asarray(info["data"]), precision=4, separator=", ")
        return f"{escape(head)}<br><code>{escape(shown)}</code>"
    parts = [head]
    if info["numel"] > info.get("nan", 0) + info.get("inf", 0):      # some are finite
        stats = info.get("finite", info)
        parts.append(f"min {stats['min']:.4g} · max {stats['max']:.4g} · "
                     f"mean {stats['mean']:.4g}")
    if info.get("nan") or info.get("inf"):
        parts.append(f"{info.get('nan', 0)} NaN · {info.get('inf', 0)} Inf")
    html = "<br>".join(escape(p) for p in parts)
    if info.get("histogram"):
        html += _sparkline(info["histogram"])
    return html


def _sparkline(counts, width=120, height=24):
    """A tiny histogram as inline SVG bars."""
    top = max(counts) or 1
    bar = width / len(counts)
    bars = "".join(f'<rect x="{i * bar:.1f}" y="{height - c / top * height:.1f}" '
                   f'width="{bar - 1:.1f}" height="{c / top * height:.1f}" fill="#5e60ce"/>'
                   for i, c in enumerate(counts))
    return f'<br><svg width="{width}" height="{height}">{bars}</svg>'
