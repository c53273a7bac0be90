"""Calibration: whether a probability of 0.8 comes true 80 % of the time, and the held-out fix.

The cross-fit ensemble's out-of-fold probabilities are the evidence. Two maps are tried, each
fitted on some folds' predictions and judged on the fold left out (so the judgement is honest):

- temperature scaling: ``softmax(log p / T)``, one number for any number of classes;
- Platt scaling (binary): ``sigmoid(a · logit(p) + b)`` on the positive class.

The better one is applied when it lowers the out-of-fold log loss by at least
``recipe.MIN_RELATIVE_IMPROVEMENT`` (a smaller gain is noise); the model file records it, ``predict``
and the ONNX export apply it, and the report shows the reliability diagram before and after.
"""

from __future__ import annotations

import numpy as np

from .. import recipe
from ..layers.activations import softmax
from ..losses import SoftmaxCrossEntropy, stable_sigmoid

#: Probabilities are clipped to [EPS, 1 - EPS] before their logarithm.
EPS = 1e-12


def calibrate(probabilities: np.ndarray, calibration: dict) -> np.ndarray:
    """``probabilities`` (rows × classes) through a recorded calibration."""
    logs = np.log(np.clip(probabilities, EPS, 1.0))
    if calibration["method"] == "temperature":
        return softmax(logs / calibration["temperature"])
    positive = calibration["positive"]
    logit = logs[:, positive] - logs[:, 1 - positive]
    p = stable_sigmoid(calibration["slope"] * logit + calibration["intercept"])
    result = np.empty_like(probabilities)
    result[:, positive], result[:, 1 - positive] = p, 1.0 - p
    return result


def fit_calibration(method: str, probabilities: np.ndarray, y: np.ndarray, positive: int | None) -> dict:
    """The ``method`` map ("temperature" or "platt") fitted to rows' probabilities and labels."""
    logs = np.log(np.clip(probabilities, EPS, 1.0))
    if method == "temperature":
        from scipy.optimize import minimize_scalar  # a scikit-learn dependency

        cross_entropy = SoftmaxCrossEntropy()  # the training loss: the mean of log Σe^z − z_true

        def loss(log_t: float) -> float:
            return cross_entropy.forward(logs / np.exp(log_t), y)

        found = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded")
        return {"method": "temperature", "temperature": float(np.exp(found.x))}
    from sklearn.linear_model import LogisticRegression

    assert positive is not None
    logit = (logs[:, positive] - logs[:, 1 - positive]).reshape(-1, 1)
    model = LogisticRegression(C=1e6, max_iter=1000).fit(logit, (y == positive).astype(int))
    return {
        "method": "platt", "slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0]),
        "positive": int(positive),
    }  # fmt: skip


def log_loss(probabilities: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(y)), y], EPS, 1.0))))


def choose_calibration(
    probabilities: np.ndarray, y: np.ndarray, folds: np.ndarray, positive: int | None
) -> tuple[dict | None, np.ndarray, dict]:
    """(the calibration to apply or None, the rows' probabilities to score, the account).

    Each candidate is fitted on the other folds' out-of-fold rows and applied to the fold left
    out; the one with the lowest such log loss wins when it beats the uncalibrated log loss by the
    recipe's relative margin. The returned probabilities are then those held-out calibrated ones
    (honest), and the calibration kept is the one fitted on every row.
    """
    methods = ["temperature"] + (["platt"] if probabilities.shape[1] == 2 else [])
    before = log_loss(probabilities, y)
    held_out = {}
    for method in methods:
        calibrated = np.empty_like(probabilities)
        for fold in np.unique(folds):
            inside = folds == fold
            fitted = fit_calibration(method, probabilities[~inside], y[~inside], positive)
            calibrated[inside] = calibrate(probabilities[inside], fitted)
        held_out[method] = calibrated
    losses = {method: log_loss(calibrated, y) for method, calibrated in held_out.items()}
    best = min(losses, key=lambda m: losses[m])
    account = {"log_loss_before": before, "held_out_log_loss": losses, "applied": None}
    if losses[best] < before * (1 - recipe.MIN_RELATIVE_IMPROVEMENT):
        calibration = fit_calibration(best, probabilities, y, positive)
        account["applied"] = best
        return calibration, held_out[best], account
    return None, probabilities, account


def describe(account: dict | None, calibration: dict | None) -> str:
    """The calibration step in words."""
    if account is None:
        return "not checked (needs the cross-fit members' out-of-fold probabilities)"
    tried = ", ".join(f"{m} {v:.4f}" for m, v in account["held_out_log_loss"].items())
    before = f"out-of-fold log loss {account['log_loss_before']:.4f}; held out: {tried}"
    if calibration is None:
        return f"none applied: no map lowered the log loss by {recipe.MIN_RELATIVE_IMPROVEMENT:.1%} ({before})"
    if calibration["method"] == "temperature":
        what = f"temperature scaling, T = {calibration['temperature']:.3f}"
    else:
        what = f"Platt scaling, sigmoid({calibration['slope']:.3f} · logit + {calibration['intercept']:.3f})"
    return f"{what} ({before})"
