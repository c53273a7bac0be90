"""Loss and task metrics of a network on prepared rows (the loop's validation, the job's test)."""

from __future__ import annotations

import numpy as np

from ..losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from ..network import Sequential
from .metrics import accuracy, balanced_accuracy, regression_metrics


def evaluate(
    network: Sequential, x: np.ndarray, y: np.ndarray, loss: Loss, sample_weight: np.ndarray | None = None
) -> dict[str, float]:
    """Loss and task metrics of ``network`` (inference mode) on prepared ``x``, ``y``."""
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
    return logs
