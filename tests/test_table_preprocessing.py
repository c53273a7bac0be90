"""The table preprocessing's ingredients: robust scaling and clipping, indicators, dates, old files."""

import numpy as np
import pandas as pd
import pytest

from glassnet.tabular import CLIP, TablePreprocessor


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "amount": [1.0, 2.0, np.nan, 4.0, 1000.0] * 4,
            "day": ["2001-01-22", "2001-02-03", None, "2016-08-28", "2010-12-31"] * 4,
            "city": ["a", "b", "c", "a", "b"] * 4,
        }
    )


def test_numbers_are_robustly_scaled_and_smoothly_clipped_with_a_missing_indicator(frame):
    pre = TablePreprocessor.fit(frame, log_skewed=False)
    x = pre.transform(frame)
    names = pre.feature_names
    amount, flag = x[:, names.index("amount")], x[:, names.index("amount (missing)")]
    raw = (1000.0 - pre.means["amount"]) / pre.scales["amount"]
    assert raw > CLIP and np.all(np.abs(amount) < CLIP)  # the outlier is squeezed below the bound, not cut
    assert amount[4] == pytest.approx(raw / np.sqrt(1 + (raw / CLIP) ** 2), rel=1e-6)
    assert np.array_equal(flag, frame["amount"].isna().to_numpy(dtype=np.float32))
    assert amount[2] == pytest.approx(0.0)  # imputed with the median: the center


def test_dates_become_days_month_and_weekday(frame):
    pre = TablePreprocessor.fit(frame)
    assert list(pre.dates) == ["day"] and "day" not in pre.categorical
    x = pre.transform(frame)
    names = pre.feature_names
    days = x[:, names.index("day:days")]
    assert days[3] > days[4] > days[1] > days[0]  # later dates, more days
    month = np.arctan2(x[:, names.index("day:month_sin")], x[:, names.index("day:month_cos")])
    assert month[0] == pytest.approx(0.0, abs=1e-6)  # January
    assert any("date column 'day'" in line for line in pre.describe())


def test_each_ingredient_can_be_switched_off_and_the_file_form_round_trips(frame):
    plain = TablePreprocessor.fit(frame, scaling="standard", clip=0, indicators=False, dates=False)
    assert not plain.indicators and not plain.dates and "day" in plain.categorical
    for pre in (plain, TablePreprocessor.fit(frame)):
        again = TablePreprocessor.from_dict(pre.to_dict())
        np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))


def test_heavy_tailed_columns_are_taken_as_log1p_before_scaling(frame):
    rng = np.random.default_rng(0)
    table = frame.assign(
        queue=np.r_[np.zeros(16), [3, 10, 200, 5000]],  # mostly 0, a long tail: a count
        signed=np.r_[rng.normal(size=19), 40.0],  # skewed but negative values: left alone
        flag=np.r_[np.zeros(18), [1, 1]],  # two values: an indicator, not a tail
    )
    pre = TablePreprocessor.fit(table)
    assert pre.logs == ["queue"]
    assert any("log(1 + x)" in line and "queue" in line for line in pre.describe())
    x = pre.transform(table)
    queue = x[:, pre.feature_names.index("queue")]
    assert queue[16] > 0.1 and queue[17] > queue[16]  # 3 and 10 are told apart from 0 (and from each other)
    plain = TablePreprocessor.fit(table, log_skewed=False)  # scaled by half the range: 3 is 0.001
    assert plain.logs == [] and plain.transform(table)[16, plain.feature_names.index("queue")] < 0.01
    new = table.iloc[:2].assign(queue=[-5.0, np.nan])  # a negative count counts as 0; missing: the median
    again = TablePreprocessor.from_dict(pre.to_dict()).transform(new)
    assert np.all(np.isfinite(again)) and again[0, pre.feature_names.index("queue")] == pytest.approx(
        x[0, pre.feature_names.index("queue")]
    )


def test_files_written_before_robust_scaling_still_standardize(frame):
    data = TablePreprocessor.fit(frame, scaling="standard", clip=0, indicators=False, dates=False).to_dict()
    for key in ("scaling", "clip", "indicators", "dates", "logs"):
        del data[key]
    old = TablePreprocessor.from_dict(data)
    assert old.scaling == "standard" and old.clip == 0 and old.logs == []
    numbers = frame["amount"].fillna(frame["amount"].median())
    expected = (numbers - numbers.mean()) / numbers.std(ddof=0)
    np.testing.assert_allclose(old.transform(frame)[:, 0], expected, rtol=1e-5)


def test_a_categorical_column_with_many_levels_keeps_its_most_frequent():
    import pandas as pd

    from glassnet.tabular import MAX_LEVELS, TablePreprocessor

    rng = np.random.default_rng(0)
    common = [f"c{i:03d}" for i in range(MAX_LEVELS)]
    rare = [f"r{i:03d}" for i in range(100)]  # seen once each
    frame = pd.DataFrame({"code": common * 3 + rare, "x": rng.normal(size=3 * MAX_LEVELS + 100)})
    pre = TablePreprocessor.fit(frame)
    assert pre.categories["code"] == sorted(common) and pre.capped == {"code": MAX_LEVELS + 100}
    assert any(
        "many levels" in line and f"{MAX_LEVELS} of {MAX_LEVELS + 100} levels" in line for line in pre.describe()
    )
    encoded = pre.transform(frame.iloc[-3:])
    assert encoded.shape[1] == 1 + MAX_LEVELS and not encoded[:, 1:].any()  # rare levels: all zeros
    assert len(TablePreprocessor.fit(frame, max_levels=None).categories["code"]) == MAX_LEVELS + 100


def test_chosen_rows_are_encoded_as_the_whole_table_would_encode_them(frame):
    frame = frame.assign(queue=np.r_[np.zeros(16), [3, 10, 200, 5000]], size=[3.0, 1.0, 4.0, 1.0, 5.0] * 4)
    pre = TablePreprocessor.fit(frame)
    assert pre.logs and pre.dates and pre.categorical and pre.indicators  # every kind of encoding is checked
    whole = pre.transform(frame)
    rows = np.random.default_rng(0).permutation(len(frame))[:13]  # reordered and partial, as the splits take them
    for chosen in (rows, rows[:1], rows[:0]):
        part = pre.transform(frame, rows=chosen)
        assert part.shape == (len(chosen), whole.shape[1]) and np.array_equal(part, whole[chosen])
