"""The base class of every optimizer: parameter groups, per-parameter state, state dicts.

An optimizer holds `param_groups`, a list of dicts: the group's parameters under
"params" and its settings ("lr", "momentum", ...) under their names. `step()` updates
every parameter that has a `.grad`, in place, with the settings of its group; whatever
the rule carries from one step to the next (a velocity, Adam's moments, a step count)
lives in `state[parameter]`, a dict of tensors named as PyTorch names them.
"""
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain

from .. import autograd, backend
from ..autograd import bump_version
from ..creation import tensor
from ..tensor import Tensor, clear_grads


class Optimizer:
    """Subclasses validate their settings, pass them on as `defaults`, and define
    `_update(group, p, grad)`: one parameter's step, done in place on `p.data`."""

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable "
                            "of Tensors or dicts, but got minigrad.Tensor")
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own settings; those it leaves out take the
        optimizer's defaults. As in PyTorch, the dict passed in becomes the group."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets will change "
                            "between runs. Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]    # from named_parameters()
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names

        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            # frozen parameters (requires_grad=False) are accepted and skipped, since they
            # never get a .grad; results of ops cannot be updated in place
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf tensor: optimizers update "
                                 "parameters (leaf tensors) in place")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)

        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"

    def zero_grad(self, set_to_none=True):
        clear_grads([p for group in self.param_groups for p in group["params"]], set_to_none)

    # ------------------------------------------------------------------ a step

    def step(self, closure=None):
        """Update every parameter that has a gradient. `closure`, if given, re-evaluates
        the model and returns the loss (it runs with gradients enabled); step returns it."""
        loss = None
        if closure is not None:
            with autograd.enable_grad():
                loss = closure()
        for group, p, grad in self._with_grads():
            if group.get("maximize"):
                grad = -grad                  # climb the objective: follow -gradient
            self._update(group, p, grad)
        return loss

    def _update(self, group, p, grad):
        raise NotImplementedError(f"{type(self).__name__} does not define its update")

    def _with_grads(self):
        """(group, parameter, gradient array) for every parameter that has a gradient.
        Each is about to be changed in place, so its version counter moves on now: a
        graph that saved it refuses to backpropagate through the old values."""
        autograd.refuse_while_tracing(
            "an optimizer step", "Return the loss from the compiled function and call "
            "loss.backward() and optimizer.step() outside it.")
        found = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    found.append((group, p, p.grad.data))
                    bump_version(p)
        return found

    # ------------------------------------------------------------------ state dicts

    def state_dict(self):
        """{"state": {index: {name: tensor}}, "param_groups": [{setting: value, "params":
        [index, ...]}]}, PyTorch's format: parameters are numbered in group order.

        As in PyTorch, the tensors are the optimizer's own and change with every step:
        save the dict, or `copy.deepcopy` it, to keep a snapshot."""
        index = {}
        for p in chain.from_iterable(group["params"] for group in self.param_groups):
            index.setdefault(id(p), len(index))
        groups = [{**{k: v for k, v in group.items() if k != "params"},
                   "params": [index[id(p)] for p in group["params"]]}
                  for group in self.param_groups]
        state = {index[id(p)] if isinstance(p, Tensor) else p: s for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take over the settings and state of `state_dict` (from `state_dict()`): the
        saved parameters are matched with this optimizer's by position, group by group."""
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"])
               for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't "
                             "match the size of optimizer's group")
        param_of = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                            chain.from_iterable(g["params"] for g in self.param_groups)))

        state = defaultdict(dict)
        for k, saved in state_dict["state"].items():
            if k in param_of:
                p = param_of[k]
                state[p] = {name: _cast(value, p, name) for name, value in saved.items()}
            else:
                state[k] = saved
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state, self.param_groups = state, saved_groups


def _cast(value, p, name):
    """A saved state tensor, on p's device and (if p is floating point) of p's dtype, as
    PyTorch does: shared, not copied, when it already is. The step count is left as is."""
    if not isinstance(value, Tensor) or name == "step":
        return value
    return value.to(p.device, p.dtype if p.dtype.is_floating_point else None)


def check_one_element(value, name):
    """Settings may be tensors, as in PyTorch, if they hold one number."""
    if isinstance(value, Tensor) and value.numel() != 1:
        raise ValueError(f"Tensor {name} must be 1-element")


def state_like(p, fill=0.0):
    """A state tensor for a running statistic of p: p's shape, dtype and device."""
    return Tensor(backend.array_module(p.data).full_like(p.data, fill))


def step_count():
    """The step counter as PyTorch keeps it: a 0-d tensor of the default float dtype, on
    the CPU. `count_step` adds one, in place, and returns the new count as a float."""
    return tensor(0.0)


def count_step(state):
    state["step"].data += 1
    return float(state["step"].data)
