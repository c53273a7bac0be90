"""Vanishing- and exploding-gradient verdicts with documented thresholds and plain advice.

Thresholds (per epoch, from ``history.grad_norms``, the mean ‖dL/dW‖ of each Dense layer):

- **vanishing**: the first hidden layer's gradient norm is below ``VANISHING_RATIO`` (1e-2) times
  the last hidden layer's. The layers affected are those whose norm is below ``VANISHING_RATIO``
  times the largest hidden layer's norm.
- **exploding**: the first-to-last ratio is above ``EXPLODING_RATIO`` (1e2), or a layer's update
  between two probes is larger than its weights (update-to-weight ratio > ``EXPLODING_UPDATE``,
  1.0) over up to ``UPDATE_STEPS`` (100) optimizer steps, a bound that grows as √(steps / 100) for
  longer intervals. A steady optimizer's updates add up like a random walk: Adam moves each weight
  by about its learning rate a step, which over an epoch of 10⁵ steps (10⁷ rows) moved a layer by 8×
  its weights in a healthy run.

"Since when" is the first epoch of the final unbroken run of epochs meeting the condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

VANISHING_RATIO = 1e-2
EXPLODING_RATIO = 1e2
EXPLODING_UPDATE = 1.0
UPDATE_STEPS = 100


@dataclass
class GradientVerdict:
    """The detector's conclusion.

    Attributes
    ----------
    vanishing, exploding : bool
    since_epoch : int or None
    affected_layers : list of str
    first_to_last_ratio : list of float
        Per epoch: first hidden layer's gradient norm / last hidden layer's.
    advice : list of str
    """

    vanishing: bool = False
    exploding: bool = False
    since_epoch: int | None = None
    affected_layers: list[str] = field(default_factory=list)
    first_to_last_ratio: list[float] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        """Jupyter's display: :meth:`html`."""
        return self.html()

    def html(self) -> str:
        """The verdict as HTML, coloured by what it says, with its advice."""
        import html

        trouble = self.vanishing or self.exploding
        colour = "#a15c00" if trouble else "#1a7f37"
        advice = "".join(f"<li>{html.escape(a)}</li>" for a in self.advice) if trouble else ""
        return f"<div><p style='color:{colour}'>{html.escape(self.summary())}</p><ul>{advice}</ul></div>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())

    def summary(self) -> str:
        if not self.first_to_last_ratio:
            return "gradient flow: not measured (needs two or more Dense layers)."
        ratio = self.first_to_last_ratio[-1]
        if self.vanishing:
            return (
                f"vanishing gradients since epoch {self.since_epoch}: the first hidden layer's gradient is "
                f"{ratio:.2g}× the last hidden layer's; affected layers: {', '.join(self.affected_layers)}. "
                "Try: " + "; ".join(self.advice) + "."
            )
        if self.exploding:
            return (
                f"exploding gradients since epoch {self.since_epoch} (first-to-last ratio {ratio:.3g}); "
                f"affected layers: {', '.join(self.affected_layers)}. Try: " + "; ".join(self.advice) + "."
            )
        return f"gradient flow is healthy: first-to-last hidden-layer gradient ratio {ratio:.3g}."


def _since(flags: list[bool], epochs: list[int]) -> int | None:
    if not flags or not flags[-1]:
        return None
    start = len(flags) - 1
    while start > 0 and flags[start - 1]:
        start -= 1
    return epochs[start]


def gradient_verdict(history, network=None) -> GradientVerdict:
    """Read the gradient norms (and update ratios) of a History and diagnose the gradient flow."""
    norms = history.grad_norms
    names = list(norms)
    hidden = names[:-1] if len(names) > 2 else names  # the output layer is not a hidden layer
    verdict = GradientVerdict()
    if len(hidden) < 2:
        return verdict
    first, last = np.asarray(norms[hidden[0]]), np.asarray(norms[hidden[-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(last > 0, first / last, np.inf)
    verdict.first_to_last_ratio = [float(r) for r in ratio]
    epochs = list(history.epochs)
    vanishing = [bool(r < VANISHING_RATIO) for r in ratio]
    records = getattr(history, "diagnostics", None) or {}
    updates = records.get("update_ratio", {})
    bounds = _update_bounds(records.get("step") or [], len(epochs))
    big_update = [False] * len(epochs)
    for values in updates.values():
        for i, value in enumerate(values[-len(epochs) :]):  # the last probe of each epoch (or all)
            if value > bounds[i]:
                big_update[i] = True
    exploding = [bool(r > EXPLODING_RATIO) or b for r, b in zip(ratio, big_update)]
    verdict.vanishing = vanishing[-1]
    verdict.exploding = exploding[-1] and not verdict.vanishing
    if verdict.vanishing:
        verdict.since_epoch = _since(vanishing, epochs)
        largest = max(norms[name][-1] for name in hidden)
        verdict.affected_layers = [name for name in hidden if norms[name][-1] < VANISHING_RATIO * largest]
        verdict.advice = _advice(network, exploding=False)
    elif verdict.exploding:
        verdict.since_epoch = _since(exploding, epochs)
        smallest = min(norms[name][-1] for name in hidden)
        verdict.affected_layers = [name for name in hidden if norms[name][-1] > EXPLODING_RATIO * smallest] or [
            name for name, values in updates.items() if values and values[-1] > EXPLODING_UPDATE
        ]
        verdict.advice = _advice(network, exploding=True)
    return verdict


def _update_bounds(steps: list, count: int) -> list[float]:
    """The largest healthy update-to-weight ratio of each of the last ``count`` probe intervals."""
    intervals = np.diff(np.asarray(steps, dtype=float))[-count:] if len(steps) > 1 else np.zeros(0)
    bounds = [EXPLODING_UPDATE * max(1.0, float(np.sqrt(n / UPDATE_STEPS))) for n in intervals]
    return [EXPLODING_UPDATE] * (count - len(bounds)) + bounds  # older files without steps: the flat bound


def _advice(network, exploding: bool) -> list[str]:
    from ..layers import BatchNorm, Dense, Sigmoid, Tanh

    if network is None:
        return ["ReLU instead of sigmoid/tanh", "He or Xavier initialisation", "batch normalization"]
    advice = []
    if exploding:
        advice.append("a lower learning rate")
    if any(isinstance(layer, (Sigmoid, Tanh)) for layer in network.layers[:-1]) and not exploding:
        advice.append(
            "ReLU instead of sigmoid/tanh in the hidden layers (their derivative is at most 1/4 "
            "resp. 1 and near 0 when saturated, and it multiplies once per layer)"
        )
    if any(isinstance(layer, Dense) and layer.resolved_init in ("normal", "uniform") for layer in network.layers):
        advice.append("He (ReLU) or Xavier/Glorot (sigmoid, tanh) initialisation instead of a fixed small scale")
    if not any(isinstance(layer, BatchNorm) for layer in network.layers):
        advice.append("batch normalization before each activation")
    if not advice:
        advice.append("fewer layers, or a smaller learning rate" if exploding else "fewer or wider layers")
    return advice
