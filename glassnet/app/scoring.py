"""What a classifier's probabilities say, computed with scikit-learn: ranking (ROC AUC, PR AUC),
probability quality (log loss, Brier score), decisions at a threshold (accuracy, balanced accuracy,
precision, recall, F1, per class), how sure each number is, and the curves the report draws.

A binary task has a *positive class*: the one PR AUC, precision, recall and F1 are about and the
threshold applies to. :func:`positive_class` chooses it (named labels such as ``yes``/``true``/``1``,
else the rarer class) unless the user names it. Importing this module registers the metrics that
need scikit-learn in the metrics' registry (``glassnet.training.metrics``), so training can monitor
them on the validation rows.
"""

from __future__ import annotations

import numpy as np

from ..training.metrics import register_metric

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054

#: Labels read as the positive one of a pair, compared as lower-case text.
POSITIVE_LABELS = ("1", "1.0", "true", "t", "yes", "y", "positive", "pos")
#: Resamples of the seeded bootstrap behind the intervals that have no closed form.
BOOTSTRAP_RESAMPLES = 200
#: Resamples × rows computed at once by the bootstrap (float64 counts: 2 MB a block, and a few
#: temporaries of that size). On 100,000 rows the intervals' own peak was 64 MB with 1 million cells
#: and 14 MB with these, in 1.5 s against 1.9 s (4 million cells had added 270 MB to the job's peak).
BOOTSTRAP_CELLS = 250_000
#: Points kept of a ROC or precision-recall curve for the report (evenly along the curve).
CURVE_POINTS = 200
#: Bins of the reliability diagram (equal counts of rows).
CALIBRATION_BINS = 10

#: Metric -> (better "max"/"min", tasks, what it says): the headline choices ``--metric`` takes.
CLASSIFICATION_METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "roc_auc": ("max", ("binary",), "how well positives are ranked above negatives, at every threshold"),
    "pr_auc": ("max", ("binary",), "average precision over recall: ranking judged on the positive class"),
    "f1": ("max", ("binary",), "the harmonic mean of precision and recall of the positive class"),
    "precision": ("max", ("binary",), "of the rows predicted positive, the share that is"),
    "recall": ("max", ("binary",), "of the positive rows, the share predicted positive"),
    "roc_auc_macro": ("max", ("multiclass",), "one-vs-rest ROC AUC, the mean over classes"),
    "roc_auc_weighted": ("max", ("multiclass",), "one-vs-rest ROC AUC, weighted by class size"),
    "f1_macro": ("max", ("multiclass",), "F1 per class, the mean over classes"),
    "accuracy": ("max", ("binary", "multiclass"), "the share of rows predicted right"),
    "balanced_accuracy": ("max", ("binary", "multiclass"), "the mean recall over classes"),
    "log_loss": ("min", ("binary", "multiclass"), "the mean negative log-probability of the true class"),
    "brier": ("min", ("binary", "multiclass"), "the mean squared error of the probabilities"),
}

#: Why a binary task's headline is ROC AUC unless ``--metric`` says otherwise.
BINARY_HEADLINE_REASON = (
    "ROC AUC, the usual choice for binary tasks: it judges the ranking at every threshold, whatever the "
    "class balance (accuracy can look high for a model that never predicts the rare class); "
    "--metric chooses another"
)


def choose_positive(classes: list, y: np.ndarray, told=None) -> tuple[int, str]:
    """(the index of a binary task's positive class among ``classes``, why, in words).

    ``told`` (a label, or its text) wins; else a label read as positive (``1``, ``true``, ``yes``,
    ``positive``...) when the other is not; else the rarer class in ``y`` (the later one on a tie).
    """
    texts = [str(c).strip().lower() for c in classes]
    if told is not None:
        wanted = str(told).strip().lower()
        if wanted not in texts:
            raise ValueError(f"the positive class {told!r} is not one of the classes {list(classes)}.")
        index = texts.index(wanted)
        return index, f"positive class {classes[index]!r} (--positive-class)"
    named = [i for i, text in enumerate(texts) if text in POSITIVE_LABELS]
    if len(named) == 1:
        index = named[0]
        return index, f"positive class {classes[index]!r} (its label says so; --positive-class chooses another)"
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(classes))
    index = 0 if counts[0] < counts[1] else 1
    share = counts[index] / counts.sum() if counts.sum() else float("nan")
    return (
        index,
        f"positive class {classes[index]!r} (the rarer class, {share:.1%} of the rows; --positive-class chooses)",
    )


def positive_class(classes: list, y: np.ndarray, told=None) -> int:
    """The index of a binary task's positive class (:func:`choose_positive`)."""
    return choose_positive(classes, y, told)[0]


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion ``successes / n`` (exact enough at any size).

    >>> [round(v, 3) for v in wilson(45, 50)]
    [0.786, 0.957]
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def decide(probabilities: np.ndarray, positive: int | None = None, threshold: float | None = None) -> np.ndarray:
    """Predicted class indices: the arg-max, or for a binary task the positive class where its
    probability reaches ``threshold``."""
    if threshold is None or positive is None or probabilities.shape[1] != 2:
        return probabilities.argmax(axis=1)
    hits = probabilities[:, positive] >= threshold
    return np.where(hits, positive, 1 - positive)


def classification_metrics(
    probabilities: np.ndarray, y: np.ndarray, n_classes: int, positive: int | None = None,
    threshold: float | None = None,
) -> dict[str, float]:  # fmt: skip
    """Every metric of :data:`CLASSIFICATION_METRICS` that applies (two classes: binary ones about
    ``positive``, class 1 by default); a metric undefined on these rows (one class only) is left out."""
    binary = n_classes == 2
    positive = (1 if positive is None else positive) if binary else None
    probabilities = _normalised(probabilities)
    predicted = decide(probabilities, positive, threshold)
    result: dict[str, float] = {}
    for name, (_, tasks, _) in CLASSIFICATION_METRICS.items():
        if ("binary" if binary else "multiclass") in tasks:
            value = _metric(name, y, probabilities, predicted, positive)
            if value is not None and np.isfinite(value):
                result[name] = float(value)
    return result


def _normalised(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities in float64 whose rows sum to one (float32 outputs miss by a rounding)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    sums = probabilities.sum(axis=1, keepdims=True)
    if np.all(np.abs(sums - 1) <= 1e-12):
        return probabilities  # as given: no rounding that would split tied scores
    return probabilities / np.maximum(sums, 1e-300)


def _metric(name: str, y, probabilities, predicted, positive) -> float | None:
    """One metric, by scikit-learn; None where it is undefined on these rows (scikit-learn's warnings
    about classes absent from these rows are the reason the per-class table shows zeros: not printed)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _sklearn_metric(name, y, probabilities, predicted, positive)


def _sklearn_metric(name: str, y, probabilities, predicted, positive) -> float | None:
    from sklearn import metrics as sk

    labels = np.arange(probabilities.shape[1])
    present = np.unique(y)
    if name == "accuracy":
        return sk.accuracy_score(y, predicted)
    if name == "balanced_accuracy":
        return sk.balanced_accuracy_score(y, predicted)
    if name == "log_loss":
        return sk.log_loss(y, np.clip(probabilities, 1e-15, 1.0), labels=labels)
    if name == "brier":
        if probabilities.shape[1] == 2:
            return sk.brier_score_loss(y == positive, probabilities[:, positive])
        return float(np.mean(np.sum((probabilities - np.eye(len(labels))[y]) ** 2, axis=1)))
    if len(present) < 2:
        return None  # ranking metrics need both sides
    if name == "roc_auc":
        return sk.roc_auc_score(y == positive, probabilities[:, positive])
    if name == "pr_auc":
        return sk.average_precision_score(y == positive, probabilities[:, positive])
    if name in ("f1", "precision", "recall"):
        scorer = {"f1": sk.f1_score, "precision": sk.precision_score, "recall": sk.recall_score}[name]
        return scorer(y == positive, predicted == positive, zero_division=0.0)
    if name == "f1_macro":
        return sk.f1_score(y, predicted, labels=labels, average="macro", zero_division=0.0)
    if name in ("roc_auc_macro", "roc_auc_weighted"):
        average = name.rsplit("_", 1)[1]
        # one-vs-rest over the classes present (a class without rows has no ROC curve)
        scores = [sk.roc_auc_score(y == c, probabilities[:, c]) for c in present]
        weights = [np.sum(y == c) for c in present] if average == "weighted" else None
        return float(np.average(scores, weights=weights))
    raise KeyError(name)


def per_class(probabilities: np.ndarray, y: np.ndarray, classes: list, threshold=None, positive=None) -> dict:
    """Precision, recall, F1 and support of every class (scikit-learn's precision_recall_fscore_support)."""
    from sklearn.metrics import precision_recall_fscore_support

    predicted = decide(probabilities, positive, threshold)
    labels = np.arange(len(classes))
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=labels, zero_division=0.0)
    return {
        str(label): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(classes, precision, recall, f1, support)
    }


def metric_intervals(
    probabilities: np.ndarray, y: np.ndarray, metrics: dict, positive: int | None = None,
    threshold: float | None = None, seed: int = 0, names: tuple[str, ...] | None = None,
) -> dict[str, dict]:  # fmt: skip
    """A 95 % interval for each metric in ``metrics`` (or in ``names``): Wilson's for accuracy,
    DeLong's for a binary ROC AUC, the normal one of a mean for log loss and Brier, a seeded
    bootstrap over rows (:data:`BOOTSTRAP_RESAMPLES`) for the rest. Multiclass ROC AUCs get one
    only when named (one bootstrap resample costs a curve per class)."""
    y = np.asarray(y)
    n = len(y)
    if n == 0:
        return {}
    binary = probabilities.shape[1] == 2
    positive = (1 if positive is None else positive) if binary else None
    probabilities = _normalised(probabilities)
    predicted = decide(probabilities, positive, threshold)
    wanted = [m for m in (names or metrics) if m in metrics and m in CLASSIFICATION_METRICS]
    if names is None:
        wanted = [m for m in wanted if not m.startswith("roc_auc_")]
    result, bootstrapped = {}, []
    for name in wanted:
        if name == "accuracy":
            low, high = wilson(int(np.sum(predicted == y)), n)
            result[name] = {"low": low, "high": high, "method": "Wilson score interval"}
        elif name == "roc_auc" and binary:
            result[name] = _delong(probabilities[:, positive], y == positive)
        elif name in ("log_loss", "brier"):
            result[name] = _mean_interval(_row_losses(name, probabilities, y))
        else:
            bootstrapped.append(name)
    if bootstrapped:
        result.update(_bootstrap(bootstrapped, probabilities, y, predicted, positive, seed))
    result = {k: v for k, v in result.items() if np.isfinite(v["low"]) and np.isfinite(v["high"])}
    for interval in result.values():
        interval["rows"] = n
    return result


def _row_losses(name: str, probabilities: np.ndarray, y: np.ndarray) -> np.ndarray:
    truth = np.eye(probabilities.shape[1])[y]
    if name == "log_loss":
        return -np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-15, 1.0))
    squared = np.sum((probabilities - truth) ** 2, axis=1)
    return squared / 2 if probabilities.shape[1] == 2 else squared  # binary Brier: one probability's error


def _mean_interval(values: np.ndarray) -> dict:
    spread = Z95 * float(np.std(values, ddof=1)) / float(np.sqrt(len(values))) if len(values) > 1 else float("nan")
    centre = float(np.mean(values))
    return {"low": max(0.0, centre - spread), "high": centre + float(spread), "method": "normal interval of a mean"}


def _delong(scores: np.ndarray, positives: np.ndarray) -> dict:
    """DeLong's interval of a ROC AUC, from the midranks of the scores (DeLong et al., 1988)."""
    from scipy.stats import rankdata  # a scikit-learn dependency

    x, z = scores[positives], scores[~positives]
    m, k = len(x), len(z)
    if m < 2 or k < 2:
        return {"low": float("nan"), "high": float("nan"), "method": "DeLong (too few rows of one class)"}
    ranks = rankdata(np.concatenate([x, z]))
    auc = (ranks[:m].sum() - m * (m + 1) / 2) / (m * k)
    v10 = (ranks[:m] - rankdata(x)) / k  # each positive: the share of negatives below it
    v01 = 1.0 - (ranks[m:] - rankdata(z)) / m  # each negative: the share of positives above it
    spread = Z95 * np.sqrt(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / k)
    return {"low": float(max(0.0, auc - spread)), "high": float(min(1.0, auc + spread)), "method": "DeLong"}


def _bootstrap(names: list[str], probabilities, y, predicted, positive, seed: int) -> dict:
    """Percentile intervals over :data:`BOOTSTRAP_RESAMPLES` seeded resamples of the rows.

    A resample is a count per row (how often it was drawn); each metric is the count-weighted form of
    scikit-learn's definition, computed for all resamples at once (``_weighted_metric``; a test checks
    it against scikit-learn's with ``sample_weight``), in blocks that bound the memory.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB007]))
    n = len(y)
    block = max(1, min(BOOTSTRAP_RESAMPLES, BOOTSTRAP_CELLS // max(n, 1)))
    samples: dict[str, list[np.ndarray]] = {name: [] for name in names}
    ranked = _Ranked(probabilities, y, positive)
    for start in range(0, BOOTSTRAP_RESAMPLES, block):
        size = min(block, BOOTSTRAP_RESAMPLES - start)
        counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(size)]).astype(np.float64)
        for name in names:
            samples[name].append(_weighted_metric(name, counts, y, predicted, positive, ranked))
    result = {}
    for name, blocks in samples.items():
        values = np.concatenate(blocks)
        values = values[np.isfinite(values)]
        if len(values) >= BOOTSTRAP_RESAMPLES // 2:
            low, high = np.percentile(values, [2.5, 97.5])
            method = f"bootstrap over rows ({BOOTSTRAP_RESAMPLES} resamples)"
            result[name] = {"low": float(low), "high": float(high), "method": method}
    return result


def resampled_metric(
    name: str, counts: np.ndarray, probabilities: np.ndarray, y: np.ndarray, positive: int | None = None,
    threshold: float | None = None,
) -> np.ndarray:  # fmt: skip
    """Metric ``name`` on weighted rows, one value per row of ``counts`` (how often each row was drawn
    in a bootstrap resample): the vectorised form of scikit-learn's definition with ``sample_weight``."""
    probabilities = _normalised(probabilities)
    binary = probabilities.shape[1] == 2
    positive = (1 if positive is None else positive) if binary else None
    predicted = decide(probabilities, positive, threshold)
    ranked = _Ranked(probabilities, y, positive)
    return _weighted_metric(name, np.atleast_2d(counts).astype(np.float64), y, predicted, positive, ranked)


class _Ranked:
    """The rows sorted by each class's probability (descending), with their groups of tied scores."""

    def __init__(self, probabilities: np.ndarray, y: np.ndarray, positive: int | None) -> None:
        self.probabilities, self.y, self.positive, self._cache = probabilities, y, positive, {}
        # the current block of resamples, and its sums per column (ROC AUC and PR AUC share them)
        self._block: np.ndarray | None = None
        self._grouped: dict = {}

    def order(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """(row order by descending score, the start of each group of equal scores in it)."""
        if column not in self._cache:
            score = self.probabilities[:, column]
            order = np.argsort(-score, kind="stable")
            ordered = score[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            self._cache[column] = (order, starts)
        return self._cache[column]

    def grouped(self, counts: np.ndarray, column: int, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per resample and group of tied scores (best first): the weight of positive and negative rows."""
        if self._block is not counts:  # a new block (held here, so it is never mistaken for another)
            self._block, self._grouped = counts, {}
        if column not in self._grouped:
            order, starts = self.order(column)
            weights = counts[:, order]
            everyone = np.add.reduceat(weights, starts, axis=1)
            weights *= truth[order]
            positives = np.add.reduceat(weights, starts, axis=1)
            self._grouped[column] = (positives, everyone - positives)
        return self._grouped[column]


def _weighted_metric(name: str, counts, y, predicted, positive, ranked: _Ranked) -> np.ndarray:
    """``name`` for every resample (a row of ``counts``) at once."""
    k = ranked.probabilities.shape[1]
    if name in ("roc_auc", "pr_auc"):
        return _ranking(name, counts, ranked, positive, y == positive)
    if name in ("roc_auc_macro", "roc_auc_weighted"):
        present = np.unique(y)
        scores = np.stack([_ranking("roc_auc", counts, ranked, c, y == c) for c in present], axis=1)
        sizes = np.stack([counts @ (y == c) for c in present], axis=1)
        weights = sizes if name.endswith("weighted") else np.ones_like(sizes)
        return np.sum(scores * weights, axis=1) / np.sum(weights, axis=1)
    right = counts @ (predicted == y)
    total = counts.sum(axis=1)
    if name == "accuracy":
        return right / total
    truth = np.stack([counts @ (y == c) for c in range(k)], axis=1)
    hits = np.stack([counts @ ((y == c) & (predicted == c)) for c in range(k)], axis=1)
    called = np.stack([counts @ (predicted == c) for c in range(k)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(truth > 0, hits / truth, np.nan)
        precision = np.where(called > 0, hits / np.where(called > 0, called, 1), 0.0)
        f1 = np.where(truth + called > 0, 2 * hits / (truth + called), 0.0)
    if name == "balanced_accuracy":
        return np.nanmean(recall, axis=1)
    if name == "f1_macro":
        return f1.mean(axis=1)
    column = {"f1": f1, "precision": precision, "recall": np.nan_to_num(recall)}[name]
    return column[:, positive]


def _ranking(name: str, counts, ranked: _Ranked, column: int, truth: np.ndarray) -> np.ndarray:
    """Count-weighted ROC AUC (ties count one half) or average precision, per resample."""
    positives, negatives = ranked.grouped(counts, column, truth)
    total_positive, total_negative = positives.sum(axis=1), negatives.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "roc_auc":
            below = total_negative[:, None] - np.cumsum(negatives, axis=1)  # negatives scored lower
            pairs = np.sum(positives * (below + negatives / 2), axis=1)
            return np.where((total_positive > 0) & (total_negative > 0), pairs / (total_positive * total_negative),
                            np.nan)  # fmt: skip
        caught, raised = np.cumsum(positives, axis=1), np.cumsum(positives + negatives, axis=1)
        precision = np.where(raised > 0, caught / np.where(raised > 0, raised, 1), 0.0)
        return np.where(total_positive > 0, np.sum(positives * precision, axis=1) / total_positive, np.nan)


def curves(probabilities: np.ndarray, y: np.ndarray, positive: int = 1) -> dict:
    """The binary ROC and precision-recall curves and the reliability diagram, thinned for a report."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    truth, score = y == positive, probabilities[:, positive]
    if truth.all() or not truth.any():
        return {}
    fpr, tpr, roc_thresholds = roc_curve(truth, score)
    precision, recall, pr_thresholds = precision_recall_curve(truth, score)
    observed, predicted = calibration_curve(truth, score, n_bins=CALIBRATION_BINS, strategy="quantile")
    return {
        "roc": _thin({"fpr": fpr, "tpr": tpr, "threshold": np.minimum(roc_thresholds, 1.0)}),
        "pr": _thin({"recall": recall[:-1], "precision": precision[:-1], "threshold": pr_thresholds}),
        "calibration": {"predicted": predicted.tolist(), "observed": observed.tolist()},
        "prevalence": float(np.mean(truth)),
    }


def calibration_of(probabilities: np.ndarray, y: np.ndarray) -> dict:
    """The reliability diagram of a multiclass model: the top class's probability against how often
    it is right (equal-count bins)."""
    from sklearn.calibration import calibration_curve

    top = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(len(y)), top]
    observed, predicted = calibration_curve(top == y, confidence, n_bins=CALIBRATION_BINS, strategy="quantile")
    return {"calibration": {"predicted": predicted.tolist(), "observed": observed.tolist()}}


def _thin(columns: dict) -> dict:
    n = len(next(iter(columns.values())))
    keep = np.unique(np.linspace(0, n - 1, min(n, CURVE_POINTS)).round().astype(int))
    return {name: np.asarray(values, dtype=np.float64)[keep].tolist() for name, values in columns.items()}


class MonitoredScore:
    """A metric as the training loop computes it on the validation rows: (class labels,
    probabilities) -> the metric, a binary one about class ``positive`` (picklable, for any executor)."""

    def __init__(self, name: str, positive: int | None = None) -> None:
        self.name, self.positive = name, 1 if positive is None else positive

    def __call__(self, truth: np.ndarray, probabilities: np.ndarray) -> float:
        truth = np.asarray(truth, dtype=np.int64)
        value = _metric(self.name, truth, probabilities, decide(probabilities), self.positive)
        return float("nan") if value is None else float(value)


for _name, (_mode, _tasks, _what) in CLASSIFICATION_METRICS.items():
    _computed = _name not in ("accuracy", "balanced_accuracy", "log_loss")  # the loop logs these itself
    register_metric(_name, _mode, MonitoredScore(_name) if _computed else None)
