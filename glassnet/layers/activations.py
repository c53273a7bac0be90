"""Element-wise non-linearities (and the identity), each with its derivative."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_positive_float
from .base import Layer


class Activation(Layer):
    """Base for element-wise activations: output width equals input width."""


class Linear(Activation):
    """The identity ``f(x) = x``. Stacking Dense layers with it collapses to one affine map."""

    kind = "linear"
    is_linear = True

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        self._mark_forward(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        return grad_output

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x


class ReLU(Activation):
    """Rectified linear unit ``f(x) = max(x, 0)``; f'(x) = 1 where x > 0 else 0."""

    kind = "relu"

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        n = x.shape[0]
        mask = self._workspace("mask", n, self.input_dim, np.dtype(bool))
        out = self._workspace("out", n, self.input_dim)
        compiled = kernels.active()
        if compiled is not None:
            compiled.relu_forward(x, out, mask)
        else:
            np.greater(x, 0, out=mask)
            np.multiply(x, mask, out=out)
        self._mark_forward(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        grad_input = self._workspace("grad_input", grad_output.shape[0], self.input_dim)
        mask = self._workspaces["mask"][: grad_output.shape[0]]
        compiled = kernels.active()
        if compiled is not None:
            compiled.relu_backward(grad_output, mask, grad_input)
        else:
            np.multiply(grad_output, mask, out=grad_input)
        return grad_input

    def infer(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(x, 0)
        return out


class LeakyReLU(Activation):
    """``f(x) = x`` for x > 0 and ``negative_slope · x`` otherwise."""

    kind = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01, name: str | None = None) -> None:
        super().__init__(name)
        self.negative_slope = check_positive_float(negative_slope, "negative_slope", allow_zero=True)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        n = x.shape[0]
        slope = self._workspace("slope", n, self.input_dim)
        out = self._workspace("out", n, self.input_dim)
        # slope = 1 where x > 0, negative_slope elsewhere: f(x) = slope · x and f'(x) = slope.
        np.greater(x, 0, out=slope)
        slope *= 1.0 - self.negative_slope
        slope += self.negative_slope
        np.multiply(x, slope, out=out)
        self._mark_forward(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        grad_input = self._workspace("grad_input", grad_output.shape[0], self.input_dim)
        np.multiply(grad_output, self._workspaces["slope"][: grad_output.shape[0]], out=grad_input)
        return grad_input

    def infer(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, x * self.dtype.type(self.negative_slope))

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class Sigmoid(Activation):
    """Logistic function ``f(x) = 1 / (1 + e⁻ˣ)``; f'(x) = f(x)(1 − f(x)) ≤ 1/4."""

    kind = "sigmoid"

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        out = self._workspace("out", x.shape[0], self.input_dim)
        # 1/(1+exp(-x)) evaluated in place; exp overflow to inf for x < -88 gives the right limit 0.
        with np.errstate(over="ignore"):
            np.negative(x, out=out)
            np.exp(out, out=out)
        out += 1.0
        np.reciprocal(out, out=out)
        self._mark_forward(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        n = grad_output.shape[0]
        y = self._workspaces["out"][:n]
        grad_input = self._workspace("grad_input", n, self.input_dim)
        np.subtract(1.0, y, out=grad_input)
        grad_input *= y
        grad_input *= grad_output
        return grad_input

    def infer(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            out: np.ndarray = np.exp(-x)
        out += 1.0
        np.reciprocal(out, out=out)
        return out


class Tanh(Activation):
    """Hyperbolic tangent; f'(x) = 1 − f(x)²."""

    kind = "tanh"

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        out = self._workspace("out", x.shape[0], self.input_dim)
        np.tanh(x, out=out)
        self._mark_forward(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        n = grad_output.shape[0]
        y = self._workspaces["out"][:n]
        grad_input = self._workspace("grad_input", n, self.input_dim)
        np.multiply(y, y, out=grad_input)
        np.subtract(1.0, grad_input, out=grad_input)
        grad_input *= grad_output
        return grad_input

    def infer(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.tanh(x)
        return out


class Softmax(Activation):
    """Row-wise softmax ``p_k = exp(z_k) / Σ_j exp(z_j)`` (stable: the row max is subtracted).

    As the output of a classifier trained with cross-entropy, the network fuses it with the loss
    (the gradient becomes ``(p − t)/n``); on its own its backward is the full Jacobian product
    ``p ⊙ (g − Σ_k g_k p_k)``.
    """

    kind = "softmax"

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        out = self._workspace("out", x.shape[0], self.input_dim)
        softmax(x, out=out)
        self._mark_forward(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        n = grad_output.shape[0]
        p = self._workspaces["out"][:n]
        grad_input = self._workspace("grad_input", n, self.input_dim)
        np.multiply(grad_output, p, out=grad_input)
        dot = grad_input.sum(axis=1, keepdims=True)
        np.subtract(grad_output, dot, out=grad_input)
        grad_input *= p
        return grad_input

    def infer(self, x: np.ndarray) -> np.ndarray:
        return softmax(x)


def softmax(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Numerically stable row-wise softmax of ``z`` (n, k), optionally into ``out``."""
    if out is None:
        out = np.empty_like(z)
    np.subtract(z, z.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


ACTIVATIONS: dict[str, type[Activation]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "linear": Linear,
    "identity": Linear,
    "softmax": Softmax,
}


def get_activation(name: str | Activation) -> Activation:
    """Return an activation layer from its name (``"relu"``, ``"sigmoid"``, ``"tanh"``, ...)."""
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got activation={name!r}.")
    return ACTIVATIONS[name.lower()]()
