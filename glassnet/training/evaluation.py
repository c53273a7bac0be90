"""Loss and task metrics of a network on prepared rows (the loop's validation, the job's test)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..layers.activations import softmax
from ..losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, stable_sigmoid
from ..network import Sequential
from .metrics import Score, accuracy, balanced_accuracy, metric_score, regression_metrics


def evaluate(
    network: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    loss: Loss,
    sample_weight: np.ndarray | None = None,
    metrics: Mapping[str, Score] | Sequence[str] = (),
) -> dict[str, float]:
    """Loss and task metrics of ``network`` (inference mode) on prepared ``x``, ``y``.

    ``metrics`` names registered metrics with a score function (:func:`.metrics.register_metric`),
    or maps names to score functions, to compute as well (on probabilities for a classification loss).
    """
    eval_loss = type(loss)()
    stop = network.fused_output(loss)
    outputs = network.infer(x, stop)
    logs = {"loss": eval_loss.forward(outputs, y, sample_weight)}
    if isinstance(loss, SoftmaxCrossEntropy):
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        predicted = outputs.argmax(axis=1)
        logs["accuracy"] = accuracy(labels, predicted)
        logs["balanced_accuracy"] = balanced_accuracy(labels, predicted)
        logs["log_loss"] = logs["loss"]
    elif isinstance(loss, BinaryCrossEntropy):
        predicted = (outputs > 0) if stop is not None else (outputs > 0.5)
        truth = y > 0.5
        logs["accuracy"] = float(np.mean(np.all(predicted == truth, axis=1)))
        if truth.shape[1] == 1:
            logs["balanced_accuracy"] = balanced_accuracy(truth.ravel(), predicted.ravel())
        logs["log_loss"] = logs["loss"]
    else:
        logs.update(regression_metrics(y, outputs))
    if metrics:
        truth, probabilities = _scored(outputs, y, loss, stop is not None)
        scores = metrics if isinstance(metrics, Mapping) else {name: metric_score(name) for name in metrics}
        for name, score in scores.items():
            logs[name] = float(score(truth, probabilities))
    return logs


def _scored(outputs: np.ndarray, y: np.ndarray, loss: Loss, fused: bool) -> tuple[np.ndarray, np.ndarray]:
    """(truth, outputs) as score functions take them: class labels and probabilities for a
    classification loss (the fused output's logits turned into probabilities)."""
    if isinstance(loss, SoftmaxCrossEntropy):
        if fused:
            outputs = softmax(outputs)
        return (y if y.ndim == 1 else y.argmax(axis=1)), outputs
    if isinstance(loss, BinaryCrossEntropy) and fused:
        return y, stable_sigmoid(outputs)
    return y, outputs
