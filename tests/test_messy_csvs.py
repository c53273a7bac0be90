"""Messy CSVs, generated: every one ends in exit 0 with every input row accounted for, or in exit 2 with
one line naming the problem; never a traceback, a partial output or a silently missing prediction.

The tables vary what real files vary: the delimiter, quoting, the encoding, blank and junk cells
("?", "-", "n/a", stray words), spaces and case around labels, duplicated or odd headers, numbers
written with a decimal comma, thousands separators, a currency or a percent sign, mixed types in a
column, a title above the header and a delimiter ending every row.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet.cli import main

JUNK = ["?", "-", "n/a", "", " ", "abc", "NULL"]


@st.composite
def messy_tables(draw):
    rows = draw(st.integers(min_value=12, max_value=60))
    seed = draw(st.integers(min_value=0, max_value=2**16))
    rng = np.random.default_rng(seed)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    numbers = rng.normal(size=rows)
    columns: dict[str, list] = {}
    written = draw(st.sampled_from(["plain", "decimal comma", "thousands", "currency", "percent"]))
    if written == "decimal comma" and delimiter == ",":
        written = "plain"
    forms = {
        "plain": lambda v: f"{v:.3f}",
        "decimal comma": lambda v: f"{v:.3f}".replace(".", ","),
        "thousands": lambda v: f"{v * 1000:,.1f}",
        "currency": lambda v: f"-£{-v * 1000:,.2f}" if v < 0 else f"£{v * 1000:,.2f}",  # £: latin-1 has it
        "percent": lambda v: f"{v * 10:.1f}%",
    }
    columns["amount"] = [forms[written](v) for v in numbers]
    columns["kind"] = list(rng.choice(["red", "Red ", " blue", "green", "red"], rows))
    columns["mixed"] = [str(v) if k % 3 else f"x{k}" for k, v in enumerate(rng.integers(0, 9, rows))]
    junk_share = draw(st.sampled_from([0.0, 0.05, 0.2]))
    for name in ("amount", "kind", "mixed"):
        for row in np.flatnonzero(rng.random(rows) < junk_share):
            columns[name][row] = str(rng.choice(JUNK))
    labels = np.where(numbers + rng.normal(0, 0.5, rows) > 0, "yes", "no").astype(object)
    variants = draw(st.booleans())
    if variants:
        labels = np.array([v + " " if k % 4 == 0 else v for k, v in enumerate(labels)], dtype=object)
    labels[rng.random(rows) < draw(st.sampled_from([0.0, 0.1]))] = ""  # rows without a target
    columns["target"] = list(labels)
    header = list(columns)
    if draw(st.booleans()):
        header[1] = " kind "  # spaces around a name
    if draw(st.booleans()):
        header[2] = header[0]  # a name twice
    frame = pd.DataFrame(columns)
    frame.columns = header
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    quoting = draw(st.sampled_from([0, 1]))  # minimal, all
    report = draw(st.booleans())  # the report (its figures most of a run's second) for some of the tables
    layout = draw(st.sampled_from(["plain", "title", "trailing delimiter"]))  # a title above; a delimiter ending rows
    return frame, delimiter, encoding, quoting, report, layout


def _write(frame, path, delimiter: str, encoding: str, quoting: int, layout: str) -> None:
    text = frame.to_csv(sep=delimiter, index=False, quoting=quoting)
    if layout == "title":
        text = "Export of the orders\n\n" + text
    elif layout == "trailing delimiter":
        lines = text.splitlines()
        text = "\n".join([lines[0]] + [line + delimiter for line in lines[1:]]) + "\n"
    path.write_bytes(text.encode(encoding))


def _run(*args) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in args])
    return code, err.getvalue()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=messy_tables())
def test_a_messy_csv_trains_with_every_row_accounted_for_or_is_refused_in_one_line(tmp_path_factory, table):
    frame, delimiter, encoding, quoting, report, layout = table
    folder = tmp_path_factory.mktemp("messy")
    path = folder / "messy.csv"
    _write(frame, path, delimiter, encoding, quoting, layout)
    out = folder / "out"
    options = ["--epochs", "2", "--hidden", "4", "--folds", "1", "--no-baselines", "--quiet"]
    options += [] if report else ["--no-report"]
    extra = ["--encoding", encoding] if encoding != "utf-8" else []
    code, err = _run("train", path, "--target", "target", "--out", out, *options, *extra)
    assert code in (0, 2), err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("glassnet: ") and not out.exists(), err
        return
    data = json.loads((out / "metrics.json").read_text())["data"]
    assert data["rows"] == len(frame)  # every input row: trained on, or dropped for a blank target and counted
    code, err = _run("predict", out / "model.glassnet", path, "-o", folder / "p.csv", *extra)
    assert code in (0, 2), err
    if code == 0:
        assert len(pd.read_csv(folder / "p.csv")) == len(frame)  # one prediction per input row, always
    else:
        assert len(err.strip().splitlines()) == 1 and not (folder / "p.csv").exists(), err
