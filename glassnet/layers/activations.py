"""Element-wise non-linearities (and the identity), each with its derivative, and their registry.

An activation class is the one place where glassnet learns about it. Registered with
:func:`register_activation`, it is built by name (``mlp(activation=...)``, the command line's
``--activation``, the estimators' ``activation``), saved and rebuilt from model files, exported to
ONNX, run by the compiled whole-network kernels, and judged by the diagnostics, each from the class
attributes and methods below. A new activation is one class and its test (tests/test_registries.py
shows a toy one going end to end); what an activation does not declare falls back as documented on
each attribute, never silently:

- ``init``: the Dense layer before it starts with this initialization (default Glorot's uniform);
- ``hidden``: offered as a hidden layer's activation (softmax is an output only);
- ``aliases``: other names (scikit-learn's ``"logistic"``, ``"identity"``);
- ``unit_rule`` and ``saturation_bound``: what the diagnostics count for its units (dead, saturated;
  None: neither, and the report's plot of dead and saturated units leaves it out);
- ``compiled``: its code in the compiled whole-network kernels (None: networks with it train and
  predict layer by layer, with the same results);
- ``file_arguments``: the constructor arguments a model file may hold, with their types;
- :meth:`Activation.onnx`: its ONNX nodes (without it, exporting a network that has it is an
  error naming the layer).
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from .. import kernels
from .._validation import check_positive_float
from .base import Layer


class Activation(Layer):
    """Base for element-wise activations: output width equals input width (see the module's text for
    the class attributes the rest of glassnet reads)."""

    #: Other names it is known by.
    aliases: tuple[str, ...] = ()
    #: The initialization of the Dense layer before it (glassnet.init): He for the ReLU family (it keeps
    #: the variance of ReLU outputs), Glorot/Xavier for symmetric saturating or linear ones.
    init: str = "glorot_uniform"
    #: Offered as a hidden layer's activation (the command line's and the estimators' choices).
    hidden: bool = True
    #: What the diagnostics count for its units: "dead" (never positive on the probe) or "saturated"
    #: (``|input|`` above ``saturation_bound`` on most rows); None: neither.
    unit_rule: str | None = None
    saturation_bound: float | None = None
    #: The name of its code in the compiled whole-network kernels (kernels/_networks.py); None: a
    #: network with it runs layer by layer.
    compiled: str | None = None
    #: Constructor arguments a model file may hold for it, with their allowed Python types.
    file_arguments: dict[str, tuple[type, ...]] = {}

    def compiled_argument(self) -> float:
        """The number the compiled kernels take with its code (LeakyReLU: its slope; others: 0)."""
        return 0.0

    def onnx(self, graph: Any, x: str) -> str:
        """Emit this activation of the ONNX value ``x`` into ``graph`` (io/onnx_export.py's ``_Graph``:
        ``graph.emit(op, inputs, name, **attributes)`` and ``graph.constant(name, value)``); return the
        output's name."""
        raise NotImplementedError(
            f"{type(self).__name__} ({self.kind}) has no ONNX export: give the class an onnx(graph, x) method."
        )


#: Activation classes by name and alias (register_activation fills it).
ACTIVATIONS: dict[str, type[Activation]] = {}

A = TypeVar("A", bound=type[Activation])


def register_activation(cls: A) -> A:
    """Register an :class:`Activation` subclass under its ``kind`` and ``aliases`` (a class decorator).

    Registering a second class under a taken name is an error (a name means one thing in files).
    """
    for name in (cls.kind, *cls.aliases):
        if ACTIVATIONS.get(name, cls) is not cls:
            raise ValueError(f"activation name {name!r} is taken by {ACTIVATIONS[name].__name__}.")
        ACTIVATIONS[name] = cls
    return cls


def activation_names(hidden: bool = False, aliases: bool = False) -> list[str]:
    """The registered activations' names (only those offered as hidden ones; with their aliases).

    >>> activation_names(hidden=True)
    ['gelu', 'leaky_relu', 'linear', 'relu', 'sigmoid', 'tanh']
    """
    return sorted(
        name for name, cls in ACTIVATIONS.items() if (aliases or name == cls.kind) and (cls.hidden or not hidden)
    )


@register_activation
class Linear(Activation):
    """The identity ``f(x) = x``. Stacking Dense layers with it collapses to one affine map."""

    kind = "linear"
    aliases = ("identity",)
    is_linear = True
    compiled = "IDENTITY"

    def onnx(self, graph: Any, x: str) -> str:
        return x  # the identity: no node

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        self._mark_forward(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        return grad_output

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x


@register_activation
class ReLU(Activation):
    """Rectified linear unit ``f(x) = max(x, 0)``; f'(x) = 1 where x > 0 else 0."""

    kind = "relu"
    init = "he_normal"
    unit_rule = "dead"
    compiled = "RELU"

    def onnx(self, graph: Any, x: str) -> str:
        return str(graph.emit("Relu", [x], self.name))

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


@register_activation
class LeakyReLU(Activation):
    """``f(x) = x`` for x > 0 and ``negative_slope · x`` otherwise."""

    kind = "leaky_relu"
    init = "he_normal"
    unit_rule = "dead"
    compiled = "LEAKY_RELU"
    file_arguments = {"negative_slope": (float, int)}

    def compiled_argument(self) -> float:
        return float(self.negative_slope)

    def onnx(self, graph: Any, x: str) -> str:
        return str(graph.emit("LeakyRelu", [x], self.name, alpha=float(self.negative_slope)))

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


@register_activation
class Sigmoid(Activation):
    """Logistic function ``f(x) = 1 / (1 + e⁻ˣ)``; f'(x) = f(x)(1 − f(x)) ≤ 1/4."""

    kind = "sigmoid"
    aliases = ("logistic",)
    unit_rule = "saturated"
    #: σ'(4) ≈ 0.018: beyond it the gradient is below 7 % of its maximum.
    saturation_bound = 4.0
    compiled = "SIGMOID"

    def onnx(self, graph: Any, x: str) -> str:
        return str(graph.emit("Sigmoid", [x], self.name))

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


@register_activation
class Tanh(Activation):
    """Hyperbolic tangent; f'(x) = 1 − f(x)²."""

    kind = "tanh"
    unit_rule = "saturated"
    #: 1 − tanh(2)² ≈ 0.07: beyond it the gradient is below 7 % of its maximum.
    saturation_bound = 2.0
    compiled = "TANH"

    def onnx(self, graph: Any, x: str) -> str:
        return str(graph.emit("Tanh", [x], self.name))

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


@register_activation
class Softmax(Activation):
    """Row-wise softmax ``p_k = exp(z_k) / Σ_j exp(z_j)`` (stable: the row max is subtracted).

    As the output of a classifier trained with cross-entropy, the network fuses it with the loss
    (the gradient becomes ``(p − t)/n``); on its own its backward is the full Jacobian product
    ``p ⊙ (g − Σ_k g_k p_k)``.
    """

    kind = "softmax"
    hidden = False
    compiled = "SOFTMAX"

    def onnx(self, graph: Any, x: str) -> str:
        return str(graph.emit("Softmax", [x], self.name, axis=1))

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


def activation_class(name: str) -> type[Activation]:
    """The registered activation class named ``name`` (or one of its aliases), any case."""
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}; got activation={name!r}.")
    return ACTIVATIONS[name.lower()]


def get_activation(name: str | Activation) -> Activation:
    """Return an activation layer from its name (``"relu"``, ``"sigmoid"``, ``"tanh"``, ...)."""
    if isinstance(name, Activation):
        return name
    return activation_class(name)()
