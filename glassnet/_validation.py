"""Input checks shared by the engine, the training loop and the estimators.

Every error names the argument, what was expected and what was received.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .pages import mapping_of, row_blocks

FLOAT_DTYPES = (np.float32, np.float64)


def check_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy float dtype, or raise if it is not float32/float64."""
    try:
        resolved: np.dtype[Any] = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32 or float64; got dtype={dtype!r}.") from exc
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64; got dtype={resolved}.")
    return resolved


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer; got {name}={value!r}.")
    return int(value)


def check_positive_float(value: Any, name: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {name}={value!r}.")
    number = float(value)
    ok = number >= 0 if allow_zero else number > 0
    if not ok or not np.isfinite(number):
        bound = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {bound} finite number; got {name}={number!r}.")
    return number


def check_fraction(value: Any, name: str, low_open: bool = False, high_open: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1); got {name}={value!r}.")
    number = float(value)
    low_ok = number > 0 if low_open else number >= 0
    high_ok = number < 1 if high_open else number <= 1
    if not (low_ok and high_ok):
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {interval}; got {name}={number!r}.")
    return number


def all_finite(array: np.ndarray) -> bool:
    """True when every entry of a float array is finite, without an array-sized temporary.

    A sum is non-finite whenever an entry is NaN or ±inf, so a finite sum proves the array
    finite; only a non-finite sum (a NaN, an inf, or an overflow of large finite values) needs
    the exact element-wise check.
    """
    if array.dtype.kind != "f":
        return True
    if array.ndim and mapping_of(array) is not None:  # a file-mapped cache: block by block, pages released
        rows = max(1, 2**22 // max(1, array[0].size))
        return all(all_finite(np.array(block)) for _, block in row_blocks(array, rows))
    if array.size < 65_536:  # small: the exact check is as cheap
        return bool(np.isfinite(array).all())
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(array.reshape(-1))):
            return True
    return bool(np.isfinite(array).all())


def check_features(x: Any, name: str = "x", dtype: Any = np.float32, n_features: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite 2-D C-contiguous array of ``dtype``.

    A float array already of ``dtype`` and C-contiguous is returned without a copy.
    """
    dtype = check_dtype(dtype)
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):  # pandas
        x = x.to_numpy()
    try:
        array = np.asarray(x)
    except Exception as exc:  # ragged lists and other non-array input
        raise ValueError(f"{name} must be a 2-D numeric array; could not convert it: {exc}") from exc
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(
            f"{name} must be numeric; got an array of dtype {array.dtype}. "
            "Encode text columns first (glassnet train does this for tables)."
        )
    if array.ndim != 2:
        hint = " Use x.reshape(-1, 1) for a single feature." if array.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features); got shape {array.shape}.{hint}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: got shape {array.shape}; at least 1 sample is needed.")
    if array.shape[1] == 0:
        raise ValueError(f"{name} has no features: got shape {array.shape}.")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(
            f"{name} has {array.shape[1]} features, but the network expects {n_features}; got shape {array.shape}."
        )
    array = np.ascontiguousarray(array, dtype=dtype)
    if not all_finite(array):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); impute or drop them first.")
    return array


def check_targets(y: Any, name: str = "y", dtype: Any = np.float32) -> np.ndarray:
    """Return finite numeric targets as an array of ``dtype`` (1-D or 2-D kept)."""
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
        y = y.to_numpy()
    array = np.asarray(y)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must be numeric; got an array of dtype {array.dtype}.")
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D; got shape {array.shape}.")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: got shape {array.shape}.")
    array = np.ascontiguousarray(array, dtype=check_dtype(dtype))
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop or fill those rows first.")
    return array


def check_class_labels(y: Any, n_classes: int, name: str = "y") -> np.ndarray:
    """Return integer class indices in ``[0, n_classes)`` as an int64 1-D array."""
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
        y = y.to_numpy()
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(f"{name} must hold one class index per sample (1-D); got shape {array.shape}.")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty.")
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise TypeError(
            f"{name} must hold integer class indices; got dtype {array.dtype}. Use DNNClassifier for string labels."
        )
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        if not np.all(array == np.round(array)):
            raise ValueError(
                f"{name} must hold integer class indices; got non-integer values "
                f"such as {array[array != np.round(array)][0]!r}."
            )
    labels = array.astype(np.int64)
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"{name} holds class indices in [{low}, {high}], but the network has "
            f"{n_classes} outputs, so labels must be in [0, {n_classes - 1}]."
        )
    return labels


def check_consistent_length(x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(f"{x_name} and {y_name} must have the same number of samples; got {len(x)} and {len(y)}.")
