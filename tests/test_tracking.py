"""TensorBoard and MLflow: what the callbacks and `train --tensorboard/--mlflow` write, read back with
the libraries' own readers (TensorBoard's event accumulator, MLflow's client) and compared with the History."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_clean_error, glassnet

import glassnet as gn

pytest.importorskip("tensorboardX")
pytest.importorskip("mlflow")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _events(folder):
    events = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    return events


def _fit(callbacks, epochs=4):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = gn.mlp([16, 8], 2, output_activation="softmax")
    return gn.fit(net, x, y, epochs=epochs, lr=0.05, validation_split=0.25, callbacks=callbacks)


def test_tensorboard_holds_the_curves_gradients_units_and_histograms(tmp_path):
    from glassnet.tracking import TensorBoard

    history = _fit([TensorBoard(tmp_path / "run")])
    events = _events(tmp_path / "run")
    for key in ("loss", "val_loss", "val_accuracy", "lr"):
        logged = events.Scalars(f"epoch/{key}")
        assert [e.step for e in logged] == history.epochs
        assert np.allclose([e.value for e in logged], history.history[key], rtol=1e-6)
    for layer, norms in history.grad_norms.items():
        assert np.allclose([e.value for e in events.Scalars(f"gradients/{layer}/norm")], norms, rtol=1e-6)
        ratios = history.diagnostics["update_ratio"][layer][1:]  # the first probe is before training
        assert np.allclose([e.value for e in events.Scalars(f"gradients/{layer}/update_to_weight")], ratios, rtol=1e-6)
    for layer, entry in history.diagnostics["activations"].items():
        dead = [e.value for e in events.Scalars(f"units/{layer}/dead_fraction")]
        assert np.allclose(dead, entry["dead_fraction"], atol=1e-7)
        assert len(events.Histograms(f"activations/{layer}")) == len(history)
    assert len(events.Histograms("weights/dense_1")) == len(history)


def test_mlflow_holds_each_epoch_of_the_run(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from glassnet.tracking import MLflowLogger

    monkeypatch.chdir(tmp_path)  # MLflow's artifacts folder, if any, lands here
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logger = MLflowLogger(tracking_uri=uri, params={"lr": 0.05})
    history = _fit([logger])
    client = MlflowClient(uri)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.05"}
    for key in ("loss", "val_loss", "val_accuracy"):
        logged = client.get_metric_history(logger.run_id, key)
        assert [m.step for m in logged] == history.epochs
        assert np.allclose([m.value for m in logged], history.history[key])


def test_train_tracks_each_member_and_logs_the_job_to_one_mlflow_run(tmp_path):
    from mlflow.tracking import MlflowClient

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    frame["y"] = np.where(frame["a"] - frame["c"] > 0, "up", "down")
    frame.to_csv(tmp_path / "t.csv", index=False)
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    completed = glassnet(
        "train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "m", "--epochs", "5", "--hidden", "8",
        "--quiet", "--folds", "2", "--no-baselines", "--tensorboard", tmp_path / "tb", "--mlflow", uri, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    document = json.loads((tmp_path / "m" / "metrics.json").read_text())
    for member in (1, 2):
        events = _events(tmp_path / "tb" / f"member{member}")
        assert len(events.Scalars("epoch/val_loss")) == document["cross_fit"]["members"][member - 1]["epochs"]
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("glassnet").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["hidden"] == "[8]" and "momentum" not in run.data.params  # adam: momentum did not apply
    assert run.data.metrics["oof_roc_auc"] == pytest.approx(document["test"]["roc_auc"])
    curve = client.get_metric_history(run.info.run_id, "member2/val_loss")
    assert len(curve) == document["cross_fit"]["members"][1]["epochs"]
    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == [
        "metrics.json", "model.glassnet", "report.html",
    ]  # fmt: skip


def test_a_job_interrupted_or_failed_ends_its_mlflow_run_so(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from glassnet.app.options import JobOptions
    from glassnet.app.tracking import mlflow_run
    from glassnet.exceptions import TrainingInterrupted

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    ids = []
    for error, status in ((TrainingInterrupted("stopped"), "KILLED"), (ValueError("bad"), "FAILED")):
        with pytest.raises(type(error)), mlflow_run(JobOptions(data="t.csv", mlflow=uri), log=lambda *a: None) as told:
            ids.append(told.mlflow_run)
            raise error
        assert MlflowClient(uri).get_run(ids[-1]).info.status == status


def test_a_missing_extra_is_named_with_its_install_command(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tensorboardX" else real(name, *a)
    )
    (tmp_path / "t.csv").write_text("a,y\n1,0\n2,1\n")
    completed = glassnet("train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "m", "--tensorboard", "tb")
    assert_clean_error(completed, 2, "--tensorboard needs tensorboardX", "pip install 'glassnet[tensorboard]'")


def test_a_store_that_is_not_mlflows_is_refused_in_one_line_and_left_as_it_was(tmp_path):
    (tmp_path / "t.csv").write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    (tmp_path / "mlflow.db").write_text("my notes")
    completed = glassnet("train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "m", "--mlflow",
                         "--no-baselines", "--quiet", cwd=tmp_path)  # fmt: skip
    assert_clean_error(completed, 2, "--mlflow could not open the tracking store", "file is not a database")
    assert (tmp_path / "mlflow.db").read_text() == "my notes" and not (tmp_path / "m").exists()
