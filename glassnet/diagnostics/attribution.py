"""Which inputs the network relies on: saliency, integrated gradients, permutation importance.

The two gradient methods use the network's own backward pass (inference mode). For a classifier
they differentiate the logit of the target class (the predicted one unless given); for a
regressor, the sum of the outputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .._validation import check_features
from ..layers import Sigmoid, Softmax
from ..pages import row_blocks
from ..training.metrics import pooled_r2


def _logit_stop(network) -> int | None:
    return len(network.layers) - 1 if isinstance(network.layers[-1], (Softmax, Sigmoid)) else None


def _selection(outputs: np.ndarray, target: np.ndarray | None, stop: int | None) -> np.ndarray:
    """Which outputs the gradient methods explain, as 0/1 weights: the target class's logit per row
    for a classifier (the predicted one unless given), every output (their sum) for a regressor."""
    seed = np.zeros_like(outputs)
    if outputs.shape[1] == 1 or target is None and stop is None:
        seed[...] = 1.0
    else:
        classes = outputs.argmax(axis=1) if target is None else target
        seed[np.arange(len(outputs)), classes] = 1.0
    return seed


#: The most rows one forward and backward pass of the gradient methods takes. Each layer keeps
#: buffers as large as the largest batch it saw, so more rows are explained in blocks of this many.
ATTRIBUTION_BATCH = 1024


def _input_gradient(network, x: np.ndarray, target: np.ndarray | None) -> np.ndarray:
    stop = _logit_stop(network)
    if len(x) <= ATTRIBUTION_BATCH:
        outputs = network.forward(x, stop=stop)
        return network.backward(_selection(outputs, target, stop), stop=stop)
    gradient = np.empty(x.shape, dtype=network.dtype)
    for start, block in row_blocks(x, ATTRIBUTION_BATCH):
        rows = slice(start, start + len(block))
        gradient[rows] = _input_gradient(network, block, None if target is None else target[rows])
    return gradient


def _outputs(network, x: np.ndarray, stop: int | None) -> np.ndarray:
    """The network's outputs before layer ``stop`` (inference mode), in blocks of ATTRIBUTION_BATCH rows."""
    blocks = [network.forward(block, stop=stop) for _, block in row_blocks(x, ATTRIBUTION_BATCH)]
    return np.concatenate(blocks) if blocks else network.forward(x, stop=stop)


def saliency(network, x, target=None) -> np.ndarray:
    """Input-gradient saliency ``∂f_target/∂x`` for each row (n_samples, n_features).

    Parameters
    ----------
    network : Sequential
    x : array-like of shape (n_samples, n_features)
    target : array-like of int, optional
        Class per row whose logit is differentiated (default: the predicted class).
    """
    x = check_features(x, "x", network.dtype, network.input_dim)
    target = None if target is None else np.asarray(target, dtype=np.intp)
    return _input_gradient(network, x, target)


#: Integrated gradients refine their path integral until the completeness gap is at most this.
IG_TOLERANCE = 0.01
#: The most integration steps integrated gradients will take to meet the tolerance.
IG_MAX_STEPS = 1024


class CompletenessWarning(RuntimeWarning):
    """Integrated gradients stopped at their step budget with a completeness gap above the tolerance."""


@dataclass
class IntegratedGradients:
    """Integrated-gradient attributions and how well they satisfy completeness.

    Attributes
    ----------
    attributions : ndarray of shape (n_samples, n_features)
    gap : float
        ``Σ_rows |Σ_features attribution − (f(x) − f(x′))| / Σ_rows |f(x) − f(x′)|``: 0 when the
        attributions of every row add up exactly to the change of the explained output.
    worst_row_gap : float
        The largest per-row gap, relative to the mean ``|f(x) − f(x′)|`` of the batch.
    steps : int
        Integration steps used.
    converged : bool
        Whether ``gap`` reached the tolerance within the step budget.
    """

    attributions: np.ndarray
    gap: float
    worst_row_gap: float
    steps: int
    converged: bool

    def describe(self) -> str:
        verdict = "within" if self.converged else "NOT within"
        return (
            f"integrated gradients with {self.steps} steps: attributions sum to f(x) − f(baseline) within "
            f"{100 * self.gap:.2f}% over the batch (worst row {100 * self.worst_row_gap:.2f}% of the mean change), "
            f"{verdict} the tolerance"
        )


def _explained_output(network, x: np.ndarray, target: np.ndarray | None) -> np.ndarray:
    """The scalar per row that the gradient methods differentiate (see :func:`_selection`)."""
    stop = _logit_stop(network)
    outputs = _outputs(network, x, stop).astype(np.float64)
    return (outputs * _selection(outputs, target, stop)).sum(axis=1)


def explain_integrated_gradients(
    network,
    x,
    target=None,
    baseline: np.ndarray | str = "zeros",
    steps: int = 32,
    *,
    tolerance: float = IG_TOLERANCE,
    max_steps: int = IG_MAX_STEPS,
) -> IntegratedGradients:
    """Integrated gradients (Sundararajan et al., 2017) with their completeness check.

    ``(x − x′) ⊙ mean_α ∂f(x′ + α(x − x′))/∂x`` by the midpoint rule, where ``baseline`` x′ is
    ``"zeros"``, ``"mean"`` (the mean row of ``x``) or an array of shape (n_features,). Starting
    from ``steps``, the number of points doubles until the attributions add up to
    ``f(x) − f(x′)`` within ``tolerance`` (relative, over the batch) or ``max_steps`` is reached;
    then a :class:`CompletenessWarning` says how far off they are.
    """
    x = check_features(x, "x", network.dtype, network.input_dim)
    if isinstance(baseline, str):
        if baseline not in ("zeros", "mean"):
            raise ValueError(f"baseline must be 'zeros', 'mean' or an array; got baseline={baseline!r}.")
        reference = np.zeros(x.shape[1], dtype=x.dtype) if baseline == "zeros" else x.mean(axis=0)
    else:
        reference = np.asarray(baseline, dtype=x.dtype).reshape(-1)
    if not isinstance(steps, int) or steps < 1 or not isinstance(max_steps, int) or max_steps < steps:
        raise ValueError(
            f"steps must be a positive integer no larger than max_steps; got steps={steps!r}, max_steps={max_steps!r}."
        )
    if target is None:
        stop = _logit_stop(network)
        target = _outputs(network, x, stop).argmax(axis=1) if stop is not None else None
    target = None if target is None else np.asarray(target, dtype=np.intp)
    delta = x - reference
    change = _explained_output(network, x, target) - _explained_output(
        network, np.ascontiguousarray(np.broadcast_to(reference, x.shape), dtype=x.dtype), target
    )
    scale = max(float(np.abs(change).sum()), np.finfo(np.float64).tiny)
    while True:
        total = np.zeros_like(x, dtype=np.float64)
        for alpha in (np.arange(steps) + 0.5) / steps:
            point = np.ascontiguousarray(reference + alpha * delta, dtype=x.dtype)
            total += _input_gradient(network, point, target)
        attributions = delta * total / steps
        misses = np.abs(attributions.sum(axis=1) - change)
        gap = float(misses.sum() / scale)
        if gap <= tolerance or steps * 2 > max_steps:
            break
        steps *= 2
    worst = float(misses.max() / (scale / len(x))) if len(x) else 0.0
    result = IntegratedGradients(attributions.astype(x.dtype), gap, worst, steps, gap <= tolerance)
    if not result.converged:
        warnings.warn(
            result.describe() + f" ({100 * tolerance:g}%); raise max_steps.", CompletenessWarning, stacklevel=2
        )
    return result


def integrated_gradients(
    network,
    x,
    target=None,
    baseline: np.ndarray | str = "zeros",
    steps: int = 32,
    *,
    tolerance: float = IG_TOLERANCE,
    max_steps: int = IG_MAX_STEPS,
) -> np.ndarray:
    """Integrated-gradient attributions (n_samples, n_features); see :func:`explain_integrated_gradients`.

    The attributions of the batch add up to ``f(x) − f(x′)`` within ``tolerance`` (completeness),
    or a :class:`CompletenessWarning` says by how much they miss it.
    """
    return explain_integrated_gradients(
        network, x, target, baseline, steps, tolerance=tolerance, max_steps=max_steps
    ).attributions


def permutation_importance(
    network,
    x,
    y,
    score: Callable[[np.ndarray, np.ndarray], float] | None = None,
    n_repeats: int = 5,
    seed: int = 0,
    groups: Sequence[Sequence[int]] | None = None,
    progress: Callable[[int], object] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Drop in score when one feature's column is shuffled (mean and std over ``n_repeats``).

    ``score(y, predictions)`` defaults to accuracy for a softmax output and to R² otherwise
    (higher is better); predictions are ``network.predict(x)``. ``groups`` (lists of column
    indices, such as the one-hot columns of one categorical input) are shuffled together, one
    result per group; by default every feature is its own group. ``progress``, when given, is
    called with the number of groups done after each one.
    """
    x = check_features(x, "x", network.dtype, network.input_dim)
    y = np.asarray(y)
    if score is None:
        if isinstance(network.layers[-1], Softmax):

            def score(truth, predicted):
                return float(np.mean(predicted.argmax(axis=1) == truth))
        else:
            score = pooled_r2
    groups = [[feature] for feature in range(x.shape[1])] if groups is None else [list(g) for g in groups]
    rng = np.random.default_rng(seed)
    base = score(y, network.predict(x))
    drops = np.zeros((len(groups), n_repeats))
    shuffled = x.copy()
    for index, columns in enumerate(groups):
        for repeat in range(n_repeats):
            shuffled[:, columns] = x[np.ix_(rng.permutation(len(x)), columns)]
            drops[index, repeat] = base - score(y, network.predict(shuffled))
        shuffled[:, columns] = x[:, columns]
        if progress is not None:
            progress(index + 1)
    return drops.mean(axis=1), drops.std(axis=1)


def grouped_attribution(attributions: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Each group's mean ``|Σ attribution|`` over rows: additive attributions judged by input column.

    For attributions that add up to the change of the output (integrated gradients, or
    gradient × (input − baseline) to first order), the signed sum over a group's columns (the
    one-hot indicators of one categorical, say) is that input's share of the change. Summing
    absolute values instead would grow with the number of columns in the group.
    """
    attributions = np.asarray(attributions, dtype=np.float64)
    return np.array([np.abs(attributions[:, list(group)].sum(axis=1)).mean() for group in groups])


def feature_importance(network, x, y=None, feature_names=None, n_repeats: int = 5, seed: int = 0) -> dict:
    """Per-feature importance by all three methods, as columns of one table.

    Returns a dict with ``feature``, ``saliency`` (mean |gradient|),
    ``integrated_gradients`` (mean |attribution|), and, when ``y`` is given, ``permutation`` and
    ``permutation_std``; rows are sorted by integrated gradients.
    """
    x = check_features(x, "x", network.dtype, network.input_dim)
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(x.shape[1])]
    table = {
        "feature": names,
        "saliency": np.abs(saliency(network, x)).mean(axis=0),
        "integrated_gradients": np.abs(integrated_gradients(network, x, baseline="mean")).mean(axis=0),
    }
    if y is not None:
        table["permutation"], table["permutation_std"] = permutation_importance(
            network, x, y, n_repeats=n_repeats, seed=seed
        )
    order = np.argsort(-table["integrated_gradients"])
    return {
        key: [values[i] for i in order] if isinstance(values, list) else np.asarray(values)[order]
        for key, values in table.items()
    }
