"""Fully connected layer: every unit computes weights · input + intercept."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_positive_int
from ..init import INITIALIZERS, initialize
from ..parameter import Parameter
from .base import Layer


class Dense(Layer):
    """A layer of ``units`` neurons, ``y = x @ W + b``.

    Parameters
    ----------
    units : int
        Number of units (outputs).
    input_dim : int, optional
        Width of the input; inferred on the first call when omitted.
    use_bias : bool, default=True
        Whether the layer has an intercept ``b``. A Dense followed by :class:`BatchNorm` may drop
        it: the batch-norm shift β replaces it.
    init : str, optional
        Weight initialisation (see :mod:`glassnet.init`). By default chosen from the activation
        that follows: He for the ReLU family, Glorot/Xavier for sigmoid, tanh and linear.
    init_scale : float, optional
        Scale for the plain ``"normal"``/``"uniform"`` schemes.

    Attributes
    ----------
    W : Parameter of shape (input_dim, units)
    b : Parameter of shape (units,) or None

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> layer = gn.Dense(3, input_dim=2)
    >>> layer.build(2, np.float32, np.random.default_rng(0))
    >>> layer.forward(np.ones((4, 2), np.float32)).shape
    (4, 3)
    """

    kind = "dense"
    is_linear = True

    writes_fresh_gradients = True  # backward writes W.grad and b.grad when they are fresh
    W: Parameter  # created by build

    def __init__(
        self,
        units: int,
        input_dim: int | None = None,
        *,
        use_bias: bool = True,
        init: str | None = None,
        init_scale: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.units = check_positive_int(units, "units")
        if input_dim is not None:
            input_dim = check_positive_int(input_dim, "input_dim")
        if init is not None and init not in INITIALIZERS:
            raise ValueError(f"init must be one of {sorted(INITIALIZERS)}; got init={init!r}.")
        self.declared_input_dim = input_dim
        self.use_bias = bool(use_bias)
        self.init = init
        self.init_scale = init_scale
        #: Scheme actually used: ``init``, or chosen by the network from the following activation
        #: when it builds (Glorot when the layer is built on its own). None until built.
        self.resolved_init: str | None = init
        self.b: Parameter | None = None

    def build(self, input_dim: int, dtype: np.dtype, rng: np.random.Generator) -> None:
        if self.declared_input_dim is not None and self.declared_input_dim != input_dim:
            raise ValueError(
                f"{self.describe()}: declared input_dim={self.declared_input_dim} but "
                f"receives inputs of width {input_dim}."
            )
        super().build(input_dim, dtype, rng)
        self.output_dim = self.units
        prefix = self.name or "dense"
        if self.resolved_init is None:
            self.resolved_init = "glorot_uniform"
        weights = initialize((input_dim, self.units), self.resolved_init, rng, self.dtype, self.init_scale)
        self.W = Parameter(weights, f"{prefix}.W", regularize=True)
        self.b = (
            Parameter(np.zeros(self.units, dtype=self.dtype), f"{prefix}.b", regularize=False)
            if self.use_bias
            else None
        )

    def parameters(self) -> list[Parameter]:
        if not self.built:
            return []
        return [self.W] if self.b is None else [self.W, self.b]

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        out = self._workspace("out", x.shape[0], self.units)
        np.matmul(x, self.W.value, out=out)
        if self.b is not None:
            out += self.b.value
        self._input = x
        self._mark_forward(x)
        return out

    def infer(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = x @ self.W.value
        if self.b is not None:
            out += self.b.value
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        self._check_backward_ready(grad_output)
        x = self._input
        # dL/dW = xᵀ · dL/dy ; dL/db = Σ_batch dL/dy ; dL/dx = dL/dy · Wᵀ (transposed views, no copies)
        if self.W.fresh:
            np.matmul(x.T, grad_output, out=self.W.grad)
            self.W.fresh = False
        else:
            self.W.grad += x.T @ grad_output
        if self.b is not None:
            if self.b.fresh:
                compiled = kernels.active()
                if compiled is not None:
                    compiled.column_sums(grad_output, self.b.grad)
                else:
                    np.add.reduce(grad_output, axis=0, out=self.b.grad)
                self.b.fresh = False
            else:
                self.b.grad += grad_output.sum(axis=0)
        if not self.needs_input_grad:
            return None
        grad_input = self._workspace("grad_input", grad_output.shape[0], self.input_dim)
        np.matmul(grad_output, self.W.value.T, out=grad_input)
        return grad_input

    def config(self) -> dict[str, Any]:
        return {"units": self.units, "use_bias": self.use_bias, "init": self.init, "init_scale": self.init_scale}
