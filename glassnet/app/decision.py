"""How a classifier turns probabilities into decisions: class weights while training, and a binary
task's positive class and decision threshold after it.

The model file keeps the outcome as its ``decision``: ``positive`` (index) and ``positive_class``,
``threshold`` (None: the arg-max), how the threshold was chosen, and the calibration
(app/calibration.py) applied to the probabilities before any of it.
"""

from __future__ import annotations

import json

import numpy as np

from ..tabular import DataError

#: The metrics ``--threshold auto`` can tune the threshold for; a headline outside them (a ranking
#: or probability metric, which no threshold changes) tunes it for F1.
THRESHOLD_METRICS = ("f1", "balanced_accuracy", "accuracy")


def parse_class_weight(text: str | None):
    """``--class-weight``: ``"balanced"``, ``"none"`` (None) or a JSON object of label -> weight."""
    if text is None or text.strip().lower() in ("", "none"):
        return None
    if text.strip().lower() == "balanced":
        return "balanced"
    try:
        weights = json.loads(text)
    except json.JSONDecodeError:
        weights = None
    if not isinstance(weights, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in weights.values()
    ):
        raise ValueError(
            f"--class-weight takes balanced, none or a JSON object of label to weight, such as "
            f'\'{{"yes": 5, "no": 1}}\'; got {text!r}.'
        )
    return {str(k): float(v) for k, v in weights.items()}


def class_weights(class_weight, classes: list, y: np.ndarray) -> np.ndarray | None:
    """One weight per class (scikit-learn's semantics: "balanced" is n / (k · n_class) over ``y``),
    or None for equal weights. A JSON weight names a class by its label (as text); classes not named
    weigh 1."""
    if class_weight is None:
        return None
    if class_weight == "balanced":
        from sklearn.utils.class_weight import compute_class_weight

        present = np.unique(y)
        weights = np.ones(len(classes))
        weights[present] = compute_class_weight("balanced", classes=present, y=y)
        return weights
    texts = [str(c) for c in classes]
    unknown = sorted(set(class_weight) - set(texts))
    if unknown:
        raise DataError(f"--class-weight names classes the target does not hold: {unknown}; the classes are {texts}.")
    return np.array([class_weight.get(t, 1.0) for t in texts], dtype=np.float64)


def describe_class_weight(class_weight, weights: np.ndarray | None, classes: list) -> str:
    """The class weights in words, for the output and the report."""
    if weights is None:
        return "none (every row weighs the same)"
    listed = ", ".join(f"{c!r} {w:.3g}" for c, w in zip(classes, weights))
    how = "balanced: rows / (classes × the class's rows)" if class_weight == "balanced" else "as given"
    return f"{how}: {listed}"


def parse_threshold(text: str | None):
    """``--threshold``: None (the arg-max), ``"auto"``, ``"cost:R"`` (a false negative costs R false
    positives) or a probability in (0, 1)."""
    if text is None or text.strip().lower() in ("", "none"):
        return None
    value = text.strip().lower()
    if value == "auto":
        return "auto"
    if value.startswith("cost:"):
        ratio = _number(value[5:], text)
        if not ratio > 0:
            raise ValueError(f"--threshold cost:R needs a positive cost ratio R; got {text!r}.")
        return f"cost:{ratio:g}"
    number = _number(value, text)
    if not 0 < number < 1:
        raise ValueError(f"--threshold takes a probability between 0 and 1, auto or cost:R; got {text!r}.")
    return number


def _number(value: str, text: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(
            f"--threshold takes auto, cost:R (a false negative costs R false positives) or a probability "
            f"such as 0.3; got {text!r}."
        ) from None


def threshold_goal(rule, headline: str) -> str:
    """What a threshold rule optimises: a metric's name, or ``cost:R``."""
    if isinstance(rule, str) and rule.startswith("cost:"):
        return rule
    return headline if headline in THRESHOLD_METRICS else "f1"


def best_threshold(score: np.ndarray, truth: np.ndarray, goal: str) -> float:
    """The threshold on ``score`` (positive where ``score >= threshold``) that is best for ``goal``,
    over every distinct score (scikit-learn's roc_curve gives the counts at each)."""
    from sklearn.metrics import roc_curve

    if truth.all() or not truth.any():
        return 0.5
    fpr, tpr, thresholds = roc_curve(truth, score)
    positives, negatives = float(truth.sum()), float((~truth).sum())
    tp, fp = tpr * positives, fpr * negatives
    fn = positives - tp
    if goal.startswith("cost:"):
        value = -(fp + float(goal[5:]) * fn)
    elif goal == "f1":
        value = 2 * tp / np.maximum(2 * tp + fp + fn, 1e-12)
    elif goal == "balanced_accuracy":
        value = (tpr + 1 - fpr) / 2
    else:  # accuracy
        value = (tp + negatives - fp) / (positives + negatives)
    finite = np.isfinite(thresholds)
    best = int(np.argmax(np.where(finite, value, -np.inf)))
    return float(min(thresholds[best], 1.0))


def choose_threshold(
    probabilities: np.ndarray,
    y: np.ndarray,
    positive: int,
    rule,
    headline: str,
    folds: np.ndarray | None = None,
    where: str = "the validation rows",
) -> tuple[float, np.ndarray | float, str]:
    """(the model's threshold, the thresholds to score these rows with, how it was chosen).

    With ``folds`` (out-of-fold predictions), each fold's rows are scored at the threshold chosen on
    the other folds' rows, so the reported metrics do not flatter the choice; the model keeps the
    threshold chosen on all the rows. Without, the rows chose it (validation rows) and the
    threshold is applied as it is elsewhere.
    """
    score, truth = probabilities[:, positive], y == positive
    goal = threshold_goal(rule, headline)
    chosen = best_threshold(score, truth, goal)
    goal_text = (
        f"the lowest cost with a false negative costing {goal[5:]} false positives"
        if goal.startswith("cost:")
        else f"the best {goal}"
    )
    if folds is None:
        return chosen, chosen, f"{chosen:.4f}, {goal_text} on {where} (--threshold {rule})"
    per_row = np.empty(len(y))
    for fold in np.unique(folds):
        inside = folds == fold
        per_row[inside] = best_threshold(score[~inside], truth[~inside], goal)
    return (
        chosen,
        per_row,
        (
            f"{chosen:.4f}, {goal_text} on the out-of-fold predictions (--threshold {rule}); the metrics score each "
            "fold at the threshold chosen on the others"
        ),
    )


def plan(prepared, options) -> list[str]:
    """Before training: the headline metric and why, a binary task's positive class, the class
    weights; recorded in ``prepared.description`` and returned as lines for the log."""
    from .scoring import choose_positive
    from .tasks import CLASSIFICATION, check_metric, headline_metric, labels_to_json, why_headline

    task, classes, described = prepared.task, prepared.classes, prepared.description
    check_metric(task, options.metric)
    described["headline"] = {"metric": headline_metric(task, options.metric), "why": why_headline(task, options.metric)}
    scored = np.asarray(prepared.y_test)
    if task == "binary" and options.metric is None and len(scored) and len(np.unique(scored)) < 2:
        described["headline"] = {  # ROC AUC ranks positives above negatives: it needs both on the rows
            "metric": "accuracy",
            "why": "accuracy: the test rows hold a single class, on which ROC AUC is undefined; "
            "--metric chooses another",
        }
    lines = [f"headline metric: {described['headline']['why']}"]
    if task not in CLASSIFICATION:
        return lines
    y = np.concatenate([prepared.y_train, prepared.y_val])
    if task == "binary":
        try:
            index, why = choose_positive(classes, y, options.positive_class)
        except ValueError as error:
            raise DataError(f"--positive-class: {error}") from None
        described["positive_class"] = {"label": labels_to_json([classes[index]])[0], "index": index, "why": why}
        lines.append(why)
    weights = class_weights(options.class_weight, classes, y)
    described["class_weight"] = describe_class_weight(options.class_weight, weights, classes)
    if weights is not None:
        lines.append(f"class weights: {described['class_weight']}")
    return lines


def settle(
    task: str, options, described: dict, outputs: np.ndarray, evidence: tuple | None
) -> tuple[dict | None, np.ndarray, object]:
    """After training: the model's decision (positive class, calibration, threshold), the test rows'
    probabilities to score and the threshold(s) to score them at.

    ``evidence`` is ``(probabilities, labels, folds, same_rows)``: the cross-fit's out-of-fold
    predictions (folds given; ``same_rows`` when they are also the rows scored) or the validation
    rows' predictions (folds None).
    """
    from .calibration import calibrate, choose_calibration, describe
    from .tasks import CLASSIFICATION

    if task not in CLASSIFICATION:
        return None, outputs, None
    positive = (described.get("positive_class") or {}).get("index")
    decision: dict = {"positive": positive, "positive_class": (described.get("positive_class") or {}).get("label")}
    decision["class_weight"] = described.get("class_weight")
    account = None
    probabilities, labels, folds, same_rows = evidence if evidence else (None, None, None, False)
    if probabilities is not None and folds is not None and options.calibration:
        calibration, held_out, account = choose_calibration(probabilities, labels, folds, positive)
        decision["calibration"] = calibration
        probabilities = held_out
        if same_rows:
            outputs = held_out  # each fold calibrated by a map fitted on the others: honest
        elif calibration is not None:
            outputs = calibrate(outputs, calibration)
    else:
        decision["calibration"] = None
    decision["calibration_text"] = describe(account, decision["calibration"])
    decision["calibration_account"] = account
    rule, scored = options.threshold, None
    decision["threshold"], decision["threshold_rule"] = None, "the arg-max (the more probable class)"
    if task == "binary" and rule is not None:
        if isinstance(rule, float):
            decision["threshold"], scored = rule, rule
            decision["threshold_rule"] = f"{rule:g} (--threshold)"
        elif probabilities is not None:
            headline = described.get("headline", {}).get("metric", "roc_auc")
            where = "the validation rows" if folds is None else "the out-of-fold predictions"
            chosen, per_row, text = choose_threshold(
                probabilities, labels, positive, rule, headline, folds if same_rows else None, where
            )
            decision["threshold"], decision["threshold_rule"] = chosen, text
            scored = per_row if same_rows else chosen
    return decision, outputs, scored
