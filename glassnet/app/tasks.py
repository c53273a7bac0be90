"""The task vocabulary of the application: one home for what a task means.

A task is ``"binary"``, ``"multiclass"``, ``"multilabel"`` or ``"regression"``. This module says
which output layer each one gets, which metric judges it, how its targets are scaled for the network
and back, and which metrics a test set gets.
"""

from __future__ import annotations

import numpy as np

#: Tasks whose outputs are class probabilities over ``classes``.
CLASSIFICATION = ("binary", "multiclass")
#: Tasks that have class labels (``classes`` in the model file).
LABELLED = ("binary", "multiclass", "multilabel")


def output_spec(task: str, n_outputs: int) -> tuple[int, str]:
    """The network's output width and activation for ``task``."""
    if task in ("binary", "multiclass"):
        return n_outputs, "softmax"
    if task == "multilabel":
        return n_outputs, "sigmoid"
    return n_outputs, "linear"


def headline_metric(task: str) -> str:
    """The one metric a task is judged by: accuracy, subset accuracy (multilabel) or R²."""
    if task in ("binary", "multiclass"):
        return "accuracy"
    return "subset_accuracy" if task == "multilabel" else "r2"


def headline(task: str, metrics: dict) -> tuple[str, float]:
    """The headline metric's name and value in ``metrics``."""
    name = headline_metric(task)
    return name, metrics[name]


def labels_to_json(values) -> list:
    """Class labels as plain JSON values."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def targets_for_network(task: str, arrays: dict, y: np.ndarray) -> np.ndarray:
    """Targets as the network learns them: standardized for regression, unchanged otherwise."""
    if task == "regression":
        y2 = y.reshape(len(y), -1)
        return ((y2 - arrays["target_mean"]) / arrays["target_scale"]).astype(np.float32)
    return y


def predict_outputs(network, task: str, x: np.ndarray, arrays: dict) -> np.ndarray:
    """Probabilities (classification) or targets in original units (regression)."""
    outputs = network.predict(x).astype(np.float64)
    if task == "regression":
        outputs = outputs * arrays["target_scale"] + arrays["target_mean"]
    return outputs


def evaluate_network(network, task: str, x, y, arrays: dict | None = None, classes: list | None = None) -> dict:
    """Test metrics of ``network`` (a Sequential or an Ensemble) on prepared rows ``x``."""
    return metrics_of_outputs(task, predict_outputs(network, task, x, arrays or {}), y, classes)


def metrics_of_outputs(task: str, outputs: np.ndarray, y, classes: list | None = None) -> dict:
    """Accuracy, balanced accuracy, log loss (+ confusion matrix) or RMSE, MAE, R² of predictions."""
    from ..training.metrics import accuracy, balanced_accuracy, regression_metrics

    if task in ("binary", "multiclass"):
        predicted = outputs.argmax(axis=1)
        probability = np.clip(outputs[np.arange(len(y)), y], 1e-15, 1.0)
        matrix = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(matrix, (y, predicted), 1)
        return {
            "accuracy": accuracy(y, predicted),
            "balanced_accuracy": balanced_accuracy(y, predicted),
            "log_loss": float(-np.mean(np.log(probability))),
            "confusion_matrix": matrix.tolist(),
        }
    if task == "multilabel":
        predicted = outputs > 0.5
        truth = y > 0.5
        return {
            "subset_accuracy": float(np.mean(np.all(predicted == truth, axis=1))),
            "label_accuracy": float(np.mean(predicted == truth)),
        }
    return regression_metrics(y.reshape(outputs.shape), outputs)
