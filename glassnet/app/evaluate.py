"""The honest account of a trained network: classical baselines on the same split, which inputs it
relies on, and test predictions for the residual plot."""

from __future__ import annotations

import time

import numpy as np

from .prepare import Prepared
from .tasks import CLASSIFICATION, predict_outputs, targets_for_network


def run_baselines(prepared: Prepared, folds: np.ndarray | None = None, log=None) -> dict:
    """Classical models on the same rows and features: a linear model and gradient boosting.

    Without ``folds`` they train on the training and validation rows and are scored on the test
    rows. With ``folds`` (a cross-fit's out-of-fold estimate, where the test rows are all the rows)
    they are cross-validated on those same folds, as the network's members were. From 1,000
    training rows the boosted trees stop early on a tenth of them, which bounds their time on wide
    data such as images. ``log`` gets a line per model as it finishes.
    """
    import warnings

    if folds is None:
        x_train = np.vstack([prepared.x_train, prepared.x_val])
        y_train = np.concatenate([prepared.y_train, prepared.y_val])
    results = {}
    rows = len(prepared.y_test) if folds is not None else len(y_train)
    for name, model in _baseline_models(prepared.task, prepared.y_test, rows).items():
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if folds is None:
                predicted = _fit_predict(model, prepared.task, x_train, y_train, prepared.x_test)
            else:
                predicted = np.empty_like(_targets_for(prepared.task, prepared.y_test))
                for fold in np.unique(folds):
                    inside = folds != fold
                    predicted[~inside] = _fit_predict(
                        model, prepared.task, prepared.x_test[inside], prepared.y_test[inside], prepared.x_test[~inside]
                    )
        results[name] = {
            **_baseline_score(prepared.task, prepared.y_test, predicted),
            "seconds": time.perf_counter() - started,
        }
        if log is not None:
            log(f"  {name}: {results[name]['seconds']:.1f} s")
    return results


#: From this many training rows the boosted trees stop early on a tenth of them (scikit-learn's own
#: "auto" waits for 10,000 rows; wide data such as images is slow well before that).
EARLY_STOPPING_ROWS = 1000


def _baseline_models(task: str, y: np.ndarray, rows: int) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor

    stop = rows >= EARLY_STOPPING_ROWS
    if task in CLASSIFICATION:
        return {
            "logistic regression": LogisticRegression(max_iter=2000),
            "gradient boosting": HistGradientBoostingClassifier(random_state=0, early_stopping=stop),
        }
    if task == "multilabel":
        return {
            "logistic regression": MultiOutputClassifier(LogisticRegression(max_iter=2000)),
            "gradient boosting": MultiOutputClassifier(
                HistGradientBoostingClassifier(random_state=0, early_stopping=stop)
            ),
        }
    multi = y.ndim == 2 and y.shape[1] > 1
    return {
        "linear regression": LinearRegression(),
        "gradient boosting": MultiOutputRegressor(HistGradientBoostingRegressor(random_state=0, early_stopping=stop))
        if multi
        else HistGradientBoostingRegressor(random_state=0, early_stopping=stop),
    }


def _targets_for(task: str, y: np.ndarray) -> np.ndarray:
    """``y`` as scikit-learn takes it: a single regression target as a flat vector."""
    return y.ravel() if task == "regression" and y.ndim == 2 and y.shape[1] == 1 else y


def _fit_predict(model, task: str, x_train, y_train, x_test) -> np.ndarray:
    from sklearn.base import clone

    fitted = clone(model).fit(x_train, _targets_for(task, y_train))
    return np.asarray(fitted.predict(x_test))


def _baseline_score(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict:
    """The network's metrics (training.metrics) of a baseline's predicted labels or values."""
    from ..training.metrics import accuracy, regression_metrics

    if task in CLASSIFICATION:
        return {"accuracy": accuracy(truth, np.asarray(predicted))}
    if task == "multilabel":
        return {"subset_accuracy": float(np.mean(np.all(predicted == (truth > 0.5), axis=1)))}
    truth = truth.reshape(len(truth), -1)
    scores = regression_metrics(truth, np.asarray(predicted, dtype=np.float64).reshape(truth.shape))
    return {"r2": scores["r2"], "rmse": scores["rmse"]}


def compute_importance(network, prepared: Prepared, max_rows: int = 2000) -> dict | None:
    """Feature importance on validation rows: permutation (by source column), saliency and IG."""
    import warnings

    from ..diagnostics import permutation_importance, saliency
    from ..diagnostics.attribution import CompletenessWarning, explain_integrated_gradients
    from ..training.metrics import pooled_r2

    def attributions(rows, baseline):
        with warnings.catch_warnings():  # the gap is reported in the importance section instead
            warnings.simplefilter("ignore", CompletenessWarning)
            return explain_integrated_gradients(network, rows, baseline=baseline, steps=16, max_steps=256)

    x = prepared.x_val[:max_rows]
    y = targets_for_network(prepared.task, prepared.preprocessing_arrays, prepared.y_val[:max_rows])
    if len(x) < 2:
        return None
    if prepared.preprocessing.get("kind") == "image":
        rows = prepared.x_test[:200]
        explained = attributions(rows, "zeros")
        return {
            "kind": "image",
            "image_shape": prepared.preprocessing["image_shape"],
            "saliency": np.abs(saliency(network, rows)).mean(axis=0).tolist(),
            "integrated_gradients": np.abs(explained.attributions).mean(axis=0).tolist(),
            "completeness": explained.describe(),
        }
    sources = prepared.source_columns
    columns = list(dict.fromkeys(sources))
    saliency_values = np.abs(saliency(network, x)).mean(axis=0)
    explained = attributions(x, "mean")
    ig_values = np.abs(explained.attributions).mean(axis=0)
    groups = {c: [i for i, s in enumerate(sources) if s == c] for c in columns}

    def score(truth, outputs):
        if prepared.task in CLASSIFICATION:
            return float(np.mean(outputs.argmax(axis=1) == truth))
        if prepared.task == "multilabel":
            return float(np.mean((outputs > 0.5) == (truth > 0.5)))
        return pooled_r2(truth, outputs)

    drops, _ = permutation_importance(
        network, x, y, score=score, n_repeats=3, seed=0, groups=[groups[c] for c in columns]
    )
    permutation = {column: float(drop) for column, drop in zip(columns, drops)}
    table = [
        {
            "feature": c,
            "permutation": permutation[c],
            "saliency": float(saliency_values[groups[c]].sum()),
            "integrated_gradients": float(ig_values[groups[c]].sum()),
        }
        for c in columns
    ]
    table.sort(key=lambda row: -row["permutation"])
    return {"kind": "table", "rows": table, "completeness": explained.describe()}


def sample_predictions(network, prepared: Prepared, outputs=None, limit: int = 2000) -> dict:
    """Test truths and predictions (``outputs`` when already known) for the report's residual plot."""
    if prepared.task != "regression":
        return {}
    if outputs is None:
        outputs = predict_outputs(network, prepared.task, prepared.x_test[:limit], prepared.preprocessing_arrays)
    outputs = outputs[:limit]
    truth = prepared.y_test[:limit].reshape(outputs.shape)
    return {"truth": truth[:, 0].tolist(), "prediction": outputs[:, 0].tolist()}
