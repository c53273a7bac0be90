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


#: The metrics ``--metric`` may name for each task (the classification ones: app/scoring.py).
REGRESSION_METRICS = ("r2", "rmse", "mae")
MULTILABEL_METRICS = ("subset_accuracy", "label_accuracy")


def headline_metric(task: str, metric: str | None = None) -> str:
    """The one metric a task is judged by: ``metric`` when given, else ROC AUC (binary), accuracy
    (multiclass), subset accuracy (multilabel) or R² (regression)."""
    if metric is not None:
        return metric
    if task == "binary":
        return "roc_auc"
    if task == "multiclass":
        return "accuracy"
    return "subset_accuracy" if task == "multilabel" else "r2"


def metric_choices(task: str) -> tuple[str, ...]:
    """The metrics a task can be judged by (``--metric``)."""
    from .scoring import CLASSIFICATION_METRICS

    if task in CLASSIFICATION:
        return tuple(name for name, (_, tasks, _) in CLASSIFICATION_METRICS.items() if task in tasks)
    return MULTILABEL_METRICS if task == "multilabel" else REGRESSION_METRICS


def check_metric(task: str, metric: str | None) -> None:
    """A clear error when ``metric`` cannot judge ``task``."""
    if metric is not None and metric not in metric_choices(task):
        from ..tabular import DataError

        raise DataError(
            f"--metric {metric} does not apply to a {task} task; choose one of {', '.join(metric_choices(task))}."
        )


def why_headline(task: str, metric: str | None) -> str:
    """Why the headline metric is the one it is, in words."""
    from .scoring import BINARY_HEADLINE_REASON

    if metric is not None:
        return f"{metric} (--metric)"
    if task == "binary":
        return BINARY_HEADLINE_REASON
    return f"{headline_metric(task)}, the default for a {task} task; --metric chooses another"


def headline(task: str, metrics: dict, metric: str | None = None) -> tuple[str, float]:
    """The headline metric's name and value in ``metrics`` (NaN where the rows leave it undefined)."""
    name = headline_metric(task, metric)
    return name, metrics.get(name, float("nan"))


def labels_to_json(values) -> list:
    """Class labels as plain JSON values."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def targets_for_network(task: str, arrays: dict, y: np.ndarray) -> np.ndarray:
    """Targets as the network learns them: standardized for regression, unchanged otherwise."""
    if task == "regression":
        y2 = y.reshape(len(y), -1)
        return ((y2 - arrays["target_mean"]) / arrays["target_scale"]).astype(np.float32)
    return y


def predict_outputs(network, task: str, x: np.ndarray, arrays: dict, decision: dict | None = None) -> np.ndarray:
    """Probabilities (classification; calibrated when ``decision`` holds a calibration) or targets
    in original units (regression)."""
    outputs = network.predict(x).astype(np.float64)
    if task == "regression":
        outputs = outputs * arrays["target_scale"] + arrays["target_mean"]
    elif decision and decision.get("calibration"):
        from .calibration import calibrate

        outputs = calibrate(outputs, decision["calibration"])
    return outputs


def predicted_labels(task: str, outputs: np.ndarray, decision: dict | None = None) -> np.ndarray:
    """Class indices from probabilities: the arg-max, or a binary task's threshold on its positive class."""
    from .scoring import decide

    return decide(outputs, *_decision_parts(decision))


def _decision_parts(decision: dict | None) -> tuple[int | None, float | None]:
    if not decision:
        return None, None
    return decision.get("positive"), decision.get("threshold")


def metrics_of_outputs(
    task: str, outputs: np.ndarray, y, classes: list | None = None, decision: dict | None = None
) -> dict:
    """The classification metrics of app/scoring.py (+ the confusion matrix), or RMSE, MAE, R².

    ``decision`` (the model's, :func:`glassnet.app.decision.decision_of`) gives a binary task's
    positive class and threshold."""
    from ..training.metrics import regression_metrics

    if task in ("binary", "multiclass"):
        from .scoring import classification_metrics, decide

        positive, threshold = _decision_parts(decision)
        predicted = decide(outputs, positive, threshold)
        matrix = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(matrix, (y, predicted), 1)
        scores = classification_metrics(outputs, y, len(classes), positive, threshold)
        return {**scores, "confusion_matrix": matrix.tolist()}
    if task == "multilabel":
        predicted = outputs > 0.5
        truth = y > 0.5
        return {
            "subset_accuracy": float(np.mean(np.all(predicted == truth, axis=1))),
            "label_accuracy": float(np.mean(predicted == truth)),
        }
    return regression_metrics(y.reshape(outputs.shape), outputs)
