"""Subnormal floats: where training makes them, why they cost time, and the flush to zero.

A float of magnitude below its type's smallest normal number (float32: 1.18e-38) that is not zero
is *subnormal*. x86 processors compute with subnormals on a slow path, many times slower per
operation than with normal numbers, and a matrix product that reads them slows down with them.

Where they come from. A ReLU unit that no row of a batch activates gets no gradient from the data.
With an L2 penalty λ its incoming and outgoing weights then get the gradient λ·w alone, and Adam
divides it by the root of its running mean square, which remembers the larger gradients of earlier
steps (β₂ = 0.999: a memory of about a thousand steps). Every step then removes a fixed fraction of
each such weight: it decays geometrically towards zero, the optimum of the penalty for a unit the
data does not use, and never reaches it: it passes into the subnormal range and stays there. The
first moment of a weight whose gradient is zero (with or without L2) decays by β₁ a step and ends
there too. On a 61,670-row table the tabular recipe's network had 40 % of its Adam moments and up
to 56 % of a layer's weights subnormal after 40 epochs, and an epoch took 7.7 times as long as the
second one (0.60 s → 4.6 s).

Flushing the stored values is not enough: on their way down, a decaying weight of 1e-30 or a
gradient of 1e-20 makes products that *underflow* (g² in Adam's second moment, w·x in a matrix
product), and producing a subnormal result takes the slow path too. On the same table, with every
stored value flushed, the optimizer step still went from 70 µs to 530 µs between the first and the
twelfth epoch, and a 256×512×256 product whose terms underflow took 100 ms instead of 0.5 ms.

So glassnet flushes in two places:

- **the flush-to-zero mode** (:func:`flush_to_zero`): while a network trains, the calling thread's
  floating-point unit flushes subnormal results to zero and reads subnormal inputs as zero (the
  FTZ and DAZ bits of x86's MXCSR, FZ of ARM's FPCR), as TensorFlow does for its CPU kernels by
  default and ``torch.set_flush_denormal`` offers. The mode is restored when training ends. It
  covers NumPy's element-wise work, the compiled kernels and a single-threaded matrix product;
  threads that a BLAS library started earlier keep their own mode, which is one more reason the
  recipe's small products run on one BLAS thread. Where the C library offers no way to set the
  mode, :func:`flush_to_zero` does nothing (:func:`flush_to_zero_supported` says so);
- **the stored values**: the optimizers (both backends) set every weight, moment and velocity
  whose magnitude is below the smallest normal number to zero after each update, on every
  processor; loading a network's state (model files, checkpoints) and taking it
  (``state_dict``) flush the same way, so a model file and ``predict`` never carry subnormals.

Either change is below 1.2e-38 in absolute value: far below the rounding of any sum it enters.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

#: The bits that make the floating-point unit flush subnormals, by machine: x86's MXCSR FTZ (bit 15)
#: and DAZ (bit 6); ARM64's FPCR FZ (bit 24). glibc's ``femode_t`` holds the MXCSR in its second
#: 32-bit word on x86-64, and is the FPCR itself on ARM64.
_MODE_BITS = {"x86_64": (1, 0x8040), "AMD64": (1, 0x8040), "aarch64": (0, 1 << 24), "arm64": (0, 1 << 24)}


@functools.cache  # asked on every optimizer step: np.finfo costs a few hundred nanoseconds
def smallest_normal(dtype: np.dtype | type) -> float:
    """The smallest positive normal number of a floating ``dtype`` (float32: 1.18e-38).

    >>> smallest_normal(np.float32) == float(np.finfo(np.float32).tiny)
    True
    """
    return float(np.finfo(dtype).tiny)


def flush_subnormals(array: np.ndarray, scratch: np.ndarray | None = None, mask: np.ndarray | None = None) -> None:
    """Set the subnormal entries of a floating ``array`` to zero, in place (NaN and inf are kept).

    ``scratch`` (an array like ``array``) and ``mask`` (a boolean array of its shape) are reused
    buffers for a flush on every training step; without them temporaries are allocated.

    >>> a = np.array([1e-39, -1e-40, 1.0, 0.0, np.nan], dtype=np.float32)
    >>> flush_subnormals(a); a
    array([ 0.,  0.,  1.,  0., nan], dtype=float32)
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    magnitude = np.abs(array, out=scratch)
    below = np.less(magnitude, array.dtype.type(smallest_normal(array.dtype)), out=mask)
    np.copyto(array, 0, where=below)


def count_subnormals(array: np.ndarray) -> int:
    """How many entries of ``array`` are subnormal (non-zero, below the smallest normal number).

    >>> count_subnormals(np.array([1e-39, 0.0, 1.0], dtype=np.float32))
    1
    """
    if array.dtype.kind != "f":
        return 0
    magnitude = np.abs(array)
    return int(np.count_nonzero((magnitude < smallest_normal(array.dtype)) & (magnitude > 0)))


@functools.cache
def _libm() -> ctypes.CDLL | None:
    """The C maths library when it has glibc's ``fegetmode``/``fesetmode`` (glibc 2.25+), else None."""
    if platform.machine() not in _MODE_BITS:
        return None
    try:
        library = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        library.fegetmode, library.fesetmode  # noqa: B018 - an AttributeError means no such functions
    except (OSError, AttributeError):
        return None
    return library


def flush_to_zero_supported() -> bool:
    """Whether :func:`flush_to_zero` can set this machine's flush-to-zero mode (glibc on x86-64 or ARM64)."""
    return _libm() is not None


@contextmanager
def flush_to_zero() -> Iterator[bool]:
    """Run a block with the calling thread's floating-point unit flushing subnormals to zero.

    Yields whether the mode could be set; the previous mode is restored afterwards (also on error).
    The trainer runs every training loop inside it (see the module's text for why).

    >>> with flush_to_zero():
    ...     tiny = np.float32(1e-30) * np.float32(1e-10)
    >>> bool(tiny == 0) or not flush_to_zero_supported()
    True
    """
    library = _libm()
    if library is None:
        yield False
        return
    word, bits = _MODE_BITS[platform.machine()]
    mode = (ctypes.c_uint32 * 2)()
    if library.fegetmode(mode) != 0:
        yield False
        return
    previous = mode[word]
    mode[word] = previous | bits
    changed = previous != mode[word] and library.fesetmode(mode) == 0
    try:
        yield changed or previous & bits == bits
    finally:
        if changed:
            mode[word] = previous
            library.fesetmode(mode)
