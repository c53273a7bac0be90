"""How sure the headline estimate is: a 95 % interval around the test (or out-of-fold) score.

Accuracy is a proportion of rows, so its interval is Wilson's score interval, exact enough at any
size. R² and subset accuracy have no closed form here: their interval is a seeded percentile
bootstrap over the rows (1,000 resamples). The other classification metrics (ROC AUC, Brier...) get
theirs from app/scoring.py.
"""

from __future__ import annotations

import numpy as np

from .scoring import Z95, wilson

__all__ = ["Z95", "best_baseline", "headline_interval", "inside", "leaders", "smaller_is_better", "wilson"]

BOOTSTRAP_RESAMPLES = 1000


def headline_interval(
    task: str, outputs: np.ndarray, y: np.ndarray, seed: int = 0, metric: str | None = None,
    decision: dict | None = None,
) -> dict | None:  # fmt: skip
    """``{"low", "high", "method", "rows"}`` for the task's headline metric, or None without rows.

    A classification headline other than accuracy gets its interval from app/scoring.metric_intervals
    (the job takes it from there); here, accuracy's (Wilson's) only."""
    from ..training.metrics import regression_metrics
    from .tasks import headline_metric

    y = np.asarray(y)
    n = len(y)
    if n == 0:
        return None
    name = headline_metric(task, metric)
    if task in ("binary", "multiclass"):
        if name != "accuracy":
            return None
        from .scoring import decide

        decision = decision or {}
        labels = decide(outputs, decision.get("positive"), decision.get("threshold"))
        low, high = wilson(int(np.sum(labels == y)), n)
        return {"low": low, "high": high, "method": "Wilson score interval", "rows": n}
    if name in ("rmse", "mae", "label_accuracy"):
        return None  # no interval for these headlines yet (R² and subset accuracy have one)
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(0, n, n)
        if task == "multilabel":
            scores.append(float(np.mean(np.all((outputs[rows] > 0.5) == (y[rows] > 0.5), axis=1))))
        else:
            scores.append(regression_metrics(y[rows].reshape(-1, outputs.shape[1]), outputs[rows])["r2"])
    low, high = np.percentile(scores, [2.5, 97.5])
    return {"low": float(low), "high": float(high), "method": "bootstrap over rows (1,000 resamples)", "rows": n}


def best_baseline(meta: dict, metric: str) -> tuple[str, float] | None:
    """The best classical baseline of a run's account on ``metric`` (name, score), or None."""
    scores = {n: r[metric] for n, r in (meta.get("baselines") or {}).items() if r.get(metric) is not None}
    if not scores:
        return None
    sign = _sign(metric)
    return max(scores.items(), key=lambda item: sign * item[1])


def leaders(scores: list[tuple[str, float | None]], metric: str | None = None) -> list[str]:
    """The names sharing the best score (several when they tie exactly), in the given order: the
    highest, or the lowest for a metric where smaller is better (log loss, RMSE)."""
    known = [(name, value) for name, value in scores if value is not None]
    if not known:
        return []
    sign = _sign(metric)
    top = max(sign * value for _, value in known)
    return [name for name, value in known if abs(sign * value - top) <= 1e-12]


def _sign(metric: str | None) -> int:
    return -1 if smaller_is_better(metric) else 1


def smaller_is_better(metric: str | None) -> bool:
    """Whether a smaller value of ``metric`` is better (log loss, Brier, RMSE); unknown names: no."""
    from ..training.metrics import METRIC_MODES

    return metric is not None and METRIC_MODES.get(metric) == "min"


def inside(interval: dict | None, score: float) -> bool:
    """Whether ``score`` lies in ``interval`` (a :func:`headline_interval`): not clearly apart from it."""
    return interval is not None and interval["low"] <= score <= interval["high"]
