"""What the loop trains on: the loss for a network, targets in the loss's form, the validation rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    check_class_labels,
    check_consistent_length,
    check_features,
    check_fraction,
    check_targets,
)
from ..layers import Sigmoid, Softmax
from ..losses import BinaryCrossEntropy, Loss, MeanSquaredError, SoftmaxCrossEntropy
from ..network import Sequential

#: Validation rows with their targets and optional weights.
Validation = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]


def default_loss(network: Sequential) -> Loss:
    """Cross-entropy after softmax, binary cross-entropy after sigmoid, mean squared error otherwise."""
    last = network.layers[-1]
    if isinstance(last, Softmax):
        return SoftmaxCrossEntropy()
    if isinstance(last, Sigmoid):
        return BinaryCrossEntropy()
    return MeanSquaredError()


def task_of(loss: Loss) -> str:
    if isinstance(loss, SoftmaxCrossEntropy):
        return "multiclass"
    if isinstance(loss, BinaryCrossEntropy):
        return "binary"
    return "regression"


def prepare_targets(y: Any, loss: Loss, output_dim: int, dtype: np.dtype[Any], name: str = "y") -> np.ndarray:
    """Class indices (int64) for cross-entropy with 1-D labels, float (n, k) targets otherwise."""
    if isinstance(loss, SoftmaxCrossEntropy):
        array = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if array.ndim == 2 and array.shape[1] == output_dim and output_dim > 1:
            targets = check_targets(array, name, dtype)  # rows of class probabilities
            return targets
        return check_class_labels(array, output_dim, name)
    targets = check_targets(y, name, dtype)
    if targets.ndim == 1:
        targets = targets.reshape(-1, 1)
    if targets.shape[1] != output_dim:
        raise ValueError(
            f"{name} has {targets.shape[1]} column(s) but the network has {output_dim} "
            f"output(s); got {name} of shape {targets.shape}."
        )
    if isinstance(loss, BinaryCrossEntropy) and (targets.min() < 0 or targets.max() > 1):
        raise ValueError(
            f"{name} must be in [0, 1] for binary cross-entropy; got values in [{targets.min():g}, {targets.max():g}]."
        )
    return targets


def split_validation(
    n: int, fraction: float, rng: np.random.Generator, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (and, given labels, stratified) train/validation index split.

    Never "the last rows": a sorted dataset would otherwise validate on classes it never trains on.
    """
    if labels is None or labels.ndim != 1:
        order = rng.permutation(n)
        n_val = max(1, int(round(fraction * n)))
        if n_val >= n:
            raise ValueError(f"validation_split={fraction} leaves no training data for {n} samples.")
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    val_parts, train_parts = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = int(round(fraction * len(members)))
        if len(members) > 1:
            n_val = min(max(n_val, 1), len(members) - 1)
        else:
            n_val = 0
        val_parts.append(members[:n_val])
        train_parts.append(members[n_val:])
    val_idx, train_idx = np.sort(np.concatenate(val_parts)), np.sort(np.concatenate(train_parts))
    if len(val_idx) == 0:
        raise ValueError(f"validation_split={fraction} selects no validation sample from {n} samples.")
    return train_idx, val_idx


def training_rows(
    network: Sequential,
    loss: Loss,
    x: Any,
    y: Any,
    sample_weight: Any,
    validation_data: tuple[Any, ...] | None,
    validation_split: float | None,
    rng: np.random.Generator,
    rows: Any = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None, Validation | None]:
    """Checked training rows ``(x, rows, y, sample_weight)`` and the validation rows (or None).

    ``validation_data`` is used as given; otherwise ``validation_split`` holds out a shuffled
    (stratified, for class labels) fraction of the rows, drawn from ``rng``. With ``rows`` (positions
    of x, checked by :func:`check_rows`), training uses only those rows of x, without copying them;
    ``y`` and ``sample_weight`` then hold one entry per position.
    """
    x = check_features(x, "x", network.dtype, network.input_dim if network.built else None)
    if not network.built:
        network.build(x.shape[1])
    y = prepare_targets(y, loss, network.output_dim, network.dtype)
    if rows is not None:
        rows = check_rows(rows, len(x))
    selected = x if rows is None else rows
    check_consistent_length(selected, y, "x" if rows is None else "rows")
    if sample_weight is not None:
        sample_weight = check_targets(sample_weight, "sample_weight", network.dtype).ravel()
        check_consistent_length(selected, sample_weight, "x" if rows is None else "rows", "sample_weight")
        if sample_weight.min() < 0:
            raise ValueError("sample_weight must be non-negative.")
    if validation_data is not None:
        return x, rows, y, sample_weight, _given_validation(network, loss, validation_data)
    if not validation_split:
        return x, rows, y, sample_weight, None
    if rows is not None:
        raise ValueError("validation_split cannot split a subset of rows; pass validation_data instead.")
    fraction = check_fraction(validation_split, "validation_split", low_open=True)
    train_idx, val_idx = split_validation(len(x), fraction, rng, y if y.ndim == 1 else None)
    w_val = None if sample_weight is None else sample_weight[val_idx]
    w_train = None if sample_weight is None else sample_weight[train_idx]
    return x[train_idx], None, y[train_idx], w_train, (x[val_idx], y[val_idx], w_val)


def check_rows(rows: Any, n: int) -> np.ndarray:
    """``rows`` as a 1-D int64 array of positions in ``[0, n)``; an error names what was wrong."""
    array = np.asarray(rows)
    if array.ndim != 1 or array.dtype.kind not in "iu" or len(array) == 0:
        raise ValueError(
            f"rows must be a non-empty 1-D array of row positions; got shape {array.shape}, dtype {array.dtype}."
        )
    if array.min() < 0 or array.max() >= n:
        raise ValueError(f"rows must lie in [0, {n}) (the rows of x); got {int(array.min())} to {int(array.max())}.")
    return array.astype(np.int64, copy=False)


def _given_validation(network: Sequential, loss: Loss, validation_data: Any) -> Validation:
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, weights).")
    x_val = check_features(validation_data[0], "x_val", network.dtype, network.input_dim)
    y_val = prepare_targets(validation_data[1], loss, network.output_dim, network.dtype, "y_val")
    check_consistent_length(x_val, y_val, "x_val", "y_val")
    weights = None if len(validation_data) == 2 else validation_data[2]
    w_val = None if weights is None else check_targets(weights, "sample_weight_val", network.dtype).ravel()
    return x_val, y_val, w_val
