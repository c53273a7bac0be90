"""What a table's column is: date text, heavy tails, a robust scale (helpers of the table preprocessing)."""

from __future__ import annotations

from typing import Any

import numpy as np

# pandas Series throughout; typed as Any so that importing this module never imports pandas.
Series = Any

#: A non-negative numeric column with more than two values and a skewness above this is taken as log1p.
SKEW = 2.0
#: A text column is a date column when at least this fraction of its values reads as an ISO date.
DATE_FRACTION = 0.95


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
