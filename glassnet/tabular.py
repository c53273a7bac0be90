"""Tables in: inferring the task, and the preprocessing fitted on training rows (reading is in io/tables.py).

The preprocessing is pandas underneath and is stored in model files as JSON plus arrays (no
pickle). Rules, documented for the report:

- **constant columns** (one distinct value) and **ID-like columns** (every value distinct, and
  text or integer) are dropped with a message;
- **numeric columns**: missing values are imputed with the training median and flagged by a 0/1
  indicator feature ``"column (missing)"`` (when the column had missing values in training: that
  a value is missing often says something); a heavy-tailed column (non-negative, more than two
  values, skewness above 2: counts, amounts, sizes) is taken as ``log(1 + x)`` first, so that its
  common small values are not squeezed together by its rare large ones; then robustly scaled,
  ``(x − median) / IQR`` (the half range when the interquartile range is 0), and smoothly
  clipped, ``x / √(1 + (x/3)²)``, so that an outlier cannot dominate a unit (RealMLP's
  preprocessing, Holzmüller et al. 2024).
  Model files written before 0.6 standardize with the mean and standard deviation instead, and
  still do;
- **date columns** (text of which 95 % or more reads as ISO dates, ``YYYY-MM-DD[ hh:mm:ss]``)
  become numbers: the days since 1970 (scaled and clipped as a numeric column), and the month and
  the day of the week as points on a circle (sine and cosine), so that December is next to January;
- **categorical columns** (text, boolean, pandas category): missing values become their own
  category ``"(missing)"``, then one-hot encoded over the training categories; a category unseen
  in training encodes as all zeros (no crash);
- a column without a value is dropped and named (an error when declared); a text column of which at least 80 %
  of the values are numbers is numeric, its other cells (``?``, ``-``, ``n/a``, a stray word) read
  as missing values, counted and named with examples (``--categorical`` keeps them as categories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .columns import (
    check_kinds,
    column_kind,
    date_days,
    datetimes,
    days_since_1970,
    heavy_tailed,
    not_numbers,
    robust_scale,
)
from .exceptions import DataError
from .io.tables import read_table

__all__ = ["DataError", "TablePreprocessor", "infer_task", "read_table"]

MISSING = "(missing)"
#: Smooth clipping bound of scaled numeric features: x / √(1 + (x/CLIP)²) stays within ±CLIP.
CLIP = 3.0
#: A categorical column keeps one-hot indicators for at most this many of its levels (the most frequent).
MAX_LEVELS = 256
#: The features a date column becomes.
DATE_PARTS = ("days", "month_sin", "month_cos", "weekday_sin", "weekday_cos")


def infer_task(target) -> str:
    """ "classification" for text/boolean/few-integer targets, "regression" for real numbers."""
    import pandas as pd

    values = target.dropna()
    if values.empty:
        raise DataError(f"target column {target.name!r} has no values.")
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    unique = values.unique()
    integral = np.all(np.asarray(unique, dtype=float) == np.round(np.asarray(unique, dtype=float)))
    if integral and len(unique) <= max(2, min(50, int(0.05 * len(values)) + 2)):
        return "classification"
    return "regression"


def _drop_reason(values, kind: str, declared: bool, n: int) -> str | None:
    """Why a column is dropped: constant, or ID-like (every value distinct, text or whole numbers,
    and its kind not declared); None to keep it."""
    import pandas as pd

    if kind == "empty":
        return "empty (no value in the training rows)"
    distinct = values.nunique(dropna=True)
    if distinct <= 1:
        return "constant"
    integral = kind == "numeric" and np.all(np.mod(pd.to_numeric(values, errors="coerce").dropna(), 1) == 0)
    if distinct == n and n > 20 and (kind == "categorical" or integral) and not declared:
        return "ID-like (every value distinct)"
    return None


def _near_names(missing: list[str], columns) -> str:
    """The data's columns that look like the missing ones (another case, a typo), to rename."""
    import difflib

    present = [str(c) for c in columns]
    lowered = {c.lower(): c for c in present}
    near = {}
    for name in missing:
        found = lowered.get(name.lower()) or next(iter(difflib.get_close_matches(name, present, n=1, cutoff=0.8)), None)
        if found is not None:
            near[name] = found
    return "".join(f"; the data has {found!r}: if that is {name!r}, rename it" for name, found in near.items())


@dataclass
class TablePreprocessor:
    """Column-wise preprocessing fitted on training rows only (see the module docstring).

    Attributes
    ----------
    numeric, categorical : list of str
        Kept input columns by kind.
    dropped : dict of str to str
        Dropped columns and why.
    dates : dict of str to dict
        Date columns, with the center and scale of their day counts.
    medians, means, scales : dict of str to float
        ``means`` holds the center subtracted before scaling: the median for robust scaling.
    scaling : "robust" or "standard"
        ``"standard"`` (mean and standard deviation, no clipping) in model files before 0.6.
    clip : float
        The smooth clipping bound (0: none).
    indicators : list of str
        Numeric columns with a missing-value indicator feature.
    logs : list of str
        Heavy-tailed numeric columns taken as ``log(1 + x)`` before scaling.
    categories : dict of str to list of str
    imputed : dict of str to int
        Missing values imputed per column in the training rows.
    """

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)
    dates: dict[str, dict[str, float]] = field(default_factory=dict)
    scaling: str = "standard"
    clip: float = 0.0
    indicators: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    #: Categorical columns with more levels than ``max_levels``: their level counts (told, not saved).
    capped: dict[str, int] = field(default_factory=dict)
    #: Numeric columns with cells that are not numbers, read as missing: their count and examples (told).
    not_numbers: dict[str, tuple[int, list]] = field(default_factory=dict)

    @classmethod
    def validate(cls, frame, kinds: dict[str, str] | None = None) -> None:
        """Check every column of the whole table (before any split), as declared in ``kinds``."""
        kinds = kinds or {}
        check_kinds(kinds, frame.columns)
        for column in frame.columns:
            if kinds.get(str(column)) != "ignore":
                column_kind(frame[column], str(column), kinds.get(str(column)))

    @classmethod
    def fit(
        cls,
        frame,
        *,
        scaling: str = "robust",
        clip: float = CLIP,
        indicators: bool = True,
        dates: bool = True,
        log_skewed: bool = True,
        kinds: dict[str, str] | None = None,
        max_levels: int | None = MAX_LEVELS,
    ) -> TablePreprocessor:
        """Fit on the training rows.

        ``kinds`` declares columns "categorical", "numeric" or "ignore" (the command line's
        ``--categorical``, ``--numeric`` and ``--ignore``); the other columns' kinds are guessed.
        The other keywords switch single ingredients off (for ablations): ``scaling="standard"``
        (training mean and standard deviation), ``clip=0`` (no smooth clipping), no missing-value
        indicators, dates read as categories, no log of heavy-tailed columns. ``max_levels`` caps a
        categorical column's indicators at its most frequent levels (None: no cap).
        """

        if frame.shape[1] == 0:
            raise DataError("no input columns left besides the target.")
        if scaling not in ("robust", "standard"):
            raise ValueError(f"scaling must be 'robust' or 'standard'; got {scaling!r}.")
        kinds = kinds or {}
        check_kinds(kinds, frame.columns)
        pre = cls(scaling=scaling, clip=float(clip))
        n = len(frame)
        for column in frame.columns:
            values = frame[column]
            name = str(column)
            declared = kinds.get(name)
            if declared == "ignore":
                pre.dropped[name] = "ignored, as asked (--ignore)"
                continue
            kind = column_kind(values, name, declared)
            if kind == "date" and not dates:
                kind = "categorical"
            reason = _drop_reason(values, kind, declared is not None, n)
            if reason:
                pre.dropped[name] = reason
                continue
            junk = not_numbers(values) if kind == "numeric" else (0, [])  # cells read as missing values
            missing = int(values.isna().sum()) + junk[0]
            if missing:
                pre.imputed[name] = missing
            if kind == "numeric":
                pre._fit_numeric_column(name, values, log_skewed, junk)
                if missing and indicators:
                    pre.indicators.append(name)
            elif kind == "date":
                days = date_days(values)
                pre.dates[name] = {"median": float(days.median()), "scale": robust_scale(days)}
            else:
                pre.categorical.append(name)
                pre.categories[name], seen = _levels(values, max_levels)
                if seen > len(pre.categories[name]):
                    pre.capped[name] = seen
        if not (pre.numeric or pre.categorical or pre.dates):
            raise DataError("every input column was dropped (constant, empty or ID-like); nothing to learn from.")
        return pre

    def _fit_numeric_column(self, name: str, values, log_skewed: bool, junk: tuple[int, list]) -> None:
        """A numeric column: its cells that are not finite numbers counted (read as missing), the log of a
        heavy tail, then its statistics."""
        import pandas as pd

        if junk[0]:  # columns.not_numbers: how many cells were not finite numbers, with examples
            self.not_numbers[name] = junk
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        numbers = numbers.where(np.isfinite(numbers))  # an infinity is a missing value too
        if log_skewed and heavy_tailed(numbers):
            self.logs.append(name)
            numbers = np.log1p(numbers)
        self._fit_numeric(name, numbers)

    def _fit_numeric(self, name: str, numbers) -> None:
        median = float(numbers.median())
        self.numeric.append(name)
        self.medians[name] = median
        if self.scaling == "robust":
            self.means[name], self.scales[name] = median, robust_scale(numbers)
        else:
            filled = numbers.fillna(median)
            std = float(filled.std(ddof=0))
            self.means[name], self.scales[name] = float(filled.mean()), std if std > 0 else 1.0

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric) + [f"{column} (missing)" for column in self.indicators]
        names += [f"{column}:{part}" for column in self.dates for part in DATE_PARTS]
        for column in self.categorical:
            names += [f"{column}={value}" for value in self.categories[column]]
        return names

    def source_columns(self) -> list[str]:
        """For each output feature, the input column it comes from."""
        return (
            list(self.numeric)
            + list(self.indicators)
            + [c for c in self.dates for _ in DATE_PARTS]
            + [c for c in self.categorical for _ in self.categories[c]]
        )

    def transform(self, frame, rows: np.ndarray | None = None) -> np.ndarray:
        """Encode a DataFrame with the training statistics into float32 (n, n_features).

        ``rows`` (positions in ``frame``) encodes only those rows, in that order: a reordered or
        partial matrix without a matrix of every row first. Each cell's encoding depends on that
        cell alone, so the result equals ``transform(frame)[rows]``. The result is allocated once
        and filled column block by column block (each computed in float64, then stored): the memory
        is the matrix plus one block, not every block in float64 and their concatenation as well.
        """
        import pandas as pd

        missing = [c for c in self.numeric + list(self.dates) + self.categorical if c not in frame.columns]
        if missing:
            raise DataError(
                f"the data lacks column(s) the model was trained on: {missing}{_near_names(missing, frame.columns)}."
            )

        def column(name: str):
            return frame[name] if rows is None else frame[name].iloc[rows]

        out = np.empty((len(frame) if rows is None else len(rows), len(self.feature_names)), dtype=np.float32)
        at = 0
        for name in self.numeric:  # a missing value: the training median's place
            scaled = self.standardized(column(name), name)
            imputed = (self.medians[name] - self.means[name]) / self.scales[name]
            out[:, at] = self._scaled(np.where(np.isnan(scaled), imputed, scaled))
            at += 1
        for name in self.indicators:
            numbers = pd.to_numeric(column(name), errors="coerce").astype(float).to_numpy()
            out[:, at] = ~np.isfinite(numbers)
            at += 1
        for name, stats in self.dates.items():
            block = self._date_features(column(name), stats)
            out[:, at : at + block.shape[1]] = block
            at += block.shape[1]
        for name in self.categorical:
            text = column(name).astype("string").fillna(MISSING)
            codes = pd.Index(self.categories[name]).get_indexer(text)  # unseen → -1
            width = len(self.categories[name])
            onehot = out[:, at : at + width]
            onehot[:] = 0.0
            known = codes >= 0
            onehot[np.flatnonzero(known), codes[known]] = 1.0
            at += width
        return out

    def standardized(self, values, name: str) -> np.ndarray:
        """Numeric column ``name``'s values as the network's input holds them before the smooth clipping:
        the log of a heavy-tailed column, less the training center, over the training scale; NaN for a
        missing value, a cell that is not a number (columns.not_numbers) or an infinity."""
        import pandas as pd

        numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        numbers = np.where(np.isfinite(numbers), numbers, np.nan)
        if name in self.logs:
            numbers = np.log1p(np.maximum(numbers, 0.0))  # a negative value at predict time counts as 0
        return (numbers - self.means[name]) / self.scales[name]

    def _scaled(self, values: np.ndarray) -> np.ndarray:
        """Smooth clipping of scaled values (none for files written before 0.6)."""
        if not self.clip:
            return values
        return values / np.sqrt(1.0 + (values / self.clip) ** 2)

    def _date_features(self, values, stats: dict[str, float]) -> np.ndarray:
        moments = datetimes(values)
        days = days_since_1970(moments).fillna(stats["median"]).to_numpy(dtype=float)
        month = moments.dt.month.fillna(1).to_numpy(dtype=float) - 1
        weekday = moments.dt.day_of_week.fillna(0).to_numpy(dtype=float)
        month_angle, weekday_angle = 2 * np.pi * month / 12, 2 * np.pi * weekday / 7
        columns = [
            self._scaled((days - stats["median"]) / stats["scale"]),
            np.sin(month_angle),
            np.cos(month_angle),
            np.sin(weekday_angle),
            np.cos(weekday_angle),
        ]
        return np.stack(columns, axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "table",
            "numeric": self.numeric,
            "categorical": self.categorical,
            "dropped": self.dropped,
            "medians": self.medians,
            "means": self.means,
            "scales": self.scales,
            "categories": self.categories,
            "imputed": self.imputed,
            "dates": self.dates,
            "scaling": self.scaling,
            "clip": self.clip,
            "indicators": self.indicators,
            "logs": self.logs,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TablePreprocessor:
        if not isinstance(data, dict) or data.get("kind") != "table":
            raise DataError("the model's preprocessing is not for tables.")
        fields = ("numeric", "categorical", "dropped", "medians", "means", "scales", "categories", "imputed")
        pre = cls(**{k: data.get(k) or type(getattr(cls(), k))() for k in fields})
        pre.dates = dict(data.get("dates") or {})
        pre.indicators = list(data.get("indicators") or [])
        pre.logs = list(data.get("logs") or [])
        pre.scaling = str(data.get("scaling") or "standard")  # files before 0.6: standardization
        pre.clip = float(data.get("clip") or 0.0)
        return pre

    def describe(self) -> list[str]:
        scaled = (
            f"robustly scaled (training median and interquartile range) and smoothly clipped to ±{self.clip:g}"
            if self.scaling == "robust"
            else "standardized (training mean and std)"
        )
        levels = [f"{c} ({len(self.categories[c])})" for c in self.categorical]
        lines = [
            f"{len(self.numeric)} numeric column(s){_names(self.numeric)} {scaled}; missing values imputed with "
            f"the training median"
            + (f", flagged by an indicator in {len(self.indicators)} column(s)" if self.indicators else ""),
            f"{len(self.categorical)} categorical column(s){_names(levels)} one-hot encoded "
            f"({sum(len(v) for v in self.categories.values())} indicator features; missing values are "
            f"their own category, unseen categories encode as all zeros)",
        ]
        if self.capped:
            many = ", ".join(f"{c} ({len(self.categories[c])} of {n:,} levels)" for c, n in self.capped.items())
            lines.append(f"many levels: indicators for the most frequent only, the others encode as unseen: {many}")
        if self.logs:
            lines.append(f"heavy-tailed column(s) taken as log(1 + x) before scaling: {', '.join(self.logs)}")
        for column in self.dates:
            lines.append(
                f"date column {column!r} → days since 1970 (scaled like a numeric column), month and "
                "day of the week as sine and cosine"
            )
        for column, reason in self.dropped.items():
            lines.append(f"dropped column {column!r}: {reason}")
        for column, (count, examples) in self.not_numbers.items():
            shown = ", ".join(repr(e) for e in examples)
            lines.append(
                f"column {column!r} is numeric: its {count} cell(s) that are not numbers ({shown}) are read as missing "
                f"values (--categorical {column} keeps them as categories instead)"
            )
        for column, count in self.imputed.items():
            lines.append(f"imputed {count} missing value(s) in {column!r}")
        return lines


def _levels(values, max_levels: int | None) -> tuple[list[str], int]:
    """A categorical column's levels that get an indicator (at most ``max_levels``, the most frequent,
    ties by name; sorted), and how many levels it has."""
    counts = values.astype("string").fillna(MISSING).value_counts()
    levels = sorted(counts.index.tolist())
    if max_levels is not None and len(levels) > max_levels:
        levels = sorted(sorted(levels, key=lambda level: (-counts[level], level))[:max_levels])
    return levels, len(counts)


def _names(columns: list[str], limit: int = 12) -> str:
    """`` (a, b, c)``: the first ``limit`` names, for a description line ("" for none)."""
    if not columns:
        return ""
    shown = ", ".join(columns[:limit]) + (f", … ({len(columns) - limit} more)" if len(columns) > limit else "")
    return f" ({shown})"
