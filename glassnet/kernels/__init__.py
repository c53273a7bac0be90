"""Optional compiled kernels: the fused element-wise work of a training step and small-net inference.

glassnet runs on NumPy alone. When `numba <https://numba.pydata.org>`_ is installed
(``pip install "glassnet[fast]"``), a few hot spots run as single compiled loops instead of
chains of NumPy calls:

- the optimizer updates (SGD with momentum/Nesterov/weight decay, Adam, AdamW) in one pass
  over the flat parameter array (five memory streams instead of ten or more);
- softmax fused with cross-entropy, its gradient and the count of correct predictions;
- ReLU's forward (output and mask together) and backward, and the Dense bias gradient;
- batch norm's training forward and backward;
- whole-network inference for small Dense/activation/batch-norm stacks (one call per predict),
  and a whole training step (forward, softmax cross-entropy, backward) for small Dense/activation
  stacks (one call per step).

The NumPy code stays the reference: every kernel is tested against it, and the results agree
to float32 rounding (the updates bit for bit). Choose the backend with the environment variable
``GLASSNET_KERNELS`` (``auto``, the default: numba when importable; ``numba``; ``numpy``) or
:func:`use`. numba is imported on the first training step or prediction, not with glassnet,
and the compiled code is cached on disk, so only the very first run pays for compilation.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

_CHOICES = ("auto", "numba", "numpy")


class _Backend:
    """The backend in use: the user's choice, the module it resolved to, and whether it did."""

    choice: str | None = None
    module: ModuleType | None = None
    resolved: bool = False


_state = _Backend()


def _resolve() -> ModuleType | None:
    choice = _state.choice or os.environ.get("GLASSNET_KERNELS", "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(f"GLASSNET_KERNELS must be one of {list(_CHOICES)}; got {choice!r}.")
    module: ModuleType | None = None
    if choice != "numpy":
        try:
            module = _import_compiled()
        except ImportError as error:
            if choice == "numba":
                raise ImportError(
                    "GLASSNET_KERNELS=numba but numba cannot be imported "
                    f"({error}); install it with: pip install 'glassnet[fast]'."
                ) from error
            module = None
    _state.module, _state.resolved = module, True
    return module


def _import_compiled() -> ModuleType:
    """The numba kernels, imported without SciPy unless it is already loaded.

    numba imports SciPy to check its version and, when its CPU target first loads, for the BLAS
    behind ``np.dot`` in compiled code, which these kernels do not use: about 150 modules and 13 MB
    for nothing. While numba loads, ``import scipy`` is made to fail (numba then does without it);
    afterwards SciPy imports normally, but numba-compiled ``np.dot`` of the user's own code in this
    process would find no BLAS (import SciPy before glassnet's first step to have both).

    numba's typing and target registries are loaded here, in the importing thread, in either case:
    they load lazily on a first compilation, and two threads compiling their first kernels at once
    (cross-fit members side by side, on a fresh install) met half-loaded registries ("Unknown
    attribute 'shape' of type array").
    """
    import sys

    blocked = "scipy" not in sys.modules
    if blocked:
        sys.modules["scipy"] = None  # type: ignore[assignment]  # "import scipy" raises ImportError
    try:
        module = importlib.import_module(f"{__name__}._compiled")
        try:  # load numba's CPU target now, here (SciPy kept out), not in racing threads (numba's internals)
            from numba.core.registry import cpu_target

            cpu_target.typing_context.refresh()
            cpu_target.target_context.refresh()
        except Exception:  # noqa: BLE001 - a numba without these entry points loads them on first use instead
            pass
    finally:
        if blocked and "scipy" in sys.modules and sys.modules["scipy"] is None:
            del sys.modules["scipy"]
    return module


def active() -> ModuleType | None:
    """The compiled-kernel module in use, or None when glassnet runs on NumPy alone."""
    if _state.resolved:
        return _state.module
    return _resolve()


def name() -> str:
    """``"numba"`` or ``"numpy"``: the backend that runs the fused kernels."""
    return "numpy" if active() is None else "numba"


def set_backend(choice: str) -> None:
    """Select ``"auto"``, ``"numba"`` or ``"numpy"`` for the rest of the process."""
    if choice not in _CHOICES:
        raise ValueError(f"kernels must be one of {list(_CHOICES)}; got {choice!r}.")
    _state.choice, _state.resolved = choice, False
    _resolve()


@contextmanager
def use(choice: str) -> Iterator[None]:
    """Run a block with the given backend, then restore the previous one.

    Examples
    --------
    >>> import glassnet.kernels as K
    >>> with K.use("numpy"):
    ...     K.name()
    'numpy'
    """
    previous = _state.choice
    set_backend(choice)
    try:
        yield
    finally:
        _state.choice, _state.resolved = previous, False
