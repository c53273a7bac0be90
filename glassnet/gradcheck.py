"""Check backpropagation against central finite differences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .layers import Dropout, Layer
from .losses import Loss, get_loss
from .network import Sequential
from .parameter import Parameter


@dataclass
class GradcheckResult:
    """Relative errors ``‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖)`` per tensor.

    When both norms are below 1e-7 (a gradient that is truly zero), the absolute difference is
    reported instead, since a ratio of rounding noise means nothing.

    Attributes
    ----------
    errors : dict
        One entry per parameter (by name) and ``"input"`` for dL/dx.
    max_error : float
    """

    errors: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values()) if self.errors else 0.0

    def passed(self, tol: float = 1e-6) -> bool:
        return bool(self.max_error < tol)

    def __str__(self) -> str:
        rows = [f"  {name:<24}{error:.2e}" for name, error in self.errors.items()]
        return "gradient check (relative error per tensor):\n" + "\n".join(rows)


#: Below this gradient norm the error is reported as absolute: a gradient that is truly zero (the
#: intercept of a Dense layer followed by batch norm) has only rounding noise to compare.
ABSOLUTE_BELOW = 1e-7


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    difference = float(np.linalg.norm(analytic - numeric))
    return difference if scale < ABSOLUTE_BELOW else difference / scale


def gradcheck(
    model: Layer | Sequential,
    x: np.ndarray,
    y: np.ndarray | None = None,
    loss: str | Loss | None = None,
    *,
    eps: float = 1e-6,
    training: bool = True,
    check_input: bool = True,
    seed: int = 0,
) -> GradcheckResult:
    """Compare the hand-written backward pass with central finite differences, in float64.

    ``∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε`` for every entry θ of every parameter (and of the input).

    Parameters
    ----------
    model : Layer or Sequential
        Built with ``dtype=float64`` (single precision cannot resolve the differences).
    x : ndarray of shape (n, input_dim)
    y, loss : optional
        The objective is ``loss(model(x), y)``; without them it is ``Σ model(x) ⊙ R`` with a fixed
        random ``R``, which exercises every output.
    training : bool, default=True
        Mode of the forward pass (batch statistics in batch norm, dropout active). Dropout masks
        are drawn once and held fixed for all evaluations.

    Returns
    -------
    GradcheckResult

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> net = gn.mlp([5, 4], 3, activation="tanh", input_dim=2, dtype=np.float64)
    >>> x = np.random.default_rng(0).normal(size=(6, 2))
    >>> gn.gradcheck(net, x, np.array([0, 1, 2, 0, 1, 2]), "cross_entropy").passed()
    True
    """
    x = np.array(x, dtype=np.float64)
    layers, params = _float64_layers(model, x, seed)
    loss_fn = get_loss(loss) if loss is not None else None
    if (loss_fn is None) != (y is None):
        raise ValueError("pass both y and loss, or neither.")
    stop = model.fused_output(loss_fn) if isinstance(model, Sequential) and loss_fn is not None else None
    objective = _Objective(layers[:stop], loss_fn, y, training, seed)
    frozen = objective.freeze_dropout(x)  # every evaluation must see the same network
    try:
        for p in params:
            p.zero_grad()
        _, grad = objective(x)
        for layer in reversed(objective.layers):
            grad = layer.backward(grad)
        analytic = {p.name or f"param_{i}": p.grad.copy() for i, p in enumerate(params)}
        analytic_input = grad.copy()
        result = GradcheckResult()
        for (name, expected), p in zip(analytic.items(), params):
            result.errors[name] = _relative_error(expected, _numeric_gradient(objective, x, p.value, eps))
        if check_input:
            result.errors["input"] = _relative_error(analytic_input, _numeric_gradient(objective, x, x, eps))
    finally:
        for layer in frozen:
            layer.fixed_mask = None
    return result


def _float64_layers(model: Layer | Sequential, x: np.ndarray, seed: int) -> tuple[list[Layer], list[Parameter]]:
    """The layers and parameters of a float64 ``model`` (a Layer is built for ``x`` when needed)."""
    if isinstance(model, Sequential):
        if model.dtype != np.float64:
            raise ValueError(
                f"gradcheck needs a float64 network; got dtype={model.dtype}. Build it with dtype=np.float64."
            )
        model.ensure_built(x)
        return list(model.layers), model.parameters()
    if isinstance(model, Layer):
        if not model.built:
            model.build(x.shape[1], np.dtype(np.float64), np.random.default_rng(seed))
        if model.dtype != np.float64:
            raise ValueError(f"gradcheck needs a float64 layer; got dtype={model.dtype}.")
        return [model], model.parameters()
    raise TypeError(f"model must be a glassnet Layer or Sequential; got {type(model).__name__}.")


class _Objective:
    """``loss(layers(x), y)``, or ``Σ layers(x) ⊙ R`` for a fixed random ``R`` without a loss."""

    def __init__(self, layers: list[Layer], loss: Loss | None, y: Any, training: bool, seed: int) -> None:
        self.layers, self.loss, self.y, self.training, self.seed = layers, loss, y, training, seed
        self.projection: np.ndarray | None = None

    def __call__(self, inputs: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective's value and its gradient with respect to the last layer's output."""
        out = inputs
        for layer in self.layers:
            out = layer.forward(out, training=self.training)
        if self.loss is not None:
            return self.loss.forward(out, self.y), self.loss.backward()
        if self.projection is None:
            self.projection = np.random.default_rng(self.seed).normal(size=out.shape)
        return float(np.sum(out * self.projection)), self.projection

    def freeze_dropout(self, x: np.ndarray) -> list[Dropout]:
        """Hold each active dropout layer's mask fixed; returns the layers to release afterwards."""
        self(x)
        frozen = []
        for layer in self.layers:
            if isinstance(layer, Dropout) and layer.mask is not None:
                layer.fixed_mask = layer.mask.copy()
                frozen.append(layer)
        return frozen


def _numeric_gradient(objective: _Objective, x: np.ndarray, values: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of ``objective(x)`` in every entry of ``values`` (changed in place, restored)."""
    numeric = np.zeros_like(values)
    flat_value, flat_numeric = values.reshape(-1), numeric.reshape(-1)
    for j in range(flat_value.size):
        original = flat_value[j]
        flat_value[j] = original + eps
        plus = objective(x)[0]
        flat_value[j] = original - eps
        minus = objective(x)[0]
        flat_value[j] = original
        flat_numeric[j] = (plus - minus) / (2 * eps)
    return numeric
