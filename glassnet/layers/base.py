"""The layer protocol shared by every glassnet layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..parameter import Parameter


class Layer:
    """Base class: one step of the forward flow and its chain-rule backward step.

    Subclasses implement ``forward`` and ``backward`` side by side.  ``forward`` keeps what
    ``backward`` needs; ``backward`` receives dL/d(output), adds dL/d(parameter) to each
    parameter's ``grad`` and returns dL/d(input).  Neither modifies its argument.

    Outputs are written into buffers owned by the layer and reused across calls (no allocation
    in the steady state), so an array returned by ``forward``/``backward`` is valid until the next
    call of the same method.  :class:`~glassnet.Sequential` copies what it hands back to users.

    The gradient contract: ``backward`` *adds* its contribution to each parameter's ``grad``
    (``p.grad += ...``, micrograd's convention, or ``p.accumulate(...)``). A training step clears
    the gradients of such layers before the backward flow, so adding is always right. A layer may
    instead declare ``writes_fresh_gradients = True`` (as Dense and BatchNorm do): the step then
    skips clearing its parameters and marks them ``fresh``, and the layer must *write* the gradient
    of a fresh parameter (``p.accumulate`` does) and clear the flag; a parameter the flow did not
    reach keeps ``fresh`` and is zeroed after the flow.
    """

    #: See the gradient contract above: True only for layers that honour ``Parameter.fresh``.
    writes_fresh_gradients: bool = False

    #: Short, readable kind used in automatic names ("dense", "relu", ...).
    kind: str = "layer"
    #: True when the layer is an affine map at inference (used by collapse and the warning).
    is_linear: bool = False

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        #: Widths of the input and the output (0 until built).
        self.input_dim: int = 0
        self.output_dim: int = 0
        self.dtype: np.dtype = np.dtype(np.float32)
        self.built = False
        self._workspaces: dict[str, np.ndarray] = {}
        self._forward_done = False
        #: Set False by the network for the first trainable layer, whose dL/dx nobody needs.
        self.needs_input_grad = True

    # -- building -------------------------------------------------------------------------
    def build(self, input_dim: int, dtype: np.dtype, rng: np.random.Generator) -> None:
        """Create parameters for inputs of width ``input_dim``. Element-wise layers keep the width."""
        self.input_dim = input_dim
        self.output_dim = input_dim
        self.dtype = np.dtype(dtype)
        self.built = True

    def parameters(self) -> list[Parameter]:
        """Trainable parameters of this layer."""
        return []

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state (for example batch-norm running statistics)."""
        return {}

    # -- the two passes -------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Inference-only forward for prediction: no checks, no state kept for backward.

        Returns a new array (or ``x`` itself for identity layers); subclasses override it with
        the fewest NumPy operations (a one-row prediction is pure overhead).
        """
        out: np.ndarray = self.forward(x, training=False).copy()
        return out

    # -- helpers --------------------------------------------------------------------------
    def _workspace(self, key: str, rows: int, cols: int, dtype: np.dtype | None = None) -> np.ndarray:
        """A reusable (rows, cols) buffer: a row slice of the largest one allocated so far."""
        dtype = self.dtype if dtype is None else dtype
        buffer = self._workspaces.get(key)
        if buffer is None or buffer.shape[0] < rows or buffer.shape[1] != cols or buffer.dtype != dtype:
            buffer = np.empty((rows, cols), dtype=dtype)
            self._workspaces[key] = buffer
        return buffer if buffer.shape[0] == rows else buffer[:rows]

    def _check_backward_ready(self, grad_output: np.ndarray) -> None:
        if not self._forward_done:
            raise RuntimeError(
                f"{self.describe()}: backward() was called before forward(); run forward(x, training=True) first."
            )
        shape = grad_output.shape
        if len(shape) != 2 or shape[0] != self._batch_rows or shape[1] != self.output_dim:
            raise ValueError(
                f"{self.describe()}: grad_output must have shape "
                f"{(self._batch_rows, self.output_dim)} (the shape of the last forward "
                f"output); got {grad_output.shape}."
            )

    def check_input(self, x: np.ndarray) -> None:
        """Raise the error ``forward`` raises for ``x``: not 2-D of the layer's width, or not its dtype."""
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"{self.describe()}: expected input of shape (n, {self.input_dim}); got {x.shape}.")
        if x.dtype != self.dtype:
            raise TypeError(
                f"{self.describe()}: expected {self.dtype} input, got {x.dtype}; "
                "glassnet never casts silently. Build the network with the input's "
                "dtype or cast the input."
            )

    def _mark_forward(self, x: np.ndarray) -> None:
        self._batch_rows = x.shape[0]
        self._forward_done = True

    def describe(self) -> str:
        return self.name or type(self).__name__

    def config(self) -> dict[str, Any]:
        """The constructor arguments needed to rebuild this layer (for model files)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
