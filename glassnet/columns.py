"""What a table's column is: its kind (guessed or declared), date text, heavy tails, a robust scale (helpers of
the table preprocessing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .exceptions import DataError

# pandas Series throughout; typed as Any so that importing this module never imports pandas.
Series = Any

#: A non-negative numeric column with more than two values and a skewness above this is taken as log1p.
SKEW = 2.0
#: A text column is a date column when at least this fraction of its values reads as an ISO date.
DATE_FRACTION = 0.95
#: A text column is numeric when at least this fraction of its present values reads as a number: its
#: other cells ("?", "-", "n/a", a stray word) are read as missing values, counted and named.
NUMERIC_FRACTION = 0.8


def heavy_tailed(numbers: Series) -> bool:
    """Non-negative, more than two distinct values, and skewness above ``SKEW``."""
    present = numbers.dropna()
    if present.empty or present.min() < 0 or present.nunique() <= 2:
        return False
    skew = present.skew()
    return bool(np.isfinite(skew) and skew > SKEW)


def robust_scale(values: Series) -> float:
    """The interquartile range of ``values``; half the range when it is 0; else 1."""
    present = values.dropna()
    if present.empty:
        return 1.0
    q25, q75 = float(present.quantile(0.25)), float(present.quantile(0.75))
    if q75 > q25:
        return q75 - q25
    spread = float(present.max() - present.min()) / 2
    return spread if spread > 0 else 1.0


def datetimes(values: Series) -> Series:
    """``values`` read as ISO dates, without time zone (NaT where a value is not one)."""
    import pandas as pd

    moments = pd.to_datetime(values.astype("string"), format="ISO8601", errors="coerce")
    if getattr(moments.dt, "tz", None) is not None:
        moments = moments.dt.tz_convert(None)
    return moments


def date_days(values: Series) -> Series:
    """Days since 1970-01-01 of ``values`` read as ISO dates (NaN where a value is not one)."""
    return days_since_1970(datetimes(values))


def days_since_1970(moments: Series) -> Series:
    """Days since 1970-01-01 of parsed dates (NaN for NaT)."""
    import pandas as pd

    return (moments - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400


#: What ``--categorical``, ``--numeric`` and ``--ignore`` declare a column to be.
COLUMN_KINDS = ("categorical", "numeric", "ignore")


def column_kind(values: Series, name: str, declared: str | None = None) -> str:
    """ "numeric", "date", "categorical", or "empty" for a column without a value (raises when such a
    column is declared: the user meant to use it).

    ``declared`` ("numeric" or "categorical", from ``--numeric``/``--categorical``) overrides the
    guess. A column of which at least :data:`NUMERIC_FRACTION` of the present values are numbers is
    numeric, its other cells missing values (:func:`not_numbers` counts them); a column declared
    numeric is numeric whatever its share.

    >>> import pandas as pd
    >>> column_kind(pd.Series(["2024-01-02", "2024-03-04"]), "day"), column_kind(pd.Series([1, 2]), "n", "categorical")
    ('date', 'categorical')
    """
    import pandas as pd

    if values.isna().all():
        if declared is None:
            return "empty"
        raise DataError(f"column {name!r}, declared with --{declared}, is entirely empty; fill it or leave it out.")
    if declared == "categorical":
        return "categorical"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "numeric"
    present = values.dropna()
    if declared != "numeric" and len(present) and date_days(present).notna().mean() >= DATE_FRACTION:
        return "date"
    if declared == "numeric":
        if pd.to_numeric(present, errors="coerce").isna().all():
            raise DataError(
                f"column {name!r} is declared with --numeric but holds no number (e.g. {present.iloc[0]!r})."
            )
        return "numeric"
    as_numbers = pd.to_numeric(present, errors="coerce")
    share = float(as_numbers.notna().mean()) if len(as_numbers) else 0.0
    return "numeric" if share >= NUMERIC_FRACTION else "categorical"


def not_numbers(values: Series) -> tuple[int, list[str]]:
    """How many present cells of a numeric column are not finite numbers (read as missing), and up to
    three of them as examples."""
    import pandas as pd

    present = values.dropna()
    numbers = pd.to_numeric(present, errors="coerce").astype(float)
    bad = ~np.isfinite(numbers)  # text, and infinities ("inf", 1e999): no value a network can use
    return int(bad.sum()), present[bad].astype(str).drop_duplicates().head(3).tolist()


def check_kinds(kinds: dict[str, str], columns: Any) -> None:
    """Declared column kinds name existing input columns and known kinds."""
    names = [str(c) for c in columns]
    unknown = [c for c in kinds if c not in names]
    if unknown:
        raise DataError(
            f"column(s) {unknown} given to --categorical/--numeric/--ignore are not input columns; the "
            f"input columns are {names[:20]}{' …' if len(names) > 20 else ''}."
        )
    wrong = {c: k for c, k in kinds.items() if k not in COLUMN_KINDS}
    if wrong:
        raise DataError(f"column kinds must be one of {COLUMN_KINDS}; got {wrong}.")
