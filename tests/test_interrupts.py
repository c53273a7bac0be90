"""Ctrl-C at any point is handled in one place and resumes exactly (issue #14, items 4-6).

Interrupts are real SIGINTs sent by the process to itself from inside training, so that they land
at a known batch: the first one, mid-epoch, an epoch's last one, or during the epoch's end.
"""

import math
import os
import signal
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.cli import INTERRUPTED, main
from glassnet.diagnostics import Diagnostics
from glassnet.io.checkpoint import read_checkpoint, write_checkpoint
from glassnet.training.progress import EpochPrinter, ProgressBar

EPOCHS, BATCHES = 4, 3  # 60 rows, 20% validation, batch 16: batches of 16, 16 and 16


class InterruptAt(gn.Callback):
    """Sends SIGINT to this process after batch ``step`` of ``epoch`` (step None: at the epoch's end)."""

    def __init__(self, epoch, step):
        self.epoch, self.step, self.current = epoch, step, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_end(self, batch, logs=None):
        if self.step is not None and (self.current, batch) == (self.epoch, self.step):
            os.kill(os.getpid(), signal.SIGINT)

    def on_epoch_end(self, epoch, logs=None):
        if self.step is None and epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def _callbacks(csv_path):
    return [
        gn.EarlyStopping(patience=100),
        gn.ReduceLROnPlateau(patience=1, factor=0.5),
        gn.CosineDecay(EPOCHS),
        gn.CSVLogger(csv_path),
        Diagnostics(),
    ]


def _fit(csv_path, checkpoint=None, resume=False, extra=()):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = gn.mlp([8, 8], 2, batch_norm=True, dropout=0.1, output_activation="softmax", seed=3)
    callbacks = _callbacks(csv_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = gn.fit(
            net,
            x,
            y,
            epochs=EPOCHS,
            batch_size=16,
            optimizer="adam",
            lr=1e-2,
            validation_split=0.2,
            seed=4,
            callbacks=[*callbacks, *extra],
            checkpoint=checkpoint,
            resume=resume,
        )
    return net, history, callbacks


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _fit(tmp_path_factory.mktemp("ref") / "log.csv")


def _same_state(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def _interrupt_and_resume(tmp_path, reference, epoch, step):
    checkpoint, log = tmp_path / "run.ckpt", tmp_path / "log.csv"
    _, history, _ = _fit(log, checkpoint, extra=[InterruptAt(epoch, step)])
    assert history.interrupted, (epoch, step)
    assert history.interrupt_checkpoint == str(checkpoint)
    state = read_checkpoint(checkpoint)
    if step is None or step == BATCHES:
        # An epoch's last batch (or its end): nothing of that epoch may be lost.
        assert (state["epoch"], state["position"]) == (epoch, None) or state["position"]["next_start"] >= 48
    else:
        assert state["epoch"] == epoch - 1 and state["position"]["steps"] == step
    net, resumed, callbacks = _fit(log, checkpoint, resume=True)
    ref_net, ref_history, ref_callbacks = reference
    assert not resumed.interrupted and resumed.epochs == list(range(1, EPOCHS + 1))
    curves = {key: values for key, values in ref_history.history.items() if key != "time"}
    assert {key: resumed.history[key] for key in curves} == curves
    for name, value in ref_net.state_dict().items():
        assert np.array_equal(net.state_dict()[name], value), name
    for ours, theirs in zip(callbacks, ref_callbacks):
        assert _same_state(ours.state_dict(), theirs.state_dict()), type(ours).__name__
    assert len(pd.read_csv(log)) == EPOCHS  # the CSV log has each epoch once


@pytest.mark.parametrize(
    "epoch, step",
    [(1, 1), (1, 2), (1, BATCHES), (1, None), (2, 2), (3, BATCHES), (3, None)],
    ids=[
        "first-batch",
        "mid-first-epoch",
        "first-epochs-last-batch",
        "first-epochs-end",
        "mid-epoch",
        "last-batch",
        "epoch-end",
    ],
)
def test_interrupt_then_resume_is_bit_identical(tmp_path, reference, epoch, step):
    _interrupt_and_resume(tmp_path, reference, epoch, step)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(epoch=st.integers(1, EPOCHS - 1), step=st.one_of(st.none(), st.integers(1, BATCHES)))
def test_interrupts_at_random_batches_resume_exactly(tmp_path_factory, reference, epoch, step):
    _interrupt_and_resume(tmp_path_factory.mktemp("random"), reference, epoch, step)


def test_interrupt_on_the_only_batch_of_an_epoch_is_not_swallowed():
    """One batch per epoch (a small table): the interrupt must still stop training and say so."""
    x = np.random.default_rng(0).normal(size=(20, 3))
    net = gn.mlp([4], 2, output_activation="softmax")
    with pytest.warns(RuntimeWarning, match="interrupted in epoch 2 after 1 of 1 batches"):
        history = gn.fit(net, x, (x[:, 0] > 0).astype(int), epochs=10, batch_size=64, callbacks=[InterruptAt(2, 1)])
    assert history.interrupted and len(history) == 1
    assert "checkpoint=PATH" in str(history.interrupt_message) or "no checkpoint" in history.interrupt_message


# --------------------------------------------------------------- callback state through checkpoints
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10))


def _read_state(path):
    import json

    from safetensors import safe_open

    from glassnet.io.checkpoint import unflatten_state
    from glassnet.io.modelfile import META_KEY

    with safe_open(str(path), "numpy") as handle:
        meta = json.loads(handle.metadata()[META_KEY])
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    return unflatten_state(meta["state"], tensors)["callbacks"][0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    best=FLOATS,
    wait=st.integers(0, 1000),
    epoch=st.one_of(st.none(), st.integers(1, 10**6)),
    lr0=st.one_of(st.none(), st.floats(min_value=1e-12, max_value=1e6)),
)
def test_every_callback_state_round_trips_exactly_through_a_checkpoint(tmp_path_factory, best, wait, epoch, lr0):
    """Non-finite values included: early stopping and plateau schedules start at ±inf."""
    folder = tmp_path_factory.mktemp("cb")
    stopper = gn.EarlyStopping()
    stopper.load_state_dict(
        {
            "best": float(best),
            "wait": wait,
            "best_epoch": epoch,
            "best_state": {"w": np.arange(3.0)},
            "stopped_epoch": epoch,
        }
    )
    plateau = gn.ReduceLROnPlateau()
    plateau.load_state_dict({"best": float(best), "wait": wait})
    schedule = gn.CosineDecay(10)
    schedule.load_state_dict({"initial_lr": lr0})
    for callback in (
        stopper,
        plateau,
        schedule,
        Diagnostics(),
        gn.CSVLogger(folder / "x.csv"),
        ProgressBar(),
        EpochPrinter(),
    ):
        state = callback.state_dict()
        read = _read_state_after_write(folder, state)
        assert _same_state(read, state), (type(callback).__name__, state, read)
        clone = type(callback)(
            *(
                [10]
                if isinstance(callback, gn.CosineDecay)
                else [folder / "y.csv"]
                if isinstance(callback, gn.CSVLogger)
                else []
            )
        )
        clone.load_state_dict(read)
        assert _same_state(clone.state_dict(), state), type(callback).__name__


def _read_state_after_write(folder, state):
    path = folder / "state.ckpt"
    write_checkpoint(path, {"callbacks": [state]})
    return _read_state(path)


def test_checkpoints_that_stored_infinity_as_text_still_resume():
    """Files written before the fix stored ±inf as the strings "inf"/"-inf"."""
    stopper, plateau = gn.EarlyStopping(), gn.ReduceLROnPlateau(mode="max", monitor="val_accuracy")
    stopper.load_state_dict({"best": "inf", "wait": 0, "best_epoch": None, "best_state": None, "stopped_epoch": None})
    plateau.load_state_dict({"best": "-inf", "wait": 0})
    assert stopper.best == math.inf and plateau.state_dict()["best"] == -math.inf


# ------------------------------------------------------------------------- the command line's Ctrl-C
@pytest.fixture
def csv_table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    frame["y"] = np.where(frame["a"] > 0, "p", "n")
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def _interrupting_train_step(monkeypatch, at_call):
    original = gn.Sequential.train_step
    calls = {"n": 0}

    def train_step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_call:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(gn.Sequential, "train_step", train_step)


def test_ctrl_c_stops_members_training_side_by_side_with_one_line_and_130(tmp_path, csv_table, capsys, monkeypatch):
    from glassnet.training import executors

    monkeypatch.setattr(executors, "usable_cores", lambda: 2)  # the default on a machine with several cores
    _interrupting_train_step(monkeypatch, at_call=6)
    args = ["train", str(csv_table), "--target", "y", "--out", str(tmp_path / "out"), "--epochs", "50", "--quiet"]
    assert main(args) == INTERRUPTED == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: interrupted"), lines
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("with_checkpoint", [True, False])
def test_cli_ctrl_c_prints_one_line_in_the_clis_terms_and_exits_130(
    tmp_path, csv_table, capsys, monkeypatch, recwarn, with_checkpoint
):
    checkpoint = tmp_path / "run.ckpt"
    args = [
        "train",
        str(csv_table),
        "--target",
        "y",
        "--out",
        str(tmp_path / "out"),
        "--epochs",
        "6",
        "--hidden",
        "8,8",
        "--batch-size",
        "128",
        "--quiet",
        "--executor",
        "sequential",
    ]  # one batch per epoch; the members one after the other, so that the third step is member 1's third epoch
    _interrupting_train_step(monkeypatch, at_call=3)
    code = main(args + (["--checkpoint", str(checkpoint)] if with_checkpoint else []))
    err = capsys.readouterr().err
    assert code == INTERRUPTED == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: interrupted in epoch 3"), err
    assert "checkpoint=PATH" not in err and "RuntimeWarning" not in err and "resume=True" not in err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert not (tmp_path / "out").exists()  # no model trained on part of the epochs
    if not with_checkpoint:
        assert "--checkpoint FILE" in err
        return
    # the default job cross-fits with a checkpoint too: each member its own file, resumed member by member
    assert f"--resume to continue from {tmp_path / 'run.member*.ckpt'}" in err
    monkeypatch.undo()
    assert main(args + ["--checkpoint", str(checkpoint), "--resume"]) == 0
    resumed = gn.load_model(tmp_path / "out" / "model.glassnet")
    assert main(args[:5] + [str(tmp_path / "plain")] + args[6:]) == 0  # the same job, never interrupted
    plain = gn.load_model(tmp_path / "plain" / "model.glassnet")
    assert len(resumed.members) == len(plain.members) == 5
    for left, right in zip(resumed.members, plain.members):
        for name, value in right.state_dict().items():
            assert np.array_equal(left.state_dict()[name], value), name


def test_ctrl_c_stops_the_whole_growth_search(monkeypatch):
    """An interrupted candidate must not be scored as if it had finished, nor the search go on."""
    from glassnet.exceptions import TrainingInterrupted

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] > 0).astype(int)
    _interrupting_train_step(monkeypatch, at_call=7)
    with pytest.raises(TrainingInterrupted, match="while growing"):
        gn.grow(x, y, task="classification", epochs=5, batch_size=16, seed=0)


def test_two_quick_ctrl_c_end_the_command_with_130_and_no_traceback(tmp_path, csv_table):
    """A second Ctrl-C right after the first ended badly in 2 of 3 tries (a KeyboardInterrupt traceback
    from Python's shutdown, or an exit by the signal itself)."""
    import subprocess
    import sys
    import time

    big = tmp_path / "big.csv"
    frame = pd.read_csv(csv_table)
    pd.concat([frame] * 50, ignore_index=True).to_csv(big, index=False)
    command = [sys.executable, "-m", "glassnet", "train", str(big), "--target", "y", "--out", str(tmp_path / "o"),
               "--epochs", "100000", "--no-early-stopping", "--no-baselines"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # training has started once the networks are announced
        if line.startswith("cross-fitting"):
            break
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=600)
    assert process.returncode == INTERRUPTED, (process.returncode, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("glassnet: interrupted"), err


def test_a_stop_asked_before_a_members_loop_starts_still_stops_it():
    """Ctrl-C while a member's thread was still building its network: its loop, entered afterwards,
    stops at once (it ran all its epochs before, and the command waited for it)."""
    import threading

    from glassnet.training.interrupts import InterruptFlag, clear_stop_request, request_stop_everywhere

    request_stop_everywhere()
    seen = []
    try:
        worker = threading.Thread(target=lambda: seen.append(InterruptFlag().__enter__().requested))
        worker.start()
        worker.join()
    finally:
        clear_stop_request()
    assert seen == [True]
    with InterruptFlag() as flag:  # cleared: the next job runs
        assert not flag.requested
