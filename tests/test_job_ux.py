"""The main job as users live it (#15): predictions that join back to their inputs, data that differs
from the training data said or refused (--strict), other text encodings, the evaluate text, the
warnings with their remedies, and the estimate's interval first in the report."""

import json

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_clean_error, glassnet

import glassnet as gn
from glassnet.app.interval import headline_interval, leaders, wilson

FAST = ["--epochs", "15", "--hidden", "16", "--quiet", "--folds", "2", "--no-baselines"]
QUICK = [*FAST, "--no-report"]  # for the runs whose report.html no test reads


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ux")
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame(
        {
            "order": [f"A-{i:04d}" for i in range(n)],
            "amount": rng.normal(50, 10, n).round(2),
            "shop": rng.choice(["north", "south", "east"], n),
        }
    )
    frame["big"] = np.where((frame["amount"] > 50) ^ (frame["shop"] == "east"), "yes", "no")
    frame.to_csv(folder / "orders.csv", index=False)
    out = folder / "model"
    completed = glassnet("train", folder / "orders.csv", "--target", "big", "--out", out, *FAST)
    assert completed.returncode == 0, completed.stderr
    return folder, out / "model.glassnet", frame


def test_predictions_carry_the_id_column_training_dropped(trained, tmp_path):
    folder, model, frame = trained
    new = frame.drop(columns="big").head(5)
    new.to_csv(tmp_path / "new.csv", index=False)
    completed = glassnet("predict", model, tmp_path / "new.csv", "-o", tmp_path / "p.csv")
    assert completed.returncode == 0, completed.stderr
    written = pd.read_csv(tmp_path / "p.csv")
    assert list(written.columns[:2]) == ["order", "prediction"]
    assert list(written["order"]) == list(new["order"])
    new.rename(columns={"order": "ref"}).to_csv(tmp_path / "renamed.csv", index=False)
    completed = glassnet("predict", model, tmp_path / "renamed.csv", "-o", tmp_path / "q.csv", "--id-column", "ref")
    assert completed.returncode == 0 and list(pd.read_csv(tmp_path / "q.csv")["ref"]) == list(new["order"])
    missing = glassnet("predict", model, tmp_path / "new.csv", "-o", tmp_path / "r.csv", "--id-column", "nope")
    assert_clean_error(missing, 2, "--id-column 'nope' is not a column")
    assert not (tmp_path / "r.csv").exists()


def test_differences_from_the_training_data_are_said_or_refused_with_strict(trained, tmp_path):
    folder, model, frame = trained
    new = frame.drop(columns="big").head(6).copy()
    new.loc[[0, 1], "shop"] = "west"
    new["note"] = "x"
    new.to_csv(tmp_path / "new.csv", index=False)
    completed = glassnet("predict", model, tmp_path / "new.csv", "-o", tmp_path / "p.csv")
    assert completed.returncode == 0
    assert "column(s) the model does not use, ignored: 'note'" in completed.stderr
    assert "shop: 2 row(s), e.g. 'west'" in completed.stderr
    strict = glassnet("predict", model, tmp_path / "new.csv", "-o", tmp_path / "s.csv", "--strict")
    assert_clean_error(strict, 2, "--strict", "'note'", "'west'")
    assert not (tmp_path / "s.csv").exists()  # nothing written when refused
    clean = frame.drop(columns="big").head(6)
    clean.to_csv(tmp_path / "clean.csv", index=False)
    assert glassnet("predict", model, tmp_path / "clean.csv", "-o", tmp_path / "c.csv", "--strict").returncode == 0


def test_new_rows_read_numbers_as_training_did_and_name_the_cells_that_are_not(trained, tmp_path):
    """A numeric column of new rows, written with signs or separators in a few rows and words in others,
    fell short of the share that makes a column's written numbers numbers: every cell became the training
    median without a word, the predictions silently wrong."""
    folder, model, frame = trained
    new = frame.drop(columns="big").head(5).copy()
    new.to_csv(tmp_path / "plain.csv", index=False)
    new["amount"] = new["amount"].astype(object)
    new.loc[0, "amount"] = f"${frame['amount'][0]:,.2f}"
    new.loc[1, "amount"] = f"{frame['amount'][1] * 1000:,.0f}"  # 1000×, with thousands separators
    new.loc[[2, 3], "amount"] = ["n.a.", "unknown"]
    new.to_csv(tmp_path / "new.csv", index=False)
    for name in ("plain", "new"):
        done = glassnet("predict", model, tmp_path / f"{name}.csv", "-o", tmp_path / f"{name}-p.csv", "--proba")
        assert done.returncode == 0, done.stderr
    plain, written = pd.read_csv(tmp_path / "plain-p.csv"), pd.read_csv(tmp_path / "new-p.csv")
    np.testing.assert_allclose(written["proba_yes"][[0, 4]], plain["proba_yes"][[0, 4]], rtol=1e-6)
    assert written["proba_yes"][1] != plain["proba_yes"][1]  # 1000× the amount, read as a number, not a median
    assert "not numbers, taken as the training median: amount: 2 row(s), e.g. 'n.a.', 'unknown'" in done.stderr
    strict = glassnet("predict", model, tmp_path / "new.csv", "-o", tmp_path / "s.csv", "--strict")
    assert_clean_error(strict, 2, "--strict", "'n.a.'")


def test_numbers_far_from_the_training_rows_are_said_or_refused_with_strict(trained, tmp_path):
    """Amounts in cents where the model learned dollars: every value far beyond the smooth clipping's
    bound, so the network saw them all alike, and the predictions came without a word."""
    folder, model, frame = trained
    new = frame.drop(columns="big").head(20).copy()
    new["amount"] = new["amount"] * 100
    new.to_csv(tmp_path / "cents.csv", index=False)
    done = glassnet("predict", model, tmp_path / "cents.csv", "-o", tmp_path / "p.csv")
    assert done.returncode == 0 and len(pd.read_csv(tmp_path / "p.csv")) == 20, done.stderr
    assert "numbers far from the training rows'" in done.stderr and "amount: 20 of 20" in done.stderr
    strict = glassnet("predict", model, tmp_path / "cents.csv", "-o", tmp_path / "s.csv", "--strict")
    assert_clean_error(strict, 2, "--strict", "amount: 20 of 20")
    same = glassnet("predict", model, folder / "orders.csv", "-o", tmp_path / "same.csv")
    assert same.returncode == 0 and "far from" not in same.stderr  # the training rows themselves: none


def test_a_missing_column_names_the_data_column_that_looks_like_it(trained, tmp_path):
    folder, model, frame = trained
    frame.drop(columns="big").rename(columns={"amount": "Amount"}).to_csv(tmp_path / "case.csv", index=False)
    refused = glassnet("predict", model, tmp_path / "case.csv", "-o", tmp_path / "p.csv")
    assert_clean_error(refused, 2, "lacks column(s) the model was trained on: ['amount']", "'Amount': if that is")
    frame.drop(columns=["big", "amount"]).to_csv(tmp_path / "without.csv", index=False)
    refused = glassnet("predict", model, tmp_path / "without.csv", "-o", tmp_path / "p.csv")
    assert_clean_error(refused, 2, "['amount'].")


def test_a_file_in_another_encoding_is_named_and_read_with_encoding(trained, tmp_path):
    folder, model, frame = trained
    labelled = frame.head(30).copy()
    labelled.loc[0, "order"] = "commande-été"
    path = tmp_path / "latin1.csv"
    labelled.to_csv(path, index=False, encoding="latin-1")
    refused = glassnet("evaluate", model, path)
    assert_clean_error(refused, 2, "not UTF-8", "--encoding latin-1")
    completed = glassnet("evaluate", model, path, "--encoding", "latin-1")
    assert completed.returncode == 0, completed.stderr
    bogus = glassnet("evaluate", model, path, "--encoding", "klingon")
    assert_clean_error(bogus, 2, "unknown encoding 'klingon'")
    trained_latin = glassnet("train", path, "--target", "big", "--out", tmp_path / "m", "--encoding", "latin-1", *QUICK)
    assert trained_latin.returncode == 0, trained_latin.stderr


def test_evaluate_text_gives_precision_recall_and_the_confusion_matrix(trained):
    folder, model, frame = trained
    completed = glassnet("evaluate", model, folder / "orders.csv")
    assert completed.returncode == 0, completed.stderr
    text = completed.stdout
    assert "precision" in text and "recall" in text and "confusion matrix" in text
    table = text[text.index("class") :].splitlines()
    yes = next(line for line in table if line.startswith("yes")).split()
    assert int(yes[3]) == int((frame["big"] == "yes").sum())  # the support column counts the rows


def test_the_estimate_has_an_interval_and_the_report_puts_the_summary_first(trained):
    folder, model, frame = trained
    metrics = json.loads((model.parent / "metrics.json").read_text())
    interval = metrics["test_interval"]
    headline = metrics["headline"]["metric"]  # a binary task's: ROC AUC, with DeLong's interval
    assert headline == "roc_auc" and interval["method"] == "DeLong"
    assert interval["low"] <= metrics["test"][headline] <= interval["high"] and interval["rows"] == len(frame)
    html = (model.parent / "report.html").read_text()
    assert html.index("<h2>Summary</h2>") < html.index("<h2>Data</h2>") and "95 % interval" in html


def test_interval_arithmetic():
    low, high = wilson(45, 50)
    assert 0.78 < low < 0.79 and 0.95 < high < 0.96  # the textbook values 0.786, 0.957
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    outputs = (y + rng.normal(scale=0.5, size=300)).reshape(-1, 1)
    r2 = headline_interval("regression", outputs, y)
    assert r2["low"] < 0.8 < r2["high"] and r2["high"] - r2["low"] < 0.15  # R² is about 0.8
    assert headline_interval("regression", outputs, y) == r2  # seeded
    assert leaders([("glassnet DNN", 0.85), ("boosting", 0.85), ("linear", 0.84)]) == ["glassnet DNN", "boosting"]
    assert leaders([("glassnet DNN", 0.83), ("boosting", 0.85), ("linear", None)]) == ["boosting"]


def test_warnings_name_the_problem_and_the_remedy(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    rare = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    rare["y"] = np.where(rare["a"] > 0, "up", "down")
    rare.loc[:4, "y"] = "odd"
    rare.to_csv(tmp_path / "rare.csv", index=False)
    heavy = pd.DataFrame({"a": rng.normal(size=n)})
    heavy["y"] = np.exp(2.5 * rng.normal(size=n))  # unrelated to a, heavy-tailed
    heavy.to_csv(tmp_path / "heavy.csv", index=False)
    counts = pd.DataFrame({"a": rng.normal(size=n)})
    counts["y"] = np.clip(np.round(counts["a"] * 2 + 4), 0, 8).astype(int)
    counts.to_csv(tmp_path / "counts.csv", index=False)
    expected = {
        "rare": ["'odd' (0 of 5 test rows", "balanced accuracy"],
        "heavy": ["heavy-tailed", "log target"],
        "counts": ["distinct whole numbers", "--task regression"],
    }
    for name, fragments in expected.items():
        out = tmp_path / f"out-{name}"
        completed = glassnet("train", tmp_path / f"{name}.csv", "--target", "y", "--out", out, *QUICK)
        assert completed.returncode == 0, completed.stderr
        warnings = json.loads((out / "metrics.json").read_text())["warnings"]
        assert any(all(f in w for f in fragments) for w in warnings), (name, warnings)


def test_column_kinds_can_be_declared_and_codes_are_pointed_out(tmp_path):
    rng = np.random.default_rng(2)
    n = 200
    frame = pd.DataFrame(
        {"region": rng.integers(1, 6, n), "size": rng.normal(size=n), "comment": rng.choice(["a", "b"], n)}
    )
    frame["y"] = np.where(frame["region"].isin([2, 4]) ^ (frame["size"] > 0), "p", "q")
    frame.to_csv(tmp_path / "t.csv", index=False)
    guessed = glassnet("train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "a", *QUICK)
    assert guessed.returncode == 0, guessed.stderr
    assert "holds 5 distinct whole numbers" in guessed.stdout and "--categorical region" in guessed.stdout
    declared = glassnet(
        "train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "b",
        "--categorical", "region", "--ignore", "comment", *QUICK,
    )  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    model = gn.load_model(tmp_path / "b" / "model.glassnet")
    assert model.preprocessing["categorical"] == ["region"] and "comment" in model.preprocessing["dropped"]
    text = glassnet(
        "train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "c", "--numeric", "comment", *QUICK
    )
    assert_clean_error(text, 2, "'comment'", "--numeric", "holds no number")
    unknown = glassnet(
        "train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "d", "--ignore", "nope", *QUICK
    )
    assert_clean_error(unknown, 2, "['nope']", "not input columns")
    both = glassnet(
        "train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "e", "--ignore", "size", "--numeric", "size"
    )
    assert_clean_error(both, 2, "both --numeric and --ignore")
    assert not any((tmp_path / name).exists() for name in "cde")


def test_category_levels_that_look_like_typos_are_pointed_out(tmp_path):
    rng = np.random.default_rng(3)
    cut = rng.choice(["ideal", "premium", "good"], 120).astype(object)
    cut[:3] = ["Idael", "ideal ", "Ideal"]
    frame = pd.DataFrame({"cut": cut, "carat": rng.normal(1, 0.3, 120)})
    frame["price"] = frame["carat"] * 1000
    frame.to_csv(tmp_path / "gems.csv", index=False)
    completed = glassnet("train", tmp_path / "gems.csv", "--target", "price", "--out", tmp_path / "o", *QUICK)
    assert completed.returncode == 0, completed.stderr
    lines = json.loads((tmp_path / "o" / "metrics.json").read_text())["data"]["preprocessing"]
    assert any("differ only in case or spaces" in line and "'Ideal'" in line for line in lines)
    assert not any("'ideal '" in line for line in lines)  # the spaces around a cell are trimmed when read
    assert any("seen fewer than 3 times" in line and "'Idael' (1)" in line for line in lines)


def test_baselines_keep_their_time_budget_and_importance_judges_a_column_as_one(tmp_path):
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({"driver": rng.normal(size=n), "minor": rng.normal(size=n)})
    frame["code"] = rng.choice([f"k{i:02d}" for i in range(30)], n)  # 30 indicators of pure noise
    frame["y"] = 3 * frame["driver"] + 0.5 * frame["minor"] + rng.normal(scale=0.3, size=n)
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "out"
    args = ["--epochs", "20", "--hidden", "16", "--folds", "2", "--baseline-budget", "0.001"]
    completed = glassnet("train", tmp_path / "t.csv", "--target", "y", "--out", out, *args)
    assert completed.returncode == 0, completed.stderr
    assert "by the 0.001 s budget" in completed.stdout and "--baseline-budget bounds them" in completed.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    boosted = metrics["baselines"]["gradient boosting"]
    assert boosted["budget_stopped"] and boosted["iterations"] == 10  # one warm-start round of 10, not 100
    model = gn.load_model(out / "model.glassnet")
    rows = {row["feature"]: row for row in model.metadata["importance"]["rows"]}
    assert rows["code"]["encoded_columns"] == 30 and rows["driver"]["encoded_columns"] == 1
    for measure in ("permutation", "saliency", "integrated_gradients"):  # 30 indicators do not add up to more
        assert rows["driver"][measure] > rows["minor"][measure] > 0 and rows["driver"][measure] > rows["code"][measure]
    assert rows["code"]["permutation"] < 3 * rows["code"]["permutation_std"] + 0.01  # indistinguishable from 0
    assert model.metadata["importance"]["repeats"] >= 3 and "R²" in model.metadata["importance"]["permutation_score"]
    html = (out / "report.html").read_text()
    assert "time budget: stopped at 10 iterations" in html and " ± " in html and "encoded columns" in html
    refused = glassnet("train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "o2", "--baseline-budget", "0")
    assert_clean_error(refused, 2, "--baseline-budget must be a positive number")


def test_the_job_shows_a_bar_per_phase_with_the_members_nested(tmp_path):
    import io

    from glassnet.app.crossfit import cross_fit
    from glassnet.app.options import JobOptions
    from glassnet.app.phases import JobProgress
    from glassnet.app.prepare import prepare

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    frame["y"] = (frame["a"] > 0).astype(int)
    options = JobOptions(
        data="<frame>", frame=frame, target=["y"], epochs=3, hidden=(8,), folds=2, verbose=1, baselines=False
    )
    screen = io.StringIO()
    progress = JobProgress(["training", "importance"], stream=screen, force=True)
    fit = cross_fit(prepare(options), options, log=lambda text: None, progress=progress)
    assert len(fit.ensemble) == 2
    shown = screen.getvalue()
    assert "[1/2] training" in shown and "2/2" in shown and "network" in shown  # the phase bar counts members
    assert "network 1" in shown and "network 2" in shown and "epoch" in shown  # each member's epochs nested
    with progress.phase("importance", unit="column") as bar:
        bar.reach(3, 4)
        bar.log("a line of the job's log")
    assert "[2/2] importance" in screen.getvalue() and "3/4" in screen.getvalue()
    quiet = JobProgress(["training"], stream=io.StringIO())  # not a terminal: no bars, the log lines instead
    lines = []
    with JobProgress(["training"], stream=io.StringIO(), log=lines.append).phase("training", 2) as bar:
        bar.advance()
        bar.log("plain")
    assert not quiet.active and lines == ["plain"]


def test_predict_and_evaluate_stream_chunks_to_the_same_results(trained, tmp_path):
    folder, model, frame = trained
    new = frame.copy()
    new.loc[[3, 150], "shop"] = "west"  # unseen, in two different chunks
    new.to_csv(tmp_path / "new.csv", index=False)
    whole = glassnet("predict", model, tmp_path / "new.csv", "-o", tmp_path / "whole.csv", "--proba")
    chunked = glassnet(
        "predict", model, tmp_path / "new.csv", "-o", tmp_path / "chunks.csv", "--proba", "--chunk-rows", "7"
    )
    assert whole.returncode == 0 and chunked.returncode == 0, chunked.stderr
    reference = pd.read_csv(tmp_path / "whole.csv")
    same = _same_predictions  # float32 sums of a 7-row GEMM may round apart from a 240-row one in the last bit
    same(pd.read_csv(tmp_path / "chunks.csv"), reference)
    assert "shop: 2 row(s), e.g. 'west'" in chunked.stderr  # the notes add up over the chunks
    without_ids = new.drop(columns="order")
    without_ids.to_csv(tmp_path / "plain.csv", index=False)
    assert (
        glassnet("predict", model, tmp_path / "plain.csv", "-o", tmp_path / "p.csv", "--chunk-rows", "50").returncode
        == 0
    )
    assert pd.read_csv(tmp_path / "p.csv")["row"].tolist() == list(range(len(new)))  # row numbers run on
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, len(new), 100)):  # a Parquet dataset: a folder of files
        new.iloc[start : start + 100].to_parquet(parts / f"part-{i}.parquet", index=False)
    from_parquet = glassnet("predict", model, parts, "-o", tmp_path / "pq.csv", "--proba", "--chunk-rows", "64")
    assert from_parquet.returncode == 0, from_parquet.stderr
    same(pd.read_csv(tmp_path / "pq.csv"), reference)
    retrained = glassnet("train", parts, "--target", "big", "--out", tmp_path / "from-parts", *QUICK, "--json")
    assert retrained.returncode == 0, retrained.stderr  # a Parquet folder trains as one table, not as images
    assert json.loads(retrained.stdout)["data"]["rows"] == len(new)
    scores = [
        json.loads(glassnet("evaluate", model, tmp_path / "new.csv", "--json", *rows).stdout)
        for rows in ([], ["--chunk-rows", "9"])
    ]
    assert scores[0]["rows"] == scores[1]["rows"] == len(new)
    assert (
        scores[0]["accuracy"] == scores[1]["accuracy"]
        and scores[0]["confusion_matrix"] == scores[1]["confusion_matrix"]
    )
    assert scores[0]["log_loss"] == pytest.approx(scores[1]["log_loss"], rel=1e-5)


def _same_predictions(written, reference):
    assert written.columns.tolist() == reference.columns.tolist() and len(written) == len(reference)
    assert written["order"].tolist() == reference["order"].tolist()
    assert written["prediction"].tolist() == reference["prediction"].tolist()
    assert np.allclose(written.filter(like="proba_"), reference.filter(like="proba_"), rtol=0, atol=1e-6)


def test_strict_refuses_a_late_chunk_and_writes_nothing(trained, tmp_path):
    folder, model, frame = trained
    new = frame.drop(columns="big").copy()
    new.loc[230, "shop"] = "west"  # in the last chunk only
    new.to_csv(tmp_path / "new.csv", index=False)
    refused = glassnet(
        "predict", model, tmp_path / "new.csv", "-o", tmp_path / "p.csv", "--strict", "--chunk-rows", "50"
    )
    assert_clean_error(refused, 2, "differs from the training data (--strict)")
    assert list(tmp_path.iterdir()) == [tmp_path / "new.csv"]  # no output, no partial file
