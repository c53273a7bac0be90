"""Bad input gets a clear error naming the argument, the expectation and what was received."""

import numpy as np
import pytest

import glassnet as gn


@pytest.fixture
def net():
    return gn.mlp([4, 4], 3, output_activation="softmax", input_dim=5)


def test_wrong_number_of_features(net):
    with pytest.raises(ValueError, match="6 features, but the network expects 5"):
        net.predict(np.zeros((2, 6)))


def test_wrong_rank(net):
    with pytest.raises(ValueError, match=r"must be 2-D .*got shape \(5,\)"):
        net.predict(np.zeros(5))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_x(net, bad):
    x = np.zeros((3, 5))
    x[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        gn.fit(net, x, [0, 1, 2], epochs=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finiteness_check_of_large_arrays(dtype):
    import warnings

    from glassnet._validation import all_finite

    x = np.ones((400, 300), dtype=dtype)
    assert all_finite(x)
    x[:] = np.finfo(dtype).max / 2  # finite, but its sum overflows: the exact check decides, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all_finite(x)
    for bad in (np.nan, np.inf, -np.inf):
        y = np.ones((400, 300), dtype=dtype)
        y[123, 45] = bad
        assert not all_finite(y)
    y = np.ones((400, 300), dtype=dtype)
    y[0, 0], y[1, 1] = np.inf, -np.inf  # the sum is NaN: still caught
    assert not all_finite(y)
    assert not all_finite(y[:1, :1].copy())  # the small-array path


def test_non_finite_y():
    net = gn.mlp([4], 1, input_dim=2)
    with pytest.raises(ValueError, match="y contains NaN"):
        gn.fit(net, np.zeros((3, 2)), [0.0, np.nan, 1.0], epochs=1)


def test_labels_out_of_range(net):
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        gn.fit(net, np.zeros((3, 5)), [0, 1, 3], epochs=1)


def test_empty_arrays(net):
    with pytest.raises(ValueError, match="empty"):
        gn.fit(net, np.zeros((0, 5)), [], epochs=1)


def test_mismatched_lengths(net):
    with pytest.raises(ValueError, match="same number of samples; got 3 and 2"):
        gn.fit(net, np.zeros((3, 5)), [0, 1], epochs=1)


def test_text_features(net):
    with pytest.raises(TypeError, match="must be numeric"):
        net.predict(np.array([["a"] * 5]))


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: gn.Dense(0), "units must be a positive integer; got units=0"),
        (lambda: gn.Dense(-3), "units=-3"),
        (lambda: gn.Dense(2.5), "units=2.5"),
        (lambda: gn.mlp([4], 2, activation="swish"), "activation must be one of .* got activation='swish'"),
        (lambda: gn.fit(gn.mlp([4], 1, input_dim=1), [[0.0]], [0.0], loss="hinge"), "loss must be one of"),
        (lambda: gn.fit(gn.mlp([4], 1, input_dim=1), [[0.0]], [0.0], optimizer="adagrad"), "optimizer must be one of"),
        (lambda: gn.SGD(gn.mlp([4], 1, input_dim=1).parameters(), lr=0), "lr must be a positive"),
        (lambda: gn.SGD(gn.mlp([4], 1, input_dim=1).parameters(), lr=-1.0), "lr=-1.0"),
        (lambda: gn.Dropout(1.0), r"rate must be in \[0, 1\)"),
        (lambda: gn.fit(gn.mlp([4], 1, input_dim=1), [[0.0]], [0.0], epochs=0), "epochs must be a positive integer"),
        (lambda: gn.fit(gn.mlp([4], 1, input_dim=1), [[0.0]], [0.0], batch_size=-2), "batch_size"),
        (lambda: gn.Sequential([]), "at least one layer"),
        (lambda: gn.Sequential([gn.Dense(2), "relu"]), r"layers\[1\] must be a glassnet Layer"),
        (lambda: gn.mlp([4], 2, dtype=np.int32), "dtype must be float32 or float64"),
    ],
)
def test_invalid_arguments(factory, message):
    with pytest.raises((ValueError, TypeError), match=message):
        factory()


def test_backward_before_forward_raises_runtime_error():
    layer = gn.Dense(3)
    layer.build(2, np.dtype(np.float32), np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 3), np.float32))
    net = gn.mlp([3], 2)
    with pytest.raises(RuntimeError, match="before forward"):
        net.backward(np.zeros((1, 2)))


def test_backward_with_wrong_gradient_shape(rng):
    layer = gn.Tanh()
    layer.build(3, np.dtype(np.float64), rng)
    layer.forward(rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"grad_output must have shape \(4, 3\)"):
        layer.backward(np.zeros((4, 2)))


def test_cross_entropy_needs_logits_or_softmax():
    net = gn.Sequential([gn.Dense(3), gn.Tanh()], input_dim=2)
    with pytest.raises(ValueError, match="takes logits"):
        gn.fit(net, np.zeros((3, 2)), [0, 1, 2], loss="cross_entropy")


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        # Short words in the header and the rows: csv.Sniffer took such a header for a data row.
        ("species,island,mass\nAdelie,Dream,3.9\nGentoo,Biscoe,5.7\n", ["species", "island", "mass"]),
        ("a,c,y\nu,v,1\nv,u,0\n", ["a", "c", "y"]),
        # A numeric matrix without a header gets generated names.
        ("1,2,3\n4,5,6\n", ["column_0", "column_1", "column_2"]),
        ("0.5,,7\n1,2,3\n", ["column_0", "column_1", "column_2"]),
    ],
)
def test_the_header_row_is_recognized(tmp_path, text, columns):
    from glassnet.tabular import read_table

    path = tmp_path / "table.csv"
    path.write_text(text)
    assert read_table(path).columns.tolist() == columns


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip"])
def test_compressed_csvs_are_read_as_their_text(tmp_path, suffix):
    """The delimiter and header are sniffed from the decompressed text (they were sniffed from the
    compressed bytes, and a gzip-compressed table failed with pandas' words on newlines)."""
    import bz2
    import gzip
    import lzma
    import zipfile

    from glassnet.app.outofcore import table_cells
    from glassnet.tabular import read_table

    text = "a;b;y\n" + "".join(f"{i};x{i % 3};{i % 2}\n" for i in range(500))
    path = tmp_path / f"table.csv{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("table.csv", text)
    else:
        path.write_bytes({".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix](text.encode()))
    frame = read_table(path)
    assert frame.columns.tolist() == ["a", "b", "y"] and len(frame) == 500
    assert 500 * 3 <= table_cells(str(path)) <= 2 * 501 * 3  # sized from the text, not the compressed bytes


def test_an_empty_csv_is_refused_in_one_line(tmp_path, capsys):
    from glassnet.cli import main

    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert main(["train", str(path), "--target", "y", "--out", str(tmp_path / "out")]) == 2
    assert "is empty" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    """Two columns named y: the second was kept as a feature (renamed y.1) and leaked the target."""
    from glassnet.cli import main
    from glassnet.exceptions import DataError
    from glassnet.tabular import read_table

    path = tmp_path / "twice.csv"
    path.write_text("a,y,b, y\n" + "".join(f"{i},{i % 2},{i * 2},{i % 2}\n" for i in range(30)))
    with pytest.raises(DataError, match=r"'y' \(columns 2, 4\)"):
        read_table(path)
    assert main(["train", str(path), "--target", "y", "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_spaces_around_labels_and_cells_do_not_make_new_classes(tmp_path):
    """'yes', 'yes ', ' yes' were three classes (accuracy fell to 0.45 without a word); case variants
    stay apart, as written, with a warning that names them."""
    import json

    import pandas as pd
    from test_cli import glassnet

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    label = np.where(x > 0, "yes", "no").astype(object)
    label[::3] = [v + " " for v in label[::3]]
    label[1::5] = [" " + v.strip() for v in label[1::5]]
    city = rng.choice(["paris", " paris", "lyon "], 200)
    path = tmp_path / "spaces.csv"
    pd.DataFrame({"x": x, "city": city, "label": label}).to_csv(path, index=False)
    out = tmp_path / "out"
    done = glassnet("train", path, "--target", "label", "--out", out, "--folds", "1", "--epochs", "3", "--no-baselines",
                    "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "metrics.json").read_text())["task"] == "binary"
    assert gn.load_model(out / "model.glassnet").classes == ["no", "yes"]
    assert "city (2)" in glassnet("inspect", out / "model.glassnet").stdout  # 'paris' and ' paris' are one level
    cased = tmp_path / "cased.csv"
    pd.DataFrame({"x": x, "label": np.where(x > 0.5, "YES", np.where(x > 0, "yes", "no"))}).to_csv(cased, index=False)
    done = glassnet(
        "train", cased, "--target", "label", "--out", tmp_path / "c", "--folds", "1", "--epochs", "2", "--no-baselines",
        "--no-report",
    )  # fmt: skip
    assert (
        done.returncode == 0 and "differ only in case, kept apart as written: 'YES', 'yes'" in done.stderr + done.stdout
    )


def test_the_header_of_numbers_message_names_the_way_out(tmp_path, capsys):
    from glassnet.cli import main

    rows = ["1,2,3,4"] + [",".join(str((i * k) % 9) for k in range(1, 5)) for i in range(30)]
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(rows) + "\n")
    main(["train", str(path), "--target", "4", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert "seems to have no header row" in err and "--target column_K" in err and len(err.strip().splitlines()) == 1


def _signed(v: float, text: str, sign: str = "$") -> str:
    return f"-{sign}{text.lstrip('-')}" if v < 0 else f"{sign}{text}"


@pytest.mark.parametrize(
    ("delimiter", "written", "scale", "said"),
    [
        (";", lambda v: f"{v:.3f}".replace(".", ","), 1, "decimal comma"),
        (",", lambda v: f'"{v * 1000:,.1f}"', 1000, "thousands separators"),
        (",", lambda v: f'"{_signed(v, f"{v * 1000:,.1f}")}"', 1000, "currency sign ($)"),
        (";", lambda v: f"{v * 1000:.1f} €".replace(".", ","), 1000, "currency sign (€)"),
        (",", lambda v: f"{v:.3f}%", 1, "percentages"),
        (";", lambda v: f"{v * 1000:,.1f} €".replace(",", "\u202f").replace(".", ","), 1000, "decimal comma"),
        (",", lambda v: f"{v * 1000:,.1f}".replace(",", "'"), 1000, "thousands separators"),
        (",", lambda v: f'"({-v * 1000:,.1f})"' if v < 0 else f'"{v * 1000:,.1f}"', 1000, "in parentheses"),
    ],
)
def test_numbers_written_with_separators_or_signs_are_numbers(tmp_path, delimiter, written, scale, said):
    """'0,123' in a ;-delimited file, '12,345.6', '$1,200', '3,50 €', '45%', '1 234,5 €' (French) and
    "12'345.6" (Swiss) were categories (or an ID-like column, dropped: a price column left out without a
    word about why)."""
    from glassnet.tabular import read_table

    values = np.random.default_rng(0).normal(size=50) * 3
    lines = [f"price{delimiter}y"] + [f"{written(v)}{delimiter}{int(v > 0)}" for v in values]
    path = tmp_path / "local.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = read_table(path)
    np.testing.assert_allclose(frame["price"].astype(float), np.round(values * scale, 3 if scale == 1 else 1))
    assert "read as numbers" in frame.attrs["reading"][0] and "'price'" in frame.attrs["reading"][0]
    assert said in frame.attrs["reading"][0]
    words = tmp_path / "words.csv"  # text that merely contains commas or signs stays text
    words.write_text('name,y\n"Smith, J",1\n"Doe, A",0\n$ave,1\n100% cotton,0\n')
    assert read_table(words)["name"].tolist() == ["Smith, J", "Doe, A", "$ave", "100% cotton"]


def test_a_target_of_prices_written_with_signs_is_a_regression(tmp_path):
    """'$134,398' cells were read as numbers in a column pandas still held as text, so the target's
    task was classification with as many classes as rows."""
    import json

    from test_cli import glassnet

    rng = np.random.default_rng(3)
    size = rng.uniform(30, 200, 120)
    price = size * 3000 + rng.normal(0, 20000, 120)
    lines = ["size,price"] + [f'{s:.1f},"${p:,.0f}"' for s, p in zip(size, price)]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "o"
    done = glassnet("train", tmp_path / "houses.csv", "--target", "price", "--out", out, "--folds", "1",
                    "--epochs", "5", "--no-baselines", "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    (tmp_path / "few.csv").write_text('size,price\n50.0,"$150,000"\n60.0,unknown\n70.0,"$210,000"\n')
    scored = glassnet("evaluate", out / "model.glassnet", tmp_path / "few.csv")  # 2 of 3 targets numbers
    assert scored.returncode == 0 and "on 2 rows" in scored.stdout, scored.stderr
    assert "1 row(s) with a blank target (or, in a regression, not a number), not scored" in scored.stderr
    tested = {}
    for mode in ("off", "on"):  # a separate test file with a word among its targets, in memory and out of core
        done = glassnet("train", tmp_path / "houses.csv", "--target", "price", "--test-data", tmp_path / "few.csv",
                        "--out", tmp_path / mode, "--folds", "1", "--epochs", "2", "--no-baselines", "--no-report",
                        "--out-of-core", mode)  # fmt: skip
        assert done.returncode == 0, done.stderr
        tested[mode] = json.loads((tmp_path / mode / "metrics.json").read_text())
    assert tested["off"]["data"]["test_rows"] == tested["on"]["data"]["test_rows"] == 2
    assert tested["off"]["test"] == tested["on"]["test"]
    lines[7] = lines[7].rsplit(",", 2)[0] + ",unknown"  # a word among the training targets
    (tmp_path / "word.csv").write_text("\n".join(lines) + "\n")
    done = glassnet("train", tmp_path / "word.csv", "--target", "price", "--out", tmp_path / "w", "--folds", "1",
                    "--epochs", "2", "--no-baselines", "--no-report")  # fmt: skip
    assert done.returncode == 0 and "task regression" in done.stdout, done.stderr
    assert "target 'price' is numbers but for 1 cell(s) ('unknown')" in done.stdout


def test_a_delimiter_ending_every_line_shifts_no_column(tmp_path):
    """With one field more in each row than in the header (a delimiter ending every line), pandas took
    the first column as the index and gave each column the next one's values: the target became a
    feature's values; with the header ending in a delimiter too, an empty unnamed column stopped the run.
    Values in fields the header has no name for are refused, never dropped."""
    from test_cli import assert_clean_error, glassnet

    from glassnet.tabular import read_table

    rows = "".join(f"{k % 2},{k},{k * k % 7},\n" for k in range(40))
    (tmp_path / "rows.csv").write_text("y,a,b\n" + rows)
    frame = read_table(tmp_path / "rows.csv")
    assert list(frame.columns) == ["y", "a", "b"] and frame["y"].tolist()[:4] == [0, 1, 0, 1]
    (tmp_path / "both.csv").write_text("y,a,b,\n" + rows)
    done = glassnet("train", tmp_path / "both.csv", "--target", "y", "--out", tmp_path / "o", "--folds", "1",
                    "--epochs", "2", "--no-baselines", "--no-report")  # fmt: skip
    assert done.returncode == 0 and "dropped column 'Unnamed: 3': empty" in done.stdout, done.stderr
    (tmp_path / "lossy.csv").write_text("y,a,b\n1,2,3,4\n0,1,2,\n")
    assert_clean_error(
        glassnet("train", tmp_path / "lossy.csv", "--target", "y", "--out", tmp_path / "l"),
        2,
        "line 2 has 4 fields, but the header (line 1) names 3 column(s)",
    )
    assert not (tmp_path / "l").exists()
    (tmp_path / "title.csv").write_text("Export of 2024-03-01\ny,a,b\n" + rows)  # and a title above the header
    assert_clean_error(
        glassnet("train", tmp_path / "title.csv", "--target", "y", "--out", tmp_path / "t"),
        2,
        "remove the lines above its header",
    )


def test_a_title_above_the_header_is_left_out_and_said(tmp_path):
    """Reports exported from other tools put a title (and blank lines) above the table: the title was
    taken as the header, and the rows refused as longer than it."""
    from glassnet.tabular import read_table

    rows = "".join(f"{k % 2};{k};{k * k % 7}\n" for k in range(40))
    (tmp_path / "report.csv").write_text("Sales export; March 2024\n\ny;a;b\n" + rows)
    frame = read_table(tmp_path / "report.csv")
    assert list(frame.columns) == ["y", "a", "b"] and len(frame) == 40 and frame["a"].tolist()[:3] == [0, 1, 2]
    assert frame.attrs["reading"][0] == "the table starts at line 3 of the file; the lines above it, left out"
    (tmp_path / "plain.csv").write_text("y;a;b\n" + rows)  # a first line that is the header: nothing left out
    assert len(read_table(tmp_path / "plain.csv")) == 40 and not read_table(tmp_path / "plain.csv").attrs["reading"]


def test_an_excel_workbook_trains_and_predicts_from_its_first_sheet(tmp_path):
    """A .xlsx file was read as text and refused as 'not UTF-8', naming --encoding: the wrong way out."""
    import json

    import pandas as pd
    from test_cli import assert_clean_error, glassnet

    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=60), "x": x,
                          "price": [f"${v * 1000:,.2f}" for v in x], "y": np.where(x > 0, "up", "down")})  # fmt: skip
    with pd.ExcelWriter(tmp_path / "book.xlsx") as book:
        frame.to_excel(book, sheet_name="Data", index=False)
        frame.head(2).to_excel(book, sheet_name="Notes", index=False)
    out = tmp_path / "o"
    done = glassnet("train", tmp_path / "book.xlsx", "--target", "y", "--out", out, "--folds", "1", "--epochs", "2",
                    "--no-baselines", "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads((out / "metrics.json").read_text())["data"]["preprocessing"]
    assert any("first sheet, 'Data', of 2 (also 'Notes'); --sheet chooses" in line for line in said)
    assert any("column 'price'" in line and "read as numbers" in line for line in said)
    assert any("date column 'day'" in line for line in said)
    predicted = glassnet("predict", out / "model.glassnet", tmp_path / "book.xlsx", "-o", tmp_path / "p.csv")
    assert predicted.returncode == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 60, predicted.stderr
    with pd.ExcelWriter(tmp_path / "titled.xlsx") as book:  # a title and a blank row above the header
        pd.DataFrame([["Sales, March"], [None]]).to_excel(book, header=False, index=False)
        frame.to_excel(book, startrow=2, index=False)
    done = glassnet("train", tmp_path / "titled.xlsx", "--target", "y", "--out", tmp_path / "t", "--folds", "1",
                    "--epochs", "2", "--no-baselines", "--no-report")  # fmt: skip
    assert done.returncode == 0 and "the table starts at row 3 of the sheet" in done.stdout, done.stderr
    words = pd.DataFrame({"": ["x", "y", "z"], "b": ["u", "v", "w"], "c": ["p", "q", "r"]})  # a header with a gap
    words.to_excel(tmp_path / "words.xlsx", index=False)
    from glassnet.tabular import read_table

    assert read_table(tmp_path / "words.xlsx")["b"].tolist() == ["u", "v", "w"]  # its first row is not a header
    done = glassnet("train", tmp_path / "book.xlsx", "--sheet", "Notes", "--target", "y", "--out", tmp_path / "n")
    assert_clean_error(done, 2, "2 data rows")  # the sheet asked for, not the first
    done = glassnet("predict", out / "model.glassnet", tmp_path / "book.xlsx", "--sheet", "2", "-o", tmp_path / "2.csv")
    assert done.returncode == 0 and len(pd.read_csv(tmp_path / "2.csv")) == 2, done.stderr
    missing = glassnet(
        "predict", out / "model.glassnet", tmp_path / "book.xlsx", "--sheet", "Sales", "-o", out / "x.csv"
    )
    assert_clean_error(missing, 2, "no sheet 'Sales'; its sheets: 'Data', 'Notes'")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    refused = glassnet("train", tmp_path / "old.xls", "--target", "y", "--out", tmp_path / "old")
    assert_clean_error(refused, 2, "save it as .xlsx")


def test_excels_sep_line_names_the_delimiter(tmp_path):
    """Excel writes 'sep=;' above the header of a CSV meant for it; that line was taken as the header."""
    from glassnet.tabular import read_table

    (tmp_path / "excel.csv").write_text("sep=;\nprice;kind\n1,5;a\n2,25;b\n", encoding="utf-8-sig")
    frame = read_table(tmp_path / "excel.csv")
    assert list(frame.columns) == ["price", "kind"] and frame["price"].tolist() == [1.5, 2.25]


def test_infinities_are_missing_features_and_a_named_error_in_the_target(tmp_path, capsys):
    """'x contains 15 NaN or infinite value(s)' and 'y contains NaN or infinite values' named no column."""
    import json

    import pandas as pd

    from glassnet.cli import main

    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    features = [str(v) for v in x]
    features[3], features[5] = "inf", "-inf"
    pd.DataFrame({"a": features, "price": x * 3}).to_csv(tmp_path / "f.csv", index=False)
    out = tmp_path / "out"
    assert main(["train", str(tmp_path / "f.csv"), "--target", "price", "--out", str(out), "--folds", "1",
                 "--epochs", "2", "--no-baselines", "--quiet", "--no-report"]) == 0  # fmt: skip
    said = json.loads((out / "metrics.json").read_text())["data"]["preprocessing"]
    assert any("column 'a' is numeric" in line and "'inf'" in line for line in said)
    target = [str(v) for v in x * 3]
    target[7] = "inf"
    pd.DataFrame({"a": x, "price": target}).to_csv(tmp_path / "t.csv", index=False)
    capsys.readouterr()
    assert main(["train", str(tmp_path / "t.csv"), "--target", "price", "--out", str(tmp_path / "t")]) == 2
    assert "target 'price' holds 1 infinite value(s) (first in data row 8)" in capsys.readouterr().err


def test_dates_in_other_or_mixed_formats_are_pointed_out(tmp_path):
    """A column of 03/04/2024 and 2024-03-04 became a 227-level categorical without a word."""
    import json

    import pandas as pd
    from test_cli import glassnet

    rng = np.random.default_rng(0)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 120), unit="D")
    written = [d.strftime("%m/%d/%Y") if k % 2 else d.strftime("%Y-%m-%d") for k, d in enumerate(days)]
    frame = pd.DataFrame({"day": written, "x": rng.normal(size=120)})
    frame["y"] = np.where(frame["x"] > 0, "a", "b")
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "out"
    done = glassnet(
        "train", tmp_path / "d.csv", "--target", "y", "--out", out, "--folds", "1", "--epochs", "2", "--no-baselines",
        "--no-report",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads((out / "metrics.json").read_text())["data"]["preprocessing"]
    assert any("column 'day' looks like dates written in a format other than YYYY-MM-DD" in line for line in said)


def test_a_wide_table_shuffles_only_its_most_attributed_columns(tmp_path):
    """5,000 columns of 50 rows spent 145 s in permutation importance, with no bound."""
    import json

    import pandas as pd
    from test_cli import glassnet

    from glassnet.app import importance

    rng = np.random.default_rng(0)
    width = importance.PERMUTED_COLUMNS + 40
    frame = pd.DataFrame(rng.normal(size=(60, width)), columns=[f"c{i}" for i in range(width)])
    frame["y"] = 3 * frame["c0"] + rng.normal(0, 0.1, 60)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    out = tmp_path / "out"
    done = glassnet("train", tmp_path / "wide.csv", "--target", "y", "--out", out, "--folds", "1", "--epochs", "3",
                    "--no-baselines", "--hidden", "8")  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = gn.load_model(out / "model.glassnet").metadata["importance"]
    assert found["permuted_columns"] == importance.PERMUTED_COLUMNS and len(found["rows"]) == width
    assert sum(row["permuted"] for row in found["rows"]) == importance.PERMUTED_COLUMNS
    assert "were not (a wide table" in (out / "report.html").read_text()
    assert json.loads((out / "metrics.json").read_text())["task"] == "regression"


def test_an_impossible_split_is_said_in_the_command_lines_words(tmp_path, capsys):
    """'validation_split=0.15 selects no validation sample from 200 samples' named an API parameter the
    user never set; 200 classes in 300 rows was the cause."""
    import pandas as pd

    from glassnet.cli import main

    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=300), "y": [f"c{i % 200}" for i in range(300)]}).to_csv(
        tmp_path / "many.csv", index=False
    )
    args = ["train", str(tmp_path / "many.csv"), "--target", "y", "--folds", "1", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--validation-fraction 0.15 sets no row aside" in err and "200 classes" in err
    assert "validation_split" not in err and len(err.strip().splitlines()) == 1
