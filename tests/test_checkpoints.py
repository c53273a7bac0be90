"""Checkpoints: resume gives bit-identical weights, also after SIGKILL or Ctrl-C."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.io.checkpoint import read_checkpoint
from glassnet.io.modelfile import ModelFileError, load_model

WORKER = Path(__file__).with_name("checkpoint_worker.py")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6))
    return x, (x[:, 0] + x[:, 1] ** 2 > 1).astype(int)


def _run(epochs, checkpoint=None, resume=False, stop_after=None):
    x, y = _data()
    net = gn.mlp([16, 16], 2, batch_norm=True, dropout=0.2, output_activation="softmax", seed=3)
    callbacks = [gn.EarlyStopping(patience=100), gn.ReduceLROnPlateau(patience=2, factor=0.5)]
    history = gn.fit(
        net,
        x,
        y,
        epochs=epochs if stop_after is None else stop_after,
        batch_size=16,
        optimizer="adam",
        lr=3e-3,
        validation_split=0.2,
        seed=4,
        callbacks=callbacks,
        checkpoint=checkpoint,
        resume=resume,
    )
    return net, history


def test_resume_in_process_gives_identical_weights(tmp_path):
    reference, reference_history = _run(8)
    path = tmp_path / "run.ckpt"
    _run(8, checkpoint=path, stop_after=3)  # "crash" after 3 epochs
    assert read_checkpoint(path)["epoch"] == 3
    resumed, history = _run(8, checkpoint=path, resume=True)
    assert history.epochs == list(range(1, 9))
    assert history["val_loss"] == reference_history["val_loss"]
    for ours, theirs in zip(resumed.parameters(), reference.parameters()):
        assert np.array_equal(ours.value, theirs.value), ours.name
    for name, value in resumed.buffers().items():
        assert np.array_equal(value, reference.buffers()[name])


def test_resume_refuses_a_checkpoint_from_another_run(tmp_path):
    path = tmp_path / "run.ckpt"
    _run(2, checkpoint=path)
    x, y = _data()
    net = gn.mlp([16, 16], 2, batch_norm=True, dropout=0.2, output_activation="softmax", seed=3)
    with pytest.raises(ModelFileError, match="different run"):
        gn.fit(
            net,
            x[:200],
            y[:200],
            epochs=4,
            batch_size=16,
            optimizer="adam",
            checkpoint=path,
            resume=True,
            validation_split=0.2,
            callbacks=[gn.EarlyStopping(), gn.ReduceLROnPlateau()],
        )


def _subprocess(mode, checkpoint, out, epochs=6):
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(checkpoint), str(out), str(epochs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _final_weights(path):
    model = load_model(path)
    return model.network.state_dict()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plain")
    process = _subprocess("plain", folder / "unused.ckpt", folder / "plain.glassnet")
    out, err = process.communicate()
    assert "DONE" in out, err
    return _final_weights(folder / "plain.glassnet")


def _wait_for(path, process):
    """Wait (however slow the machine) until ``path`` exists; fail if the process ends first."""
    while not Path(path).exists():
        if process.poll() is not None:
            raise AssertionError(f"{path} never appeared: {process.communicate()}")
        time.sleep(0.05)


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path, uninterrupted):
    checkpoint = tmp_path / "run.ckpt"
    process = _subprocess("train", checkpoint, tmp_path / "never.glassnet")
    _wait_for(checkpoint, process)  # first epoch written...
    time.sleep(0.5)  # ...and now somewhere inside a later epoch
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    saved_epoch = read_checkpoint(checkpoint)["epoch"]
    assert 1 <= saved_epoch < 6
    resumed = _subprocess("resume", checkpoint, tmp_path / "resumed.glassnet")
    out, err = resumed.communicate()
    assert "DONE" in out, err
    final = _final_weights(tmp_path / "resumed.glassnet")
    assert set(final) == set(uninterrupted)
    assert all(np.array_equal(final[name], uninterrupted[name]) for name in final)


def test_ctrl_c_saves_mid_epoch_checkpoint_and_resume_is_identical(tmp_path, uninterrupted):
    checkpoint = tmp_path / "run.ckpt"
    process = _subprocess("train", checkpoint, tmp_path / "never.glassnet")
    _wait_for(checkpoint, process)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate()
    assert process.returncode == 0 and "INTERRUPTED" in out, err
    assert "state was saved to" in err and "resume" in err
    state = read_checkpoint(checkpoint)
    # Mostly inside an epoch; when the signal lands during an epoch's validation, after it (both resume
    # exactly; tests/test_interrupts.py places interrupts deterministically).
    assert state["position"] is None or state["position"]["next_start"] > 0
    resumed = _subprocess("resume", checkpoint, tmp_path / "resumed.glassnet")
    out, err = resumed.communicate()
    assert "DONE" in out, err
    final = _final_weights(tmp_path / "resumed.glassnet")
    assert all(np.array_equal(final[name], uninterrupted[name]) for name in final)


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "run.ckpt"
    _run(2, checkpoint=path)
    before = path.read_bytes()
    import glassnet.io.atomic as atomic

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(atomic.os, "fsync", crash)
    with pytest.raises(OSError, match="simulated"):
        _run(2, checkpoint=path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"]  # no temporary left behind


def test_the_default_cross_fit_job_checkpoints_member_by_member_and_resumes_after_sigkill(tmp_path):
    """`--checkpoint` keeps the five cross-fit members (it used to switch to one network): each member
    writes its own file, and a run killed part-way resumes to the same model as an uninterrupted one."""
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2000, 4)), columns=list("abcd"))
    frame["y"] = np.where(frame["a"] + frame["b"] ** 2 + 0.3 * rng.normal(size=2000) > 1, "yes", "no")
    frame.to_csv(tmp_path / "t.csv", index=False)
    settings = ["--target", "y", "--epochs", "10", "--no-baselines", "--no-report", "--quiet", "--folds", "3"]

    def train(out, *extra):
        command = [sys.executable, "-m", "glassnet", "train", str(tmp_path / "t.csv"), "--out", str(out)]
        return subprocess.Popen(command + settings + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    reference = train(tmp_path / "reference")
    reference.communicate()
    checkpoint = tmp_path / "run.ckpt"
    killed = train(tmp_path / "model", "--checkpoint", str(checkpoint))
    first = tmp_path / "run.member1.ckpt"
    _wait_for(first, killed)  # member 1 has finished an epoch...
    killed.send_signal(signal.SIGKILL)  # ...and the job dies somewhere later
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    assert read_checkpoint(first)["epoch"] >= 1
    resumed = train(tmp_path / "model", "--checkpoint", str(checkpoint), "--resume")
    out, err = resumed.communicate()
    assert resumed.returncode == 0, err
    assert sorted(p.name for p in tmp_path.glob("run.member*.ckpt")) == [f"run.member{k}.ckpt" for k in (1, 2, 3)]
    a, b = (
        gn.load_model(tmp_path / "reference" / "model.glassnet"),
        gn.load_model(tmp_path / "model" / "model.glassnet"),
    )
    assert len(a.members) == len(b.members) == 3
    for left, right in zip(a.members, b.members):
        sa, sb = left.state_dict(), right.state_dict()
        assert all(np.array_equal(sa[name], sb[name]) for name in sa)
    assert a.history["best_epoch"] == b.history["best_epoch"]
