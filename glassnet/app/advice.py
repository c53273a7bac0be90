"""Warnings about the data and the result, each with the remedy to try: what a careful analyst would
say after looking at the run (a class the model never gets right, a heavy-tailed target, a guess
about the task)."""

from __future__ import annotations

import numpy as np

from .options import JobOptions
from .prepare import Prepared

#: Below this R², a heavy-tailed regression target is named as the likely reason.
LOW_R2 = 0.1


def advice(prepared: Prepared, options: JobOptions, test_metrics: dict) -> list[str]:
    """Sentences for the end of ``glassnet train`` and the report's summary (empty: nothing to say)."""
    notes = []
    notes += _task_guess(prepared, options)
    notes += _classes_never_right(prepared, test_metrics, options)
    notes += _heavy_tailed_target(prepared, test_metrics)
    return notes


def _task_guess(prepared: Prepared, options: JobOptions) -> list[str]:
    classes = prepared.classes or []
    numbers = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes)
    if options.task is not None or prepared.task not in ("binary", "multiclass") or len(classes) <= 2 or not numbers:
        return []
    return [
        f"the target holds {len(classes)} distinct whole numbers ({classes[0]} to {classes[-1]}) and was taken "
        "as classes; if it is a quantity or a count, pass --task regression."
    ]


def _classes_never_right(prepared: Prepared, metrics: dict, options: JobOptions | None = None) -> list[str]:
    matrix = np.asarray(metrics.get("confusion_matrix") or [])
    if matrix.ndim != 2 or not len(matrix):
        return []
    support, right = matrix.sum(axis=1), np.diag(matrix)
    never = [i for i in range(len(matrix)) if support[i] > 0 and right[i] == 0]
    if not never:
        return []
    train = np.bincount(np.asarray(prepared.y_train, dtype=np.int64), minlength=len(matrix))
    share = train / max(1, train.sum())
    named = ", ".join(
        f"{prepared.classes[i]!r} (0 of {support[i]} test rows; {share[i]:.1%} of the training rows)" for i in never
    )
    balanced, accuracy = metrics.get("balanced_accuracy", float("nan")), metrics.get("accuracy", float("nan"))
    predicted = matrix.sum(axis=0)
    unseen = [str(prepared.classes[i]) for i in never if predicted[i] == 0]
    levers = []
    if options is None or options.class_weight is None:
        levers.append("--class-weight balanced (each class weighs as much in training)")
    if prepared.task == "binary" and (options is None or options.threshold is None):
        levers.append("--threshold auto (a decision threshold chosen for F1 or --metric)")
    levers.append("more rows of the class")
    return [
        f"class(es) never predicted right: {named}"
        + (f"; never predicted at all: {', '.join(unseen)}" if unseen else "")
        + f"; balanced accuracy {balanced:.3f} against accuracy {accuracy:.3f}. A rare class is outvoted by the "
        f"others: try {'; '.join(levers)}; and judge the model by balanced accuracy or ROC AUC, not accuracy."
    ]


def _heavy_tailed_target(prepared: Prepared, metrics: dict) -> list[str]:
    import pandas as pd

    from ..columns import heavy_tailed

    if prepared.task != "regression" or metrics.get("r2", 1.0) >= LOW_R2:
        return []
    y = np.concatenate([np.asarray(prepared.y_train), np.asarray(prepared.y_val)]).reshape(-1)
    values = pd.Series(y)
    if not heavy_tailed(values):
        return []
    return [
        f"R² is {metrics['r2']:.3f} and the target is heavy-tailed (skewness {values.skew():.1f}, largest "
        f"{values.max():.4g} against a median of {values.median():.4g}): a few large values dominate the squared "
        "error. Try a log target (log(1 + y)), or look at the largest rows."
    ]
