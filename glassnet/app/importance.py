"""Which inputs the job's network relies on: by source column for a table, as maps for images.

Encoded columns that come from one input column (the indicators of a categorical, the features of
a date) are judged together, soundly:

- permutation importance shuffles the group's columns together, ``PERMUTATION_REPEATS`` times, and
  scores on a continuous measure (the mean log-probability of the true class, or R²), so the
  values are not quantised to one validation row;
- integrated gradients are additive (they sum to the change of the output), so a group's share of
  a row's change is the *signed* sum of its columns' attributions; the table shows its mean size;
- saliency is read as gradient × (input − mean): the first-order change of the output when the
  group moves from the mean row to the row's values. A summed ``|gradient|`` would instead grow
  with the number of indicators, however little they matter.
"""

from __future__ import annotations

import warnings

import numpy as np

from .prepare import Prepared
from .tasks import CLASSIFICATION, targets_for_network

#: How often each column (group) is shuffled; the table shows the mean and the standard deviation.
PERMUTATION_REPEATS = 5
#: The most held-out rows the importance is measured on.
IMPORTANCE_ROWS = 5000
#: The most test images the pixel maps are averaged over.
IMAGE_ROWS = 200
#: The most input columns that are shuffled: on a wider table, those with the largest integrated
#: gradients (computed for every column first; additive, so comparable across columns). 5,000
#: columns of 50 rows took 145 s of permutations, unbounded.
PERMUTED_COLUMNS = 200

#: What a permutation drop is measured in, by task (for the report and metrics.json).
PERMUTATION_SCORES = {
    "classification": "rise in cross-entropy (nats)",
    "multilabel": "rise in binary cross-entropy (nats)",
    "regression": "drop in R²",
}


def _attributions(network, rows: np.ndarray, baseline: str):
    from ..diagnostics.attribution import CompletenessWarning, explain_integrated_gradients

    with warnings.catch_warnings():  # the gap is reported in the importance section instead
        warnings.simplefilter("ignore", CompletenessWarning)
        return explain_integrated_gradients(network, rows, baseline=baseline, steps=16, max_steps=256)


def _score(task: str):
    """Higher is better, and continuous: the mean log-likelihood of the truth, or R²."""
    from ..training.metrics import pooled_r2

    tiny = np.finfo(np.float64).tiny

    def log_likelihood(truth, outputs):
        chosen = outputs[np.arange(len(truth)), truth.astype(np.intp)]
        return float(np.mean(np.log(np.maximum(chosen, tiny))))

    def binary_log_likelihood(truth, outputs):
        p = np.clip(outputs.astype(np.float64), tiny, 1 - 1e-12)
        return float(np.mean(truth * np.log(p) + (1 - truth) * np.log1p(-p)))

    if task in CLASSIFICATION:
        return log_likelihood
    return binary_log_likelihood if task == "multilabel" else pooled_r2


def _image_importance(network, prepared: Prepared) -> dict:
    from ..diagnostics import saliency

    rows = prepared.x_test[:IMAGE_ROWS]
    explained = _attributions(network, rows, "zeros")
    return {
        "kind": "image",
        "image_shape": prepared.preprocessing["image_shape"],
        "saliency": np.abs(saliency(network, rows)).mean(axis=0).tolist(),
        "integrated_gradients": np.abs(explained.attributions).mean(axis=0).tolist(),
        "completeness": explained.describe(),
    }


def compute_importance(network, prepared: Prepared, progress=None) -> dict | None:
    """Importance on the rows the network did not train on (its validation rows), by input column.

    ``progress`` (optional) is called with the number of columns done and their total, as the
    permutations go.
    """
    from ..diagnostics import grouped_attribution, permutation_importance, saliency

    if prepared.preprocessing.get("kind") == "image":
        return _image_importance(network, prepared)
    x = prepared.x_val[:IMPORTANCE_ROWS]
    if len(x) < 2:
        return None
    y = targets_for_network(prepared.task, prepared.preprocessing_arrays, prepared.y_val[:IMPORTANCE_ROWS])
    by_column: dict[str, list[int]] = {}
    for i, source in enumerate(prepared.source_columns):
        by_column.setdefault(source, []).append(i)
    columns, groups = list(by_column), list(by_column.values())
    change = (x - x.mean(axis=0)).astype(np.float64)
    gradient_x_input = grouped_attribution(saliency(network, x) * change, groups)
    explained = _attributions(network, x, "mean")
    integrated = grouped_attribution(explained.attributions, groups)
    shuffled = np.argsort(-np.abs(np.asarray(integrated)), kind="stable")[:PERMUTED_COLUMNS]
    drops, spread = np.zeros(len(groups)), np.zeros(len(groups))
    drops[shuffled], spread[shuffled] = permutation_importance(
        network, x, y, score=_score(prepared.task), n_repeats=PERMUTATION_REPEATS, seed=0,
        groups=[groups[i] for i in shuffled],
        progress=None if progress is None else (lambda done: progress(done, len(shuffled))),
    )  # fmt: skip
    permuted = set(shuffled.tolist())
    table = [
        {
            "feature": column,
            "encoded_columns": len(group),
            "permutation": float(drops[i]),
            "permutation_std": float(spread[i]),
            "permuted": i in permuted,
            "saliency": float(gradient_x_input[i]),
            "integrated_gradients": float(integrated[i]),
        }
        for i, (column, group) in enumerate(zip(columns, groups))
    ]
    table.sort(key=lambda row: (not row["permuted"], -row["permutation"], -abs(row["integrated_gradients"])))
    task = "classification" if prepared.task in CLASSIFICATION else prepared.task
    return {
        "kind": "table",
        "rows": table,
        "evaluated_rows": int(len(x)),
        "repeats": PERMUTATION_REPEATS,
        "permuted_columns": len(permuted),
        "permutation_score": PERMUTATION_SCORES[task],
        "completeness": explained.describe(),
    }
