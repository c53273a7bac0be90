"""Metrics by task, and which direction of each is better: the metrics' registry.

A metric's name and direction are registered once (:func:`register_metric`); early stopping, the
plateau schedule and ``grow`` read the direction from here when told to monitor it. A metric
registered with a ``score`` function can also be computed on the validation rows every epoch
(``Trainer(metrics=[name])``): the core calls the function and never imports what it uses (the
application registers ROC AUC and its kin from scikit-learn, ``glassnet.app.scoring``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: ``score(truth, outputs) -> float``: truth as class labels (a vector) for a softmax output, else
#: as the targets; outputs as probabilities (classification) or predicted values.
Score = Callable[[np.ndarray, np.ndarray], float]

#: Whether a larger ("max") or smaller ("min") value is better, declared, not guessed.
METRIC_MODES = {
    "loss": "min",
    "log_loss": "min",
    "rmse": "min",
    "mae": "min",
    "mse": "min",
    "accuracy": "max",
    "balanced_accuracy": "max",
    "r2": "max",
    # the classification metrics glassnet.app.scoring computes (and registers score functions for)
    "brier": "min",
    "roc_auc": "max",
    "pr_auc": "max",
    "f1": "max",
    "precision": "max",
    "recall": "max",
    "roc_auc_macro": "max",
    "roc_auc_weighted": "max",
    "f1_macro": "max",
}


#: The registered metrics that can be computed on demand: name -> score function.
METRIC_SCORES: dict[str, Score] = {}


def register_metric(name: str, mode: str, score: Score | None = None) -> None:
    """Declare that a logged quantity ``name`` is better larger (``"max"``) or smaller (``"min"``).

    With ``score`` (``score(truth, outputs) -> float``), ``Trainer(metrics=[name])`` computes it on
    the validation rows at every epoch end, logged as ``val_<name>``.
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max'; got mode={mode!r}.")
    if METRIC_MODES.get(name, mode) != mode:
        raise ValueError(f"metric {name!r} is registered as {METRIC_MODES[name]!r} already.")
    METRIC_MODES[name] = mode
    if score is not None:
        METRIC_SCORES[name] = score


def metric_score(name: str) -> Score:
    """The score function registered for ``name``; a clear error naming the known ones otherwise."""
    if name not in METRIC_SCORES:
        raise ValueError(
            f"no score function is registered for metric {name!r}; known: {sorted(METRIC_SCORES) or 'none'} "
            "(register_metric(name, mode, score) adds one; importing glassnet.app.scoring adds ROC AUC and its kin)."
        )
    return METRIC_SCORES[name]


def metric_mode(monitor: str) -> str:
    """``"min"`` or ``"max"`` for a logged key such as ``"val_loss"`` or ``"accuracy"``."""
    key = monitor[4:] if monitor.startswith("val_") else monitor
    if key not in METRIC_MODES:
        raise ValueError(
            f"no known direction for monitor={monitor!r}; pass mode='min' or mode='max'. "
            f"Known: {sorted(METRIC_MODES)} (with or without 'val_')."
        )
    return METRIC_MODES[key]


def accuracy(y_true: np.ndarray, y_pred_labels: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred_labels))


def balanced_accuracy(y_true: np.ndarray, y_pred_labels: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true``."""
    classes = np.unique(y_true)
    recalls = [np.mean(y_pred_labels[y_true == c] == c) for c in classes]
    return float(np.mean(recalls))


def pooled_r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """R² over all outputs together, ``1 − SS_res / SS_tot`` (SS_tot floored at 1e-12): the score
    permutation importance compares, defined even for a constant target."""
    y_true = y_true.reshape(y_pred.shape)
    return float(1 - np.sum((y_true - y_pred) ** 2) / max(np.sum((y_true - y_true.mean(0)) ** 2), 1e-12))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² (R² averaged uniformly over outputs, as scikit-learn does)."""
    y_true = y_true.reshape(y_pred.shape).astype(np.float64)
    residual = y_pred.astype(np.float64) - y_true
    ss_res = (residual**2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(np.mean(r2)),
    }
