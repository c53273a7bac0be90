"""Cross-fitting and ensembles: every row trains the model, every row gets an honest prediction."""

import json

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet import recipe
from glassnet.app.options import JobOptions
from glassnet.app.run import run_training
from glassnet.io.modelfile import load_model, save_model
from glassnet.training.folds import fold_assignment


def _members(n=3, softmax=True):
    activation = "softmax" if softmax else "linear"
    return [gn.mlp([6], 3, input_dim=4, seed=s, output_activation=activation) for s in range(n)]


def test_an_ensemble_predicts_the_members_mean_and_their_spread():
    members = _members()
    ensemble = gn.Ensemble(members)
    x = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    stacked = np.stack([m.predict(x) for m in members])
    np.testing.assert_allclose(ensemble.predict(x), stacked.mean(axis=0), rtol=1e-6)
    disagreement = gn.Ensemble.spread(stacked, classes=True)
    chosen = stacked.mean(axis=0).argmax(axis=1)
    expected = np.mean([m.argmax(axis=1) != chosen for m in stacked], axis=0)
    np.testing.assert_array_equal(disagreement, expected)
    assert set(np.round(disagreement * 3)) <= {0, 1, 2}  # thirds of three members
    np.testing.assert_allclose(gn.Ensemble.spread(stacked, classes=False), stacked.std(axis=0))
    labels = np.array([[[0.9, 0.2]], [[0.8, 0.6]], [[0.7, 0.1]]])  # 3 members, 1 row, 2 labels
    assert gn.Ensemble.spread(labels, classes="labels") == pytest.approx([1 / 6])  # one vote of six differs
    with pytest.raises(ValueError, match="share input and output widths"):
        gn.Ensemble([members[0], gn.mlp([6], 2, input_dim=4)])
    with pytest.raises(ValueError, match="at least one member"):
        gn.Ensemble([])


def test_an_ensemble_file_holds_every_member(tmp_path):
    ensemble = gn.Ensemble(_members(softmax=False))
    save_model(ensemble, tmp_path / "e.glassnet")
    model = load_model(tmp_path / "e.glassnet")
    x = np.ones((2, 4), dtype=np.float32)
    assert len(model.members) == 3 and isinstance(model.predictor, gn.Ensemble)
    np.testing.assert_array_equal(model.predictor.predict(x), ensemble.predict(x))
    save_model(ensemble.members[0], tmp_path / "one.glassnet")
    single = load_model(tmp_path / "one.glassnet")
    assert single.members == [single.network] and single.predictor is single.network


def test_an_ensemble_exports_to_one_onnx_graph(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    from glassnet.io.onnx_export import export_onnx

    ensemble = gn.Ensemble(_members())
    export_onnx(ensemble, tmp_path / "e.onnx")
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / "e.onnx"))
    np.testing.assert_allclose(session.run(None, {"input": x})[0], ensemble.predict(x), rtol=1e-5, atol=1e-6)


def test_folds_are_seeded_and_deal_each_class_evenly():
    labels = np.r_[np.zeros(50), np.ones(10)].astype(int)
    folds = fold_assignment(60, 5, seed=3, labels=labels)
    np.testing.assert_array_equal(folds, fold_assignment(60, 5, seed=3, labels=labels))
    assert not np.array_equal(folds, fold_assignment(60, 5, seed=4, labels=labels))
    for fold in range(5):
        assert np.sum(folds == fold) == 12 and np.sum(labels[folds == fold]) == 2
    with pytest.raises(ValueError, match="between 2"):
        fold_assignment(10, 1, seed=0)


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame(
        {"age": rng.normal(40, 10, n), "visits": rng.poisson(2, n) ** 2, "city": rng.choice(list("abc"), n)}
    )
    frame["churn"] = np.where((frame["age"] - 40) / 10 + (frame["city"] == "b") + rng.normal(0, 0.3, n) > 0.3, "y", "n")
    path = tmp_path_factory.mktemp("crossfit") / "churn.csv"
    frame.to_csv(path, index=False)
    return path


def _options(path, **changes):
    settings = dict(target=["churn"], epochs=8, hidden=(8, 8), verbose=0, importance=False, baselines=False)
    return JobOptions(data=str(path), **{**settings, **changes})


def test_train_cross_fits_on_every_row_and_estimates_out_of_fold(churn):
    result = run_training(_options(churn, baselines=True), log=lambda *a: None)
    fit, data = result.metadata["cross_fit"], result.prepared.description
    assert isinstance(result.network, gn.Ensemble) and len(result.network) == 5
    assert fit["rows"] == 240 and data["test_rows"] == 240 and data["estimate"] == "out of fold"
    assert sorted(m["validation_rows"] for m in fit["members"]) == [48] * 5
    assert all(m["training_rows"] == 192 for m in fit["members"])
    # the baselines are cross-validated on the same folds, scored on the same 240 rows
    assert set(result.metadata["baselines"]) == {"logistic regression", "gradient boosting"}
    said: list[str] = []
    again = run_training(_options(churn), log=said.append)
    # the L2 prior over a member's 192 training rows, said and recorded
    rule = f"the prior {recipe.L2_PRIOR:g} over each network's training rows ({recipe.L2_PRIOR:g} / 192 = "
    assert any(line.startswith(f"weight decay (L2): {rule}") for line in said)  # member 1's 192 rows
    assert again.metadata["options"]["weight_decay"].startswith(rule)
    given = run_training(_options(churn, weight_decay=0.0, folds=2, epochs=1), log=said.append)
    assert given.metadata["options"]["weight_decay"] == "0, as given"
    for a, b in zip(result.network.members, again.network.members):
        for key, value in a.state_dict().items():
            np.testing.assert_array_equal(value, b.state_dict()[key])  # the same seed, the same weights
    assert again.metrics == result.metrics


def test_a_cross_fit_keeps_one_copy_of_the_rows(churn):
    from glassnet.app.prepare import prepare

    prepared = prepare(_options(churn))
    assert len(prepared.x_test) == 0 and prepared.description["estimate"] == "out of fold"
    arrays = (prepared.x_train, prepared.x_val, prepared.x_test)
    owners = {id(owner): owner for owner in (a if a.base is None else a.base for a in arrays)}
    # the pool (training then validation rows) and nothing else: an empty view of the matrix it was
    # taken from would keep that whole matrix alive, a second copy of every row
    pooled = prepared.x_train.nbytes + prepared.x_val.nbytes
    assert sum(owner.nbytes for owner in owners.values()) == pooled


def test_the_files_are_written_from_an_account_that_holds_no_rows(churn):
    from glassnet.app.prepare import prepare

    prepared = prepare(_options(churn, folds=1))
    bare = prepared.without_rows()
    assert prepared.x_pooled is not None  # the training and validation rows, one array
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "x_pooled"):
        full, empty = getattr(prepared, name), getattr(bare, name)
        assert len(full) > 0 and empty.shape == (0, *full.shape[1:]) and empty.dtype == full.dtype
        assert empty.base is None  # nothing of the rows is kept alive through it
    assert bare.description == prepared.description and bare.task == prepared.task
    assert bare.preprocessing is prepared.preprocessing and bare.classes == prepared.classes


def test_members_train_side_by_side_by_default_to_the_weights_of_one_after_the_other(churn, monkeypatch):
    from glassnet.app import threads
    from glassnet.training import executors

    monkeypatch.setattr(executors, "usable_cores", lambda: 2)  # as on a 2-core machine, whatever runs this
    assert threads.member_executor(None) == "threads" and threads.member_executor("sequential") == "sequential"
    side_by_side = run_training(_options(churn, folds=3), log=lambda *a: None)
    in_turn = run_training(_options(churn, folds=3, executor="sequential"), log=lambda *a: None)
    for a, b in zip(side_by_side.network.members, in_turn.network.members, strict=True):
        for key, value in a.state_dict().items():
            np.testing.assert_array_equal(value, b.state_dict()[key])
    assert side_by_side.metrics == in_turn.metrics
    monkeypatch.setattr(executors, "usable_cores", lambda: 1)
    assert threads.member_executor(None) is None  # one core: here, one member after the other


def test_a_small_network_gets_one_blas_thread_and_a_wide_one_every_core():
    from glassnet.app.threads import product_threads

    assert product_threads([64, 256, 128, 2], 64) == 1  # the tabular recipe's network
    assert product_threads([784, 1024, 1024, 10], 256) is None


@pytest.mark.parametrize("where", ["joblib", "dask"])
def test_members_train_the_same_on_other_processes(churn, where, request):
    folds = 5 if where == "dask" else 3  # the default 5-fold ensemble on a cluster of worker processes
    here = run_training(_options(churn, folds=folds), log=lambda *a: None)
    if where == "joblib":
        pytest.importorskip("joblib")
        there = run_training(_options(churn, folds=folds, executor="joblib"), log=lambda *a: None)
    else:
        cluster = request.getfixturevalue("dask_cluster")  # rows and targets go to the workers by path
        there = run_training(_options(churn, folds=folds, executor=cluster.scheduler_address), log=lambda *a: None)
    for a, b in zip(here.network.members, there.network.members, strict=True):
        for key, value in a.state_dict().items():
            np.testing.assert_array_equal(value, b.state_dict()[key])
    assert here.metrics == there.metrics


def test_the_command_line_writes_an_ensemble_and_its_spread(churn, tmp_path):
    from test_cli import glassnet

    out = tmp_path / "out"
    completed = glassnet("train", churn, "--target", "churn", "--out", out, "--epochs", "5", "--hidden", "8,8",
                         "--no-baselines", "--folds", "3")  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "out-of-fold roc_auc" in completed.stdout and "the mean of 3 cross-fit networks" in completed.stdout
    assert json.loads((out / "metrics.json").read_text())["cross_fit"]["folds"] == 3
    report = (out / "report.html").read_text()
    assert "Out-of-fold results" in report and "the mean of 3 networks cross-fitted on all 240 rows" in report
    # how many hidden units are alive, in the output and the report (diagnostics/units.py)
    assert (
        "units: Hidden units alive (at least one non-zero incoming weight) in each of the 3 members: dense_1 8 of 8"
        in completed.stdout
    )
    assert "Hidden units alive" in report
    predicted = glassnet("predict", out / "model.glassnet", churn, "-o", tmp_path / "p.csv", "--spread")
    assert predicted.returncode == 0, predicted.stderr
    spread = pd.read_csv(tmp_path / "p.csv")["spread"]
    assert len(spread) == 240 and spread.between(0, 1).all() and set(np.round(spread * 3)) <= {0, 1, 2}
    inspected = glassnet("inspect", out / "model.glassnet").stdout
    assert "ensemble of 3 networks" in inspected and "out-of-fold accuracy" in inspected
    assert "numeric column(s) (age, visits)" in inspected and "categorical column(s) (city (3))" in inspected
    assert "folds=3" in inspected and "lr=0.003" in inspected  # the rate the recipe chose, not "None"
    single = tmp_path / "single"
    assert glassnet("train", churn, "--target", "churn", "--out", single, "--epochs", "2", "--folds", "1",
                    "--no-baselines", "--quiet").returncode == 0  # fmt: skip
    refused = glassnet("predict", single / "model.glassnet", churn, "-o", tmp_path / "q.csv", "--spread")
    assert refused.returncode == 2 and "needs an ensemble" in refused.stderr and not (tmp_path / "q.csv").exists()


def test_the_time_limit_stops_every_network_at_an_epoch_end_and_says_what_it_cut(churn, tmp_path):
    """--max-time: with a limit far shorter than the training asked for (100,000 epochs), each network
    stops at the end of an epoch before the deadline, and the output says so."""
    from test_cli import glassnet

    out = tmp_path / "out"
    completed = glassnet("train", churn, "--target", "churn", "--out", out, "--epochs", "100000", "--hidden", "8,8",
                         "--no-early-stopping", "--folds", "3", "--max-time", "0.5s")  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    limit = json.loads((out / "metrics.json").read_text())["time_limit"]
    assert limit["seconds"] == 0.5
    assert [line.split(" stopped")[0] for line in limit["cut"][:3]] == ["network 1", "network 2", "network 3"]
    assert all(line.split("stopped after epoch ")[1].split()[0].isdigit() for line in limit["cut"][:3]), limit
    assert (
        "time limit: 0.5 s for the whole job" in completed.stdout
        and "network 2 stopped after epoch" in completed.stdout
    )
    assert "time limit: 0.5 s for the whole job (--max-time)" in (out / "report.html").read_text()
    refused = glassnet("train", churn, "--target", "churn", "--out", tmp_path / "no", "--max-time", "ten minutes")
    assert refused.returncode == 2 and "expected a duration such as 90s, 10m or 1h30m" in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("glassnet train: error: argument --max-time")
    assert not (tmp_path / "no").exists()


def test_a_time_limit_far_away_cuts_nothing(churn):
    result = run_training(_options(churn, folds=2, max_time=3600.0), log=lambda *a: None)
    assert result.metadata["time_limit"]["cut"] == []
    assert "deadline" not in result.metadata["options"] and result.metadata["options"]["max_time"] == 3600.0


def test_the_model_file_says_which_options_did_not_apply(churn, tmp_path):
    """Every option is recorded; those that did not shape the model say why (momentum 0.9 was recorded
    for Adam as if it had been used)."""
    result = run_training(_options(churn, folds=2), log=lambda *a: None)
    unused = result.metadata["options_not_applied"]
    assert unused["momentum"] == "applies to sgd only" and "refit" in unused and "image_size" in unused
    assert "patience" not in unused and "max_time" in unused
    sgd = run_training(_options(churn, folds=2, optimizer="sgd", early_stopping=False), log=lambda *a: None)
    assert "momentum" not in sgd.metadata["options_not_applied"]
    assert sgd.metadata["options_not_applied"]["patience"] == "early stopping is off"
    path = save_model(sgd.network, tmp_path / "m.glassnet", metadata=sgd.metadata)
    assert load_model(path).metadata["options_not_applied"]["patience"] == "early stopping is off"
