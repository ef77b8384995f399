"""minigrad's own GPU kernels, each paired with a NumPy reference.

A kernel is a few lines of CUDA C that say what happens to *one* element; CuPy
(`cupy.ElementwiseKernel`) wraps them in a loop over every element, compiles the result
with NVRTC the first time it is called, and caches it. minigrad keeps every kernel right
next to the op it serves, named `<op>_fwd` / `<op>_bwd`, and gives each one a NumPy
*reference* with the same signature:

    tanh_bwd = ElementwiseKernel(
        "T grad, T y", "T dx",
        "dx = grad * (1 - y * y)",           # d(tanh x)/dx = 1 - tanh(x)^2
        "tanh_bwd",
        reference=lambda grad, y: grad * (1 - y * y))

    tanh_bwd(grad, y)   # NumPy arrays: runs the reference; CuPy arrays: runs the kernel

So the same op code runs on the CPU and on the GPU, and the CPU path is the
specification the GPU kernel is tested against. `emulate()` goes one step further: it
compiles the *CUDA body itself* as C with the system's C compiler and runs it on NumPy
arrays, so a kernel's arithmetic can be checked on a machine without a GPU.

Nothing here imports CuPy until a kernel meets a CuPy array.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np

from .backend import cupy_or_none

__all__ = ["ElementwiseKernel", "EmulationError", "kernels_of"]

# C types for the NumPy dtypes a kernel parameter may have
_C_TYPES = {
    np.dtype(np.float32): "float",
    np.dtype(np.float64): "double",
    np.dtype(np.int64): "long long",
    np.dtype(np.int32): "int",
    np.dtype(np.int8): "signed char",
    np.dtype(np.bool_): "bool",
}
# CUDA's device code has overloaded min/max for every arithmetic type; C does not.
_C_PRELUDE = """\
#include <math.h>
#include <stdbool.h>
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min(a, b) ((a) < (b) ? (a) : (b))
"""


class EmulationError(RuntimeError):
    """A kernel body could not be compiled or run as C on the CPU."""


class _Param:
    """One parameter of a kernel: "T x", "float32 lr", "raw T w"."""
    __slots__ = ("type", "name", "raw")

    def __init__(self, text):
        words = text.split()
        self.raw = words[0] == "raw"
        if self.raw:
            words = words[1:]
        if len(words) != 2 or not words[1].isidentifier():
            raise ValueError(f"bad kernel parameter {text!r}: expected 'TYPE NAME', "
                             "e.g. 'T x' or 'float32 lr'")
        self.type, self.name = words

    @property
    def is_placeholder(self):
        """A one-letter type such as T stands for whatever dtype the arguments have."""
        return len(self.type) == 1 and self.type.isupper()


def _params(text):
    return [_Param(p) for p in text.split(",") if p.strip()]


def _is_array(a):
    return hasattr(a, "shape") and hasattr(a, "dtype")


class ElementwiseKernel:
    """A per-element CUDA kernel with a NumPy reference of the same signature.

    `in_params`, `out_params`, `operation` and `name` are exactly what
    `cupy.ElementwiseKernel` takes. `reference(*inputs)` computes the same outputs with
    NumPy (one array, or a tuple for several outputs). Called with CuPy arrays the
    kernel runs on the GPU, compiled on first use and cached; with anything else, the
    reference runs.
    """

    def __init__(self, in_params, out_params, operation, name, *, reference, preamble=""):
        self.in_params, self.out_params = in_params, out_params
        self.operation, self.name, self.preamble = operation, name, preamble
        self.reference = reference
        self.inputs, self.outputs = _params(in_params), _params(out_params)
        self._cuda = None
        self._emulated = {}

    def __repr__(self):
        return f"<ElementwiseKernel {self.name}: ({self.in_params}) -> ({self.out_params})>"

    def __call__(self, *args):
        for a in args:
            if type(a) is np.ndarray:
                return self.reference(*args)
        if not any(_is_array(a) and type(a).__module__.startswith("cupy") for a in args):
            return self.reference(*args)
        return self.compiled()(*args)

    def compiled(self):
        """The `cupy.ElementwiseKernel` (built once; CuPy compiles it on first launch)."""
        if self._cuda is None:
            cp = cupy_or_none()
            if cp is None:
                raise RuntimeError(f"kernel {self.name} needs CuPy and a GPU; on the CPU "
                                   "call it with NumPy arrays to run its reference")
            self._cuda = cp.ElementwiseKernel(self.in_params, self.out_params, self.operation,
                                              self.name, preamble=self.preamble)
        return self._cuda

    # -- running the CUDA body on the CPU ---------------------------------------------

    def emulate(self, *args):
        """Run the kernel's CUDA body on NumPy arrays, compiled as C by the system compiler.

        The inputs broadcast against each other like NumPy arrays; a one-letter type
        (T) takes the dtype of the first array argument declared with it. As with CuPy,
        output arrays may be passed after the inputs: the body can then read and update
        them in place (an optimizer's state). Returns the outputs: one array, or a tuple.
        """
        n_in = len(self.inputs)
        if not n_in <= len(args) <= n_in + len(self.outputs) or n_in < len(args) < n_in + len(
                self.outputs):
            raise TypeError(f"{self.name} takes {n_in} inputs ({self.in_params}), optionally "
                            f"followed by its {len(self.outputs)} outputs; got {len(args)}")
        args, given = args[:n_in], args[n_in:]
        if any(p.raw for p in self.outputs):
            raise EmulationError(f"{self.name}: emulate() cannot write 'raw' outputs")
        types = {}
        for p, a in zip(self.inputs, args):
            if p.is_placeholder and _is_array(a):
                types.setdefault(p.type, np.dtype(a.dtype))
        for p, a in zip(self.inputs, args):
            if p.is_placeholder and p.type not in types:
                types[p.type] = np.asarray(a).dtype

        def dtype_of(p):
            return types.get(p.type) if p.is_placeholder else np.dtype(p.type)

        arrays = [np.asarray(a, dtype=dtype_of(p)) for p, a in zip(self.inputs, args)]
        # raw inputs are indexed by the body itself (x[i * n + j]); the rest broadcast and
        # are read one element per loop iteration, as CuPy does
        shape = np.broadcast_shapes(*(a.shape for p, a in zip(self.inputs, arrays) if not p.raw))
        inputs = [np.ascontiguousarray(a if p.raw else np.broadcast_to(a, shape))
                  for p, a in zip(self.inputs, arrays)]
        if given:
            for p, out in zip(self.outputs, given):
                if not (isinstance(out, np.ndarray) and out.shape == shape
                        and out.dtype == dtype_of(p) and out.flags.c_contiguous):
                    raise TypeError(f"{self.name}: output {p.name} must be a C-contiguous "
                                    f"{dtype_of(p)} array of shape {shape}")
            outputs = list(given)
        else:
            outputs = [np.zeros(shape, dtype_of(p)) for p in self.outputs]

        signature = tuple(str(a.dtype) for a in inputs + outputs)
        function = self._emulated.get(signature)
        if function is None:
            function = self._emulated[signature] = _compile_c(self._c_source(inputs, outputs),
                                                              self.name)
        pointers = (ctypes.c_void_p * len(signature))(
            *(a.ctypes.data for a in inputs + outputs))
        function(ctypes.c_longlong(int(np.prod(shape))), pointers)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _c_source(self, inputs, outputs):
        params = self.inputs + self.outputs
        arrays = inputs + outputs
        lines = [_C_PRELUDE]
        for p, a in zip(params, arrays):   # the placeholder types, as typedefs
            if p.is_placeholder and f"typedef {_c_type(a.dtype)} {p.type};" not in lines:
                lines.append(f"typedef {_c_type(a.dtype)} {p.type};")
        lines.append(self.preamble)
        lines.append(f"void {self.name}(long long n, void **args) {{")
        for k, (p, a) in enumerate(zip(params, arrays)):
            lines.append(f"    {_c_type(a.dtype)} *{p.name}_ = ({_c_type(a.dtype)} *)args[{k}];")
        lines.append("    for (long long i = 0; i < n; ++i) {")
        for p, a in zip(self.inputs, inputs):
            if p.raw:
                lines.append(f"        const {_c_type(a.dtype)} *{p.name} = {p.name}_;")
            else:
                lines.append(f"        const {_c_type(a.dtype)} {p.name} = {p.name}_[i];")
        for p, a in zip(self.outputs, outputs):
            lines.append(f"        {_c_type(a.dtype)} {p.name} = {p.name}_[i];")
        lines.append("        {\n" + self.operation + "\n;}")
        for p in self.outputs:
            lines.append(f"        {p.name}_[i] = {p.name};")
        lines.append("    }\n}")
        return "\n".join(lines)


def kernels_of(module):
    """The kernels a module defines, by name: `kernels_of(minigrad.optim)`."""
    return {k.name: k for k in vars(module).values() if isinstance(k, ElementwiseKernel)}


def _c_type(dtype):
    try:
        return _C_TYPES[np.dtype(dtype)]
    except KeyError:
        raise EmulationError(f"emulate() has no C type for dtype {dtype}") from None


def _compiler():
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise EmulationError("emulate() needs a C compiler (cc, gcc or clang) on the PATH; "
                         "on Debian/Ubuntu: apt-get install gcc")


_BUILD_DIR = None


def _compile_c(source, name):
    """Compile `source` into a shared library (cached by its hash) and return `name`."""
    global _BUILD_DIR
    if _BUILD_DIR is None:
        _BUILD_DIR = tempfile.mkdtemp(prefix="minigrad-kernels-")
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    c_file = os.path.join(_BUILD_DIR, f"{name}-{digest}.c")
    library = c_file[:-2] + ".so"
    if not os.path.exists(library):
        with open(c_file, "w") as f:
            f.write(source)
        done = subprocess.run([_compiler(), "-O1", "-shared", "-fPIC", "-o", library, c_file,
                               "-lm"], capture_output=True, text=True)
        if done.returncode != 0:
            raise EmulationError(f"kernel {name} does not compile as C:\n"
                                 + _trim(done.stderr, c_file))
    function = getattr(ctypes.CDLL(library), name)
    function.restype = None
    function.argtypes = [ctypes.c_longlong, ctypes.POINTER(ctypes.c_void_p)]
    return function


def _trim(message, path):
    """The compiler's complaint without the temporary file's long path."""
    return re.sub(re.escape(path) + r":", "kernel:", message).strip()
