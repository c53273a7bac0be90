"""The honest account of a trained network: classical baselines on the same rows, and test
predictions for the residual plot (which inputs it relies on is in ``importance``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from .prepare import Prepared
from .tasks import CLASSIFICATION, predict_outputs

#: The boosted trees first grow this many iterations, then twice as many at a time (warm-started),
#: checking the budget between.
BOOSTING_ROUND = 10
#: From this many training rows the boosted trees stop early on a tenth of them (scikit-learn's own
#: "auto" waits for 10,000 rows; wide data such as images is slow well before that).
EARLY_STOPPING_ROWS = 1000
#: Below this many training rows the boosted trees use one OpenMP thread: on small data threads
#: gain little, and their spin-waiting on a machine busy with other work made a 1,200-row fit 20×
#: slower (17 s against 0.8 s for one thread, measured on 2 loaded cores).
THREADED_ROWS = 10_000


def run_baselines(
    prepared: Prepared, budget: float, folds: np.ndarray | None = None, log=None, progress=None,
    positive: int | None = None,
) -> dict:  # fmt: skip
    """Classical models on the same rows and features: a linear model and gradient boosting.

    Without ``folds`` they train on the training and validation rows and are scored on the test
    rows. With ``folds`` (a cross-fit's out-of-fold estimate, where the test rows are all the rows)
    they are cross-validated on those same folds, as the network's members were. The boosted trees
    stop early on a tenth of the rows from 1,000 training rows, and stop adding trees when their
    share of ``budget`` seconds (split over folds and outputs) would run out; the result says so.
    ``log`` gets a line per model as it finishes; ``progress`` is called after each fit.
    A classifier is scored on its probabilities (the network's metrics, app/scoring.py, binary ones
    about class ``positive``), which its result keeps as ``probabilities`` for the report's curves.
    """
    import warnings

    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    fits_per_model = baseline_fits(prepared, folds) // 2
    training_rows = len(prepared.y_train) + len(prepared.y_val) if folds is None else int(np.sum(folds != folds[0]))
    threads = 1 if training_rows < THREADED_ROWS else None
    results = {}
    truth = _targets_for(prepared.task, prepared.y_test)
    classifying = prepared.task in CLASSIFICATION
    for name, model in _baseline_models(prepared.task, training_rows).items():
        started, fits = time.perf_counter(), []
        predicted = np.empty((len(truth), len(prepared.classes))) if classifying else np.empty_like(truth)
        share = budget / fits_per_model
        with warnings.catch_warnings(), threadpool_limits(threads, user_api="openmp"):
            warnings.simplefilter("ignore")
            for x_train, y_train, rows in _splits(prepared, folds):
                x_test = prepared.x_test[rows]
                predicted[rows], fit = _fit_predict(
                    model, prepared.task, x_train, y_train, x_test, share, prepared.classes
                )
                fits.append(fit)
                if progress is not None:
                    progress()
        results[name] = {**_baseline_score(prepared.task, prepared.y_test, predicted, positive), **_fits_summary(fits)}
        if classifying:
            results[name]["probabilities"] = predicted
        results[name]["seconds"] = time.perf_counter() - started
        if log is not None:
            log(f"  {name}: {results[name]['seconds']:.1f} s{_budget_note(results[name], budget)}")
    return results


def baseline_fits(prepared: Prepared, folds: np.ndarray | None) -> int:
    """How many fits :func:`run_baselines` makes (for a progress bar)."""
    return 2 * (1 if folds is None else len(np.unique(folds)))


def _splits(prepared: Prepared, folds: np.ndarray | None) -> Iterator[tuple]:
    """(training features, training targets, the test rows they predict) per fit, one at a time
    (a fold's training rows are copied only while it is fitted)."""
    if folds is None:
        x_train = np.vstack([prepared.x_train, prepared.x_val])
        y_train = np.concatenate([prepared.y_train, prepared.y_val])
        yield x_train, y_train, np.ones(len(prepared.y_test), dtype=bool)
        return
    for fold in np.unique(folds):
        yield prepared.x_test[folds != fold], prepared.y_test[folds != fold], folds == fold


def _budget_note(result: dict, budget: float) -> str:
    if not result.get("budget_stopped"):
        return ""
    return f" (stopped at {result['iterations']:.0f} boosting iterations by the {budget:g} s budget)"


def _fits_summary(fits: list) -> dict:
    boosted = [fit for fit in fits if fit is not None]
    if not boosted:
        return {}
    return {
        "iterations": float(np.mean([iterations for iterations, _ in boosted])),
        "budget_stopped": any(stopped for _, stopped in boosted),
    }


def _baseline_models(task: str, rows: int) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier

    stop = rows >= EARLY_STOPPING_ROWS
    if task in CLASSIFICATION or task == "multilabel":
        linear = LogisticRegression(max_iter=2000)
        return {
            "logistic regression": MultiOutputClassifier(linear) if task == "multilabel" else linear,
            "gradient boosting": HistGradientBoostingClassifier(random_state=0, early_stopping=stop),
        }
    return {
        "linear regression": LinearRegression(),
        "gradient boosting": HistGradientBoostingRegressor(random_state=0, early_stopping=stop),
    }


def _targets_for(task: str, y: np.ndarray) -> np.ndarray:
    """``y`` as scikit-learn takes it: a single regression target as a flat vector."""
    return y.ravel() if task == "regression" and y.ndim == 2 and y.shape[1] == 1 else y


def _fit_predict(model, task: str, x_train, y_train, x_test, seconds: float, classes=None):
    """Predictions for ``x_test`` (a classifier's: probabilities over every class, a class absent from
    the training rows at 0), and (iterations, stopped by the budget) for boosted trees, else None."""
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    y_train = _targets_for(task, y_train)
    if not isinstance(model, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        fitted = clone(model).fit(x_train, y_train)
        return _predicted(fitted, task, x_test, classes), None
    if y_train.ndim == 1:
        fitted, stopped = _boost(model, x_train, y_train, seconds)
        return _predicted(fitted, task, x_test, classes), (fitted.n_iter_, stopped)
    columns = [_boost(model, x_train, y_train[:, j], seconds / y_train.shape[1]) for j in range(y_train.shape[1])]
    predicted = np.column_stack([fitted.predict(x_test) for fitted, _ in columns])
    return predicted, (np.mean([f.n_iter_ for f, _ in columns]), any(stopped for _, stopped in columns))


def _predicted(fitted, task: str, x_test, classes) -> np.ndarray:
    if task not in CLASSIFICATION:
        return np.asarray(fitted.predict(x_test))
    probabilities = np.zeros((len(x_test), len(classes)))
    probabilities[:, fitted.classes_.astype(int)] = fitted.predict_proba(x_test)
    return probabilities


def _boost(model, x, y, seconds: float):
    """A clone of ``model`` grown to BOOSTING_ROUND iterations, then doubled (warm start) until it
    stops early, reaches its ``max_iter``, or the next round would end past ``seconds``."""
    from sklearn.base import clone

    limit = model.max_iter
    fitted = clone(model).set_params(warm_start=True, max_iter=min(BOOSTING_ROUND, limit))
    started = time.perf_counter()
    while True:
        fitted.fit(x, y)
        done = fitted.n_iter_
        if done < fitted.max_iter or done >= limit:
            return fitted, False
        following = min(limit, 2 * done)  # rounds double: few refits, each checked against the budget
        if (time.perf_counter() - started) * following / done > seconds:
            return fitted, True
        fitted.set_params(max_iter=following)


def _baseline_score(task: str, truth: np.ndarray, predicted: np.ndarray, positive: int | None = None) -> dict:
    """The network's metrics of a baseline's probabilities (app/scoring.py), labels or values."""
    from ..training.metrics import regression_metrics

    if task in CLASSIFICATION:
        from .scoring import classification_metrics

        return classification_metrics(predicted, truth, predicted.shape[1], positive)
    if task == "multilabel":
        return {"subset_accuracy": float(np.mean(np.all(predicted == (truth > 0.5), axis=1)))}
    truth = truth.reshape(len(truth), -1)
    scores = regression_metrics(truth, np.asarray(predicted, dtype=np.float64).reshape(truth.shape))
    return {"r2": scores["r2"], "rmse": scores["rmse"]}


def sample_predictions(network, prepared: Prepared, outputs=None, limit: int = 2000) -> dict:
    """Test truths and predictions (``outputs`` when already known) for the report's residual plot."""
    if prepared.task != "regression":
        return {}
    if outputs is None:
        outputs = predict_outputs(network, prepared.task, prepared.x_test[:limit], prepared.preprocessing_arrays)
    outputs = outputs[:limit]
    truth = prepared.y_test[:limit].reshape(outputs.shape)
    return {"truth": truth[:, 0].tolist(), "prediction": outputs[:, 0].tolist()}


def baseline_rows(prepared: Prepared, seed: int) -> Prepared:
    """The classical baselines' rows out of core: seeded uniform samples of at most
    :data:`~glassnet.app.firstpass.SAMPLE_ROWS` training rows and as many test rows, read from the
    cache into memory."""
    from dataclasses import replace

    from ..pages import take_rows
    from .firstpass import SAMPLE_ROWS

    pooled = prepared.x_pooled
    assert pooled is not None
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xBA5E]))
    y_pooled = np.concatenate([prepared.y_train, prepared.y_val])
    train = np.sort(rng.choice(len(pooled), min(len(pooled), SAMPLE_ROWS), replace=False))
    test = np.sort(rng.choice(len(prepared.y_test), min(len(prepared.y_test), SAMPLE_ROWS), replace=False))
    return replace(
        prepared, x_train=take_rows(pooled, train), y_train=y_pooled[train], x_val=pooled[:0], y_val=y_pooled[:0],
        x_test=take_rows(prepared.x_test, test), y_test=prepared.y_test[test], x_pooled=None,
    )  # fmt: skip
