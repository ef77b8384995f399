"""`minigrad.save` and `minigrad.load`: tensors and state dicts to a file and back, as
`torch.save` and `torch.load` do, in a format that cannot hold code.

PyTorch's files are pickles: loading one can run any Python the file names, which is why
`torch.load` now defaults to `weights_only=True`. minigrad never unpickles. Its file is a
NumPy `.npz` archive (a zip of `.npy` arrays): one array per tensor, plus a JSON text,
"structure", that describes the object saved (the nesting of dicts, lists and tuples,
the keys and their types, and each tensor's dtype and requires_grad). Loading reads it
with `np.load(..., allow_pickle=False)` and `json.loads`, neither of which runs code.

    minigrad.save(model.state_dict(), "model.mg")
    model.load_state_dict(minigrad.load("model.mg"))

What can be saved: tensors (and Parameters); dicts and OrderedDicts whose keys are
strings, ints, floats, bools or None (an optimizer's state dict has int keys); lists and
tuples; Python ints, floats, bools, strings and None; nested as deeply as you like.
"""
import contextlib
import json
import os
import zipfile
from collections import OrderedDict

import numpy as np

from . import autograd, backend, dtypes as _dt
from .nn.module import Parameter
from .tensor import Tensor

FORMAT, VERSION = "minigrad", 1
_STRUCTURE = "structure"         # the archive's JSON entry; tensors are tensor0, tensor1...
_SCALARS = {bool: "bool", int: "int", float: "float", str: "str"}   # exact types, and None
_CONTAINERS = {dict, OrderedDict, list, tuple}


def save(obj, f):
    """Write `obj` (a tensor, or dicts, lists and tuples of tensors and Python values) to
    `f`, a path (str or pathlib.Path; used as given, no suffix added) or a binary file
    object opened for writing.

    Differences from torch.save: a tensor is stored with its own values only, so tensors
    that share memory (views of one another, or the same tensor twice) are stored twice
    and come back as separate tensors; and the device is not kept (see `load`)."""
    arrays = {}
    structure = {"format": FORMAT, "version": VERSION,
                 "object": _describe(obj, arrays, "obj", set())}
    arrays[_STRUCTURE] = np.array(json.dumps(structure))     # a unicode array, not a pickle
    with _opened(f, "wb") as file:
        np.savez(file, **arrays)


def load(f, map_location=None, weights_only=True):
    """Read back what `save` wrote to `f` (a path or a binary file object opened for
    reading). Tensors come back with their dtype, shape, values and requires_grad (a
    saved tensor that required grad is loaded as a leaf that requires grad, as in
    PyTorch), on "cpu", or on `map_location` ("cpu", "cuda" or a minigrad.device) when
    given; PyTorch's dict and function forms of map_location are not supported.

    `weights_only` is accepted for PyTorch's sake and changes nothing: a minigrad file
    holds data only. Files written by torch.save, pickles and any other file raise a
    RuntimeError that says what the file looks like and what minigrad loads."""
    if map_location is not None and not isinstance(map_location, (str, backend.device)):
        raise NotImplementedError(
            f"load(map_location={map_location!r}): minigrad accepts None, a device name such "
            "as 'cpu' or 'cuda', or a minigrad.device; not PyTorch's dict or function forms")
    device = backend.device(map_location or "cpu")
    with _opened(f, "rb") as file:
        start = file.tell()
        head = file.read(4)
        file.seek(start)
        if not head.startswith(b"PK"):          # every zip archive starts so
            raise _not_ours(_what_it_looks_like(head))
        try:
            archive = np.load(file, allow_pickle=False)
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            raise _not_ours(f"a damaged or unknown zip archive ({error})") from None
        with archive:
            return _rebuild(_described_object(archive), archive, device)


def _described_object(archive):
    """The description of the saved object, from the archive's "structure" entry, after
    checking that this is a minigrad file that this minigrad can read."""
    if _STRUCTURE not in archive.files:
        if any(name.endswith("data.pkl") for name in archive.zip.namelist()):
            raise _not_ours("a file written by torch.save (a zip archive around a pickle)")
        raise _not_ours("a zip or .npz archive without minigrad's \"structure\" entry "
                        "(read a plain .npz with numpy.load)")
    try:
        structure = json.loads(str(archive[_STRUCTURE][()]))
    except ValueError:
        structure = None
    if not isinstance(structure, dict) or structure.get("format") != FORMAT:
        raise _not_ours("an .npz archive whose \"structure\" entry is not minigrad's")
    if structure.get("version") != VERSION:
        raise RuntimeError(f"load: this file is in version {structure.get('version')} of "
                           f"minigrad's format (from a newer minigrad?); this minigrad reads "
                           f"version {VERSION}")
    return structure["object"]


# ---------------------------------------------------------------- saving


def _describe(obj, arrays, where, open_containers):
    """The JSON description of `obj`; its tensors go into `arrays`. `where` names the
    place of `obj` in what is saved, for error messages."""
    if isinstance(obj, Tensor):
        autograd.escaped(obj, "minigrad.save()")
        name = f"tensor{len(arrays)}"
        arrays[name] = backend.move(obj.data, "cpu")
        return {"type": "parameter" if isinstance(obj, Parameter) else "tensor",
                "array": name, "dtype": obj.dtype.name, "shape": list(obj.shape),
                "requires_grad": obj.requires_grad}
    if obj is None or type(obj) in _SCALARS:
        return _describe_scalar(obj)
    if type(obj) in _CONTAINERS:
        if id(obj) in open_containers:
            raise ValueError(f"save: {where} contains itself; minigrad saves trees of "
                             "containers, not cycles")
        open_containers.add(id(obj))
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if key is not None and type(key) not in _SCALARS:
                    raise TypeError(f"save: {where} has a key of type {type(key).__name__} "
                                    f"({key!r}); minigrad saves keys that are str, int, "
                                    "float, bool or None")
                items.append([_describe_scalar(key),
                              _describe(value, arrays, f"{where}[{key!r}]", open_containers)])
            node = {"type": type(obj).__name__, "items": items}
        else:
            node = {"type": type(obj).__name__,
                    "items": [_describe(value, arrays, f"{where}[{i}]", open_containers)
                              for i, value in enumerate(obj)]}
        open_containers.discard(id(obj))
        return node
    hint = ""
    if isinstance(obj, np.ndarray):
        hint = " (make the array a tensor: minigrad.tensor(array))"
    elif isinstance(obj, np.generic):
        hint = " (for a NumPy number, save its .item())"
    raise TypeError(f"save: {where} is a {type(obj).__module__}.{type(obj).__qualname__}, "
                    "which minigrad cannot save. It saves tensors; dicts, OrderedDicts, "
                    "lists and tuples of them; and Python ints, floats, bools, strings and "
                    f"None{hint}")


def _describe_scalar(value):
    if value is None:
        return {"type": "None"}
    return {"type": _SCALARS[type(value)], "value": value}  # JSON keeps inf and NaN too


# ---------------------------------------------------------------- loading


def _rebuild(node, archive, device):
    kind = node.get("type")
    if kind in ("tensor", "parameter"):
        data = archive[node["array"]]
        if data.dtype.name != node["dtype"] or list(data.shape) != node["shape"]:
            raise RuntimeError(f"load: the file is damaged: {node['array']} is "
                               f"{data.dtype.name} {list(data.shape)}, its description says "
                               f"{node['dtype']} {node['shape']}")
        _dt.from_numpy_dtype(data.dtype)            # refuses a dtype minigrad does not have
        data = backend.move(data, device)
        if kind == "parameter":
            return Parameter(data, requires_grad=node["requires_grad"])
        return Tensor(data, requires_grad=node["requires_grad"])
    if kind == "None":
        return None
    if kind in ("bool", "int", "float", "str"):
        return node["value"]
    if kind in ("list", "tuple"):
        items = [_rebuild(item, archive, device) for item in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("dict", "OrderedDict"):
        pairs = ((_rebuild(k, archive, device), _rebuild(v, archive, device))
                 for k, v in node["items"])
        return dict(pairs) if kind == "dict" else OrderedDict(pairs)
    raise RuntimeError(f"load: the file is damaged or from a newer minigrad: it describes "
                       f"an object of unknown type {kind!r}")


# ---------------------------------------------------------------- files


@contextlib.contextmanager
def _opened(f, mode):
    """A binary file for a path (opened here, and closed) or a file object (left open)."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, mode) as file:
            yield file
    else:
        yield f


def _what_it_looks_like(head):
    if not head:
        return "an empty file"
    if head[:1] == b"\x80":
        return ("a Python pickle (perhaps from torch.save's old format, or pickle.dump); "
                "minigrad never unpickles, since unpickling can run any code")
    if head.startswith(b"\x93NUM"):
        return "a single NumPy .npy array (read it with numpy.load)"
    return "not a zip archive"


def _not_ours(what):
    return RuntimeError(
        f"load: this file is {what}, not a minigrad file. minigrad.load reads the files "
        "minigrad.save writes: a NumPy .npz archive with a JSON \"structure\" entry. Loading "
        "PyTorch's files is not supported: load one with torch.load and pass the state dict "
        "to load_state_dict (it accepts PyTorch tensors), or save it again with "
        "minigrad.save.")
