"""The command line as a user runs it: train, predict, evaluate, inspect, report, export, bad input."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet import recipe
from glassnet.tabular import TablePreprocessor

# One network (no cross-fit) keeps these tests quick; tests/test_crossfit.py covers the default.
FAST = ["--epochs", "40", "--hidden", "16,16", "--lr", "0.01", "--quiet", "--folds", "1"]


def subprocess_glassnet(*args, cwd=None):
    """The command in a process of its own: for what only a real process shows (--debug tracebacks)."""
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def glassnet(*args, cwd=None):
    """The command run in this process (no interpreter start-up per call), with what a user would see:
    the exit status, stdout, and stderr including any Python warning that escaped to the user."""
    import contextlib
    import io
    import warnings

    from glassnet.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            warnings.catch_warnings(record=True) as seen,
        ):
            warnings.simplefilter("default")
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(previous)
    stderr = err.getvalue() + "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in seen)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), stderr)


def assert_clean_error(completed, code, *fragments):
    assert completed.returncode == code, (completed.stdout, completed.stderr)
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error:"), completed.stderr
    assert "Traceback" not in completed.stderr
    for fragment in fragments:
        assert fragment in completed.stderr, completed.stderr


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(10_000, 10_000 + n),
            "age": rng.normal(40, 10, n).round(1),
            "income": rng.lognormal(10, 0.5, n).round(0),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "constant": 1,
        }
    )
    frame.loc[::17, "income"] = np.nan
    score = (frame["age"] - 40) / 10 + (frame["city"] == "lyon") * 1.5
    frame["churn"] = np.where(score + rng.normal(0, 0.3, n) > 0.3, "yes", "no")
    frame["spend"] = 3 * (frame["age"] - 40) / 10 + rng.normal(0, 0.2, n)
    csv_path = folder / "customers.csv"
    frame.to_csv(csv_path, index=False, sep=";")  # delimiter sniffed
    parquet_path = folder / "customers.parquet"
    frame.to_parquet(parquet_path)
    return folder, csv_path, parquet_path, frame


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("images") / "stripes"
    rng = np.random.default_rng(0)
    for label in ("horizontal", "vertical"):
        (folder / label).mkdir(parents=True)
        for i in range(40):
            pixels = rng.integers(0, 60, (12, 12))
            lines = pixels.copy()
            if label == "horizontal":
                lines[::3, :] = 255
            else:
                lines[:, ::3] = 255
            Image.fromarray(lines.astype(np.uint8), "L").save(folder / label / f"{i}.png")
    return folder


def test_the_final_network_is_retrained_on_the_training_and_validation_rows(table, tmp_path):
    _, csv_path, _, frame = table
    out = tmp_path / "refit"
    completed = glassnet("train", csv_path, "--target", "churn", "--out", out, "--no-baselines", *FAST)
    assert completed.returncode == 0, completed.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    data, refit = metrics["data"], metrics["refit"]
    assert refit["rows"] == data["train_rows"] + data["validation_rows"] < len(frame)  # never the test rows
    assert (
        refit["epochs"] == metrics["best_epoch"]
        and f"refit: a fresh network on all {refit['rows']}" in completed.stdout
    )
    report = (out / "report.html").read_text()
    assert f"retrained on all {refit['rows']} training and validation rows" in report
    assert f"({recipe.L2_PRIOR:g} / {refit['rows']} = " in report  # the L2 of the network in the file
    kept = tmp_path / "kept"
    completed = glassnet(
        "train", csv_path, "--target", "churn", "--out", kept, "--no-baselines", "--no-refit", "--no-report", *FAST
    )
    assert completed.returncode == 0 and json.loads((kept / "metrics.json").read_text())["refit"] is None
    # Without the refit, the file holds the validation run's network: the same validation score.
    assert json.loads((kept / "metrics.json").read_text())["validation"] == metrics["validation"]


def test_label_smoothing_reaches_the_loss(table, tmp_path, monkeypatch):
    import glassnet.app.crossfit as crossfit
    import glassnet.app.run as run
    import glassnet.app.training_setup as recipe

    used = []
    original = recipe.build_loss
    for module in (run, crossfit):  # one network and its refit; every cross-fit member
        monkeypatch.setattr(
            module, "build_loss", lambda task, options: used.append(original(task, options)) or used[-1]
        )
    _, csv_path, _, _ = table
    out = tmp_path / "smoothed"
    completed = glassnet(
        "train",
        csv_path,
        "--target",
        "churn",
        "--out",
        out,
        "--no-baselines",
        "--no-report",
        "--label-smoothing",
        "0.1",
        "--epochs",
        "3",
    )
    assert completed.returncode == 0, completed.stderr
    # the five members, and on a machine with several cores the short warm-up that compiles the kernels
    # before the members' threads start (app/crossfit.py)
    assert len(used) in (5, 6) and all(loss.label_smoothing == 0.1 for loss in used)
    used.clear()
    completed = glassnet("train", csv_path, "--target", "churn", "--out", out, "--overwrite", "--no-baselines",
                         "--no-report", "--label-smoothing", "0.1", *FAST)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert len(used) == 2 and all(loss.label_smoothing == 0.1 for loss in used)  # the validation run and the refit
    assert glassnet("train", csv_path, "--target", "churn", "--label-smoothing", "1").returncode == 2


def test_no_baselines_skips_the_classical_models(table, tmp_path):
    _, csv_path, _, _ = table
    out = tmp_path / "no-baselines"
    completed = glassnet("train", csv_path, "--target", "churn", "--out", out, "--no-baselines", "--epochs", "3")
    assert completed.returncode == 0, completed.stderr
    assert "baselines: skipped (--no-baselines)" in completed.stdout
    assert json.loads((out / "metrics.json").read_text())["baselines"] == {}
    assert "No classical baselines were fitted" in (out / "report.html").read_text()


def test_train_csv_classification_then_predict_evaluate_inspect_report_export(table, tmp_path):
    _, csv_path, _, frame = table
    out = tmp_path / "churn-model"
    completed = glassnet(
        "train", csv_path, "--target", "churn", "--out", out, "--batch-norm", *[a for a in FAST if a != "--quiet"]
    )
    assert completed.returncode == 0, completed.stderr
    assert "dropped column 'customer_id': ID-like" in completed.stdout
    assert "dropped column 'constant': constant" in completed.stdout
    assert "imputed" in completed.stdout and "missing value(s) in 'income'" in completed.stdout
    assert "test roc_auc" in completed.stdout and "  accuracy: " in completed.stdout and "baselines" in completed.stdout
    assert {p.name for p in out.iterdir()} == {"model.glassnet", "metrics.json", "report.html"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "binary" and metrics["test"]["accuracy"] > 0.75
    assert "logistic regression" in metrics["baselines"] and "gradient boosting" in metrics["baselines"]
    assert any("ID-like" in line for line in metrics["data"]["preprocessing"])
    assert any("constant" in line for line in metrics["data"]["preprocessing"])
    assert any("imputed" in line for line in metrics["data"]["preprocessing"])

    new_rows = frame.drop(columns=["churn"]).head(20).copy()
    new_rows.loc[new_rows.index[0], "city"] = "marseille"  # unseen category
    new_path = tmp_path / "new.csv"
    new_rows.to_csv(new_path, index=False)
    predictions = tmp_path / "predictions.csv"
    completed = glassnet("predict", out / "model.glassnet", new_path, "-o", predictions, "--proba")
    assert completed.returncode == 0, completed.stderr
    written = pd.read_csv(predictions)
    assert len(written) == 20 and set(written["prediction"]) <= {"yes", "no"}
    assert np.allclose(written[["proba_no", "proba_yes"]].sum(axis=1), 1, atol=1e-5)
    refused = glassnet("predict", out / "model.glassnet", new_path, "-o", predictions)
    assert_clean_error(refused, 2, "exists", "--overwrite")

    completed = glassnet("evaluate", out / "model.glassnet", csv_path, "--json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["accuracy"] > 0.75

    completed = glassnet("inspect", out / "model.glassnet")
    assert completed.returncode == 0 and "total parameters" in completed.stdout and "BatchNorm" in completed.stdout
    info = json.loads(glassnet("inspect", out / "model.glassnet", "--json").stdout)
    assert info["task"] == "binary" and info["classes"] == ["no", "yes"]

    completed = glassnet("report", out / "model.glassnet", "-o", tmp_path / "again.html")
    assert completed.returncode == 0 and (tmp_path / "again.html").stat().st_size > 10_000

    completed = glassnet("export", out / "model.glassnet", "--onnx", tmp_path / "model.onnx")
    assert completed.returncode == 0 and (tmp_path / "model.onnx").stat().st_size > 1000


def test_train_parquet_regression_json(table, tmp_path):
    _, _, parquet_path, _ = table
    out = tmp_path / "spend"
    completed = glassnet("train", parquet_path, "--target", "spend", "--out", out, "--json", "--no-report", *FAST)
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["task"] == "regression" and document["test"]["r2"] > 0.5
    assert {"rmse", "mae", "r2"} <= set(document["test"])
    evaluated = glassnet("evaluate", out / "model.glassnet", parquet_path, "--json")
    assert json.loads(evaluated.stdout)["r2"] > 0.5


def test_train_image_folder_and_predict_flat_folder(images, tmp_path):
    out = tmp_path / "stripes-model"
    completed = glassnet("train", images, "--out", out, "--epochs", "15", "--hidden", "32,16", "--quiet")
    assert completed.returncode == 0, completed.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["image_shape"] == [12, 12] and metrics["test"]["accuracy"] >= 0.9
    flat = tmp_path / "to-predict"
    flat.mkdir()
    for name in ("0.png", "1.png"):
        shutil.copy(images / "vertical" / name, flat / f"v{name}")
    completed = glassnet("predict", out / "model.glassnet", flat, "-o", tmp_path / "p.csv")
    assert completed.returncode == 0, completed.stderr
    assert list(pd.read_csv(tmp_path / "p.csv")["prediction"]) == ["vertical", "vertical"]
    assert glassnet("evaluate", out / "model.glassnet", images).returncode == 0


def test_train_idx_files_with_labels(tmp_path):
    import gzip

    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 60)
    images = rng.integers(0, 60, (120, 8, 8))
    images[labels == 1, :, ::2] = 255  # class 1 has vertical stripes

    def idx(array):
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        return header + array.astype(np.uint8).tobytes()

    (tmp_path / "images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
    (tmp_path / "labels-idx1-ubyte").write_bytes(idx(labels))
    out = tmp_path / "idx-model"
    completed = glassnet(
        "train", tmp_path / "images-idx3-ubyte.gz", "--labels", tmp_path / "labels-idx1-ubyte", "--out", out,
        "--no-report", *FAST,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["image_shape"] == [8, 8] and metrics["test"]["accuracy"] >= 0.9
    missing = glassnet("train", tmp_path / "images-idx3-ubyte.gz", "--out", tmp_path / "x", "--quiet")
    assert_clean_error(missing, 2, "--labels")


def test_grow_and_checkpoint_flags(table, tmp_path):
    _, csv_path, _, _ = table
    completed = glassnet(
        "train", csv_path, "--target", "churn", "--out", tmp_path / "g", "--grow", "--epochs", "5", "--quiet",
        "--no-report",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "<- chosen" in completed.stdout
    checkpoint = tmp_path / "run.ckpt"
    completed = glassnet(
        "train",
        csv_path,
        "--target",
        "churn",
        "--out",
        tmp_path / "c",
        "--checkpoint",
        checkpoint,
        "--no-report",
        *FAST,
    )
    assert completed.returncode == 0 and checkpoint.exists()
    resumed = glassnet(
        "train", csv_path, "--target", "churn", "--out", tmp_path / "c2", "--checkpoint", checkpoint, "--resume",
        "--no-report", *FAST,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert (
        json.loads((tmp_path / "c" / "metrics.json").read_text())["test"]
        == json.loads((tmp_path / "c2" / "metrics.json").read_text())["test"]
    )


# ------------------------------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    assert_clean_error(
        glassnet("train", tmp_path / "nope.csv", "--target", "y", "--out", tmp_path / "o"), 2, "no such file"
    )


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all")
    assert_clean_error(glassnet("train", path, "--target", "y", "--out", tmp_path / "o"), 2, "cannot read")


def test_missing_target_column(table, tmp_path):
    assert_clean_error(
        glassnet("train", table[1], "--target", "price", "--out", tmp_path / "o"),
        2,
        "target column(s) ['price'] not found",
        "churn",
    )


def test_target_with_one_class(tmp_path):
    frame = pd.DataFrame({"x": np.arange(30.0), "y": ["same"] * 30})
    frame.to_csv(tmp_path / "one.csv", index=False)
    assert_clean_error(
        glassnet("train", tmp_path / "one.csv", "--target", "y", "--out", tmp_path / "o"), 2, "single class"
    )


def test_an_empty_column_is_dropped_and_named_unless_declared(tmp_path):
    """An entirely empty column was an error to fix by hand, common in spreadsheet exports; it holds
    nothing to learn from, so it is dropped and said, as a constant one is; declared, it is an error."""
    x = np.random.default_rng(0).normal(size=30)
    frame = pd.DataFrame({"x": x, "empty": [np.nan] * 30, "y": (x > 0).astype(int)})
    frame.to_csv(tmp_path / "nan.csv", index=False)
    out = tmp_path / "o"
    done = glassnet("train", tmp_path / "nan.csv", "--target", "y", "--out", out, "--folds", "1", "--epochs", "2",
                    "--no-baselines", "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "dropped column 'empty': empty (no value in the training rows)" in done.stdout
    assert_clean_error(
        glassnet("train", tmp_path / "nan.csv", "--target", "y", "--out", tmp_path / "o2", "--numeric", "empty"),
        2,
        "column 'empty', declared with --numeric, is entirely empty",
    )


@pytest.mark.parametrize("junk", [["abc"], ["?", "-", "n/a", "abc"]])
def test_a_numeric_column_with_junk_cells_stays_numeric_and_says_so(tmp_path, junk):
    """'?', '-', 'n/a' or a stray word in 10 % of a numeric column made it a categorical of hundreds of
    levels (accuracy fell to chance); now those cells are missing values, counted and named."""
    rng = np.random.default_rng(0)
    numbers = rng.normal(size=300)
    values = [f"{v:.3f}" for v in numbers]
    for k, row in enumerate(range(0, 300, 10)):
        values[row] = junk[k % len(junk)]
    frame = pd.DataFrame({"x": values, "y": np.where(numbers > 0, "p", "n")})
    frame.to_csv(tmp_path / "text.csv", index=False)
    out = tmp_path / "o"
    done = glassnet("train", tmp_path / "text.csv", "--target", "y", "--out", out, *FAST)
    assert done.returncode == 0, done.stderr
    model = gn.load_model(out / "model.glassnet")
    assert model.preprocessing["numeric"] == ["x"] and "x" in model.preprocessing["indicators"]
    said = json.loads((out / "metrics.json").read_text())["data"]["preprocessing"]
    # counted on the training rows ("n/a" is a missing value for pandas already)
    assert any(re.search(r"its \d+ cell\(s\) that are not numbers \('(\?|abc)'", line) for line in said), said
    assert any("--categorical x keeps them as categories" in line for line in said)
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] > 0.8
    predicted = glassnet("predict", out / "model.glassnet", tmp_path / "text.csv", "-o", tmp_path / "p.csv")
    assert predicted.returncode == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 300


def test_mixed_image_sizes(tmp_path):
    from PIL import Image

    for label, size in (("a", 8), ("b", 10)):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (size, size), color=i * 40).save(tmp_path / "imgs" / label / f"{i}.png")
    completed = glassnet("train", tmp_path / "imgs", "--out", tmp_path / "o")
    assert_clean_error(completed, 2, "different sizes", "--image-size")
    resized = glassnet(
        "train", tmp_path / "imgs", "--image-size", "8x8", "--out", tmp_path / "o", "--epochs", "2", "--quiet"
    )
    assert resized.returncode == 0, resized.stderr


def test_damaged_images_are_left_out_of_training_and_named_and_other_formats_are_read(tmp_path):
    """One file Pillow cannot read stopped the training on a whole folder; BMP, GIF and WebP images
    were not looked at (a folder of them 'held no images'). Prediction still refuses a damaged file:
    every file gets its prediction, or the run stops."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, suffixes in (("a", ("png", "bmp")), ("b", ("gif", "webp"))):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 100 if label == "a" else 255, (6, 6)).astype(np.uint8)
            Image.fromarray(pixels, "L").save(tmp_path / "imgs" / label / f"{i}.{suffixes[i % 2]}")
    (tmp_path / "imgs" / "a" / "damaged.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "imgs" / "b" / "readme.txt").write_text("notes")
    out = tmp_path / "o"
    done = glassnet("train", tmp_path / "imgs", "--out", out, "--epochs", "2", "--no-report", "--no-baselines")
    assert done.returncode == 0, done.stderr
    assert "left out 1 image file(s) that cannot be read: a/damaged.png" in done.stdout
    assert "ignored 1 file(s) in the class folders that are not images" in done.stdout
    data = json.loads((out / "metrics.json").read_text())["data"]
    assert data["rows"] == 16 and any("a/damaged.png" in line for line in data["preprocessing"])
    refused = glassnet("predict", out / "model.glassnet", tmp_path / "imgs" / "a", "-o", tmp_path / "p.csv")
    assert_clean_error(refused, 2, "cannot read image", "damaged.png")
    assert not (tmp_path / "p.csv").exists()


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_clean_error(glassnet("train", tmp_path / "empty", "--out", tmp_path / "o"), 2, "holds no images")


def test_existing_output_folder_is_refused_and_kept(table, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    completed = glassnet("train", table[1], "--target", "churn", "--out", out, *FAST)
    assert_clean_error(completed, 2, "exists", "--overwrite")
    assert (out / "precious.txt").read_text() == "keep me"
    # --overwrite replaces only glassnet's own outputs: a folder holding a user's file is refused.
    refused = glassnet("train", table[1], "--target", "churn", "--out", out, "--overwrite", *FAST)
    assert_clean_error(refused, 2, "precious.txt", "did not write")
    assert (out / "precious.txt").read_text() == "keep me"
    (out / "precious.txt").unlink()
    replaced = glassnet("train", table[1], "--target", "churn", "--out", out, "--overwrite", *FAST)
    assert replaced.returncode == 0 and (out / "model.glassnet").exists()


def test_failure_leaves_no_half_written_output(tmp_path):
    frame = pd.DataFrame({"x": np.arange(30.0), "y": ["same"] * 30})
    frame.to_csv(tmp_path / "one.csv", index=False)
    glassnet("train", tmp_path / "one.csv", "--target", "y", "--out", tmp_path / "o")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv"]


def test_bad_usage_and_debug_flag(tmp_path):
    usage = glassnet("train", "data.csv", "--epochs", "zero")
    assert usage.returncode == 2 and "positive integer" in usage.stderr
    debug = subprocess_glassnet("--debug", "train", tmp_path / "nope.csv", "--target", "y", "--out", tmp_path / "o")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_help_everywhere_with_examples():
    for command in ("train", "predict", "evaluate", "inspect", "report", "export", "demo"):
        completed = glassnet(command, "--help")
        assert completed.returncode == 0 and "examples:" in completed.stdout, command


def test_corrupt_model_file_is_a_clean_error(tmp_path):
    path = tmp_path / "model.glassnet"
    path.write_bytes(os.urandom(100))
    assert_clean_error(glassnet("inspect", path), 2, "not a glassnet file")


# ----------------------------------------------------------------------------------------- the report
def _chrome():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (test extra)")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,1000",
    ):
        options.add_argument(argument)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def test_demo_report_renders_in_headless_chromium(demo_run):
    completed, out = demo_run  # the demo tests/test_demo.py runs (once a session)
    assert completed.returncode == 0, completed.stderr
    html = (out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch
    browser = _chrome()
    try:
        browser.get((out / "report.html").as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])"
        )
        errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        first = browser.execute_script("return document.querySelector('section').innerText")
        empty_headers = browser.execute_script(
            "return Array.from(document.querySelectorAll('thead')).filter(h => !h.innerText.trim()).length"
        )
        browser.set_window_size(390, 844)  # a phone: nothing wider than the screen
        overflow = browser.execute_script("return document.documentElement.scrollWidth")
    finally:
        browser.quit()
    assert first.startswith("Summary") and "95 % interval" in first and "Criterion:" in first
    assert empty_headers == 0
    assert len(images) >= 6
    assert all(complete and width > 0 and height > 0 for _, complete, width, height in images), images
    assert errors == []
    assert overflow <= 400


def test_export_of_a_numeric_table_scales_and_clips_in_the_graph(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_t(2, size=(300, 3)) * [1, 50, 0.01], columns=["a", "b", "c"])
    frame["y"] = (frame["a"] + frame["b"] / 50 > 0).map({True: "up", False: "down"})
    frame.to_csv(tmp_path / "numbers.csv", index=False)
    out = tmp_path / "model"
    assert (
        glassnet(
            "train", tmp_path / "numbers.csv", "--target", "y", "--out", out, "--no-baselines", "--no-report", *FAST
        ).returncode
        == 0
    )
    completed = glassnet("export", out / "model.glassnet", "--onnx", tmp_path / "model.onnx")
    assert completed.returncode == 0 and "scales the 3 numeric columns itself" in completed.stdout
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    raw = frame[["a", "b", "c"]].to_numpy(np.float32)
    from_graph = session.run(None, {"input": raw})[0]
    model = gn.load_model(out / "model.glassnet")
    expected = model.network.predict(TablePreprocessor.from_dict(model.preprocessing).transform(frame))
    np.testing.assert_allclose(from_graph, expected, rtol=1e-4, atol=1e-5)


def test_predict_scores_every_row_even_where_the_target_column_is_blank(table, tmp_path):
    """A file to score that still has the target column, blank on the rows to score: one prediction per
    input row (they were dropped: "120 rows in, wrote 90 predictions"); evaluate says what it skipped."""
    _, csv_path, _, frame = table
    out = tmp_path / "model"
    assert glassnet("train", csv_path, "--target", "churn", "--out", out, "--no-report", *FAST).returncode == 0
    rows = frame.head(40).copy()
    rows.loc[rows.index[10:], "churn"] = None  # the rows the user wants scored
    partly, blank = tmp_path / "partly.csv", tmp_path / "blank.csv"
    rows.to_csv(partly, index=False)
    rows.assign(churn=None).to_csv(blank, index=False)
    for path in (partly, blank):
        done = glassnet("predict", out / "model.glassnet", path, "-o", tmp_path / f"p-{path.stem}.csv")
        assert done.returncode == 0, done.stderr
        assert len(pd.read_csv(tmp_path / f"p-{path.stem}.csv")) == 40
    scored = glassnet("evaluate", out / "model.glassnet", partly)
    assert scored.returncode == 0 and "on 10 rows" in scored.stdout and "30 row(s) with a blank target" in scored.stderr
    refused = glassnet("evaluate", out / "model.glassnet", blank)
    assert (
        refused.returncode == 2
        and "no row of" in refused.stderr
        and "`predict` scores rows without one" in refused.stderr  # noqa: E501
    )


def test_no_report_writes_the_model_and_metrics_and_report_renders_it_later(table, tmp_path):
    _, csv_path, _, _ = table
    out = tmp_path / "bare"
    completed = glassnet("train", csv_path, "--target", "churn", "--out", out, "--no-baselines", "--no-report", *FAST)
    assert completed.returncode == 0, completed.stderr
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.glassnet"]
    wrote = next(line for line in completed.stdout.splitlines() if line.startswith("wrote "))
    assert "report.html" not in wrote and wrote.endswith("(--no-report)")
    assert re.search(r"^time: .* · files \d", completed.stdout, re.M)  # not "report and files"
    later = glassnet("report", out / "model.glassnet", "-o", tmp_path / "report.html")
    assert later.returncode == 0, later.stderr
    assert "<html" in (tmp_path / "report.html").read_text()
    again = glassnet("train", csv_path, "--target", "churn", "--out", out, "--no-baselines", "--overwrite", *FAST)
    assert again.returncode == 0 and (out / "report.html").exists()  # the same folder, now with its report
