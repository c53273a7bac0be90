"""Data safety: glassnet replaces only what it wrote, refuses unusable outputs before any work, and
cleans the temporaries a killed process leaves behind (issue #14, items 1-3)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet.cli import main
from glassnet.exceptions import OutputError
from glassnet.io.atomic import PARTIAL_SUFFIX, owner_tag, remove_stale_partials

TINY = ["--epochs", "3", "--hidden", "8,8", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small table and a model trained on it by the command line."""
    folder = tmp_path_factory.mktemp("safety")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120), "city": rng.choice(["x", "y"], 120)})
    frame["y"] = np.where(frame["a"] + (frame["city"] == "x") > 0.5, "yes", "no")
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    out = folder / "model"
    assert main(["train", str(data), "--target", "y", "--out", str(out), *TINY]) == 0
    return data, out / "model.glassnet"


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("glassnet: error:"), err
    for fragment in fragments:
        assert fragment in err, err


# ---------------------------------------------------------------------- 1. foreign files are kept
def test_train_overwrite_never_deletes_a_users_file(trained, tmp_path, capsys):
    data, _ = trained
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, "train", data, "--target", "y", "--out", out, "--overwrite", *TINY)
    assert_refused(code, err, "notes.txt", "did not write")
    assert (out / "notes.txt").read_text() == "mine"


def test_train_overwrite_replaces_its_own_outputs(trained, tmp_path, capsys):
    data, _ = trained
    out = tmp_path / "results"
    assert run(capsys, "train", data, "--target", "y", "--out", out, *TINY)[0] == 0
    first = (out / "metrics.json").read_text()
    assert run(capsys, "train", data, "--target", "y", "--out", out, "--overwrite", "--seed", "1", *TINY)[0] == 0
    assert (out / "metrics.json").read_text() != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or backup left


def test_demo_never_deletes_files_added_to_its_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "glassnet-demo"
    out.mkdir()
    (out / ".glassnet-demo").write_text("written by glassnet demo\n")
    (out / "my-analysis.ipynb").write_text("{}")
    code, _, err = run(capsys, "demo", "--epochs", "1")
    assert_refused(code, err, "my-analysis.ipynb")
    assert (out / "my-analysis.ipynb").read_text() == "{}"


@pytest.mark.parametrize("command", ["predict", "report", "export"])
def test_single_file_outputs_replace_only_glassnet_files(trained, tmp_path, capsys, command):
    data, model = trained
    target = tmp_path / {"predict": "out.csv", "report": "out.html", "export": "out.onnx"}[command]
    args = {
        "predict": ["predict", model, data, "-o", target],
        "report": ["report", model, "-o", target],
        "export": ["export", model, "--onnx", target],
    }[command]
    target.write_text("a user's file")
    code, _, err = run(capsys, *args, "--overwrite")
    assert_refused(code, err, "was not written by glassnet")
    assert target.read_text() == "a user's file"
    target.unlink()
    assert run(capsys, *args)[0] == 0  # first write
    assert_refused(*run(capsys, *args)[::2], "--overwrite")  # exists: refused without the flag
    assert run(capsys, *args, "--overwrite")[0] == 0  # glassnet's own file: replaced


def test_outputs_never_replace_an_input(trained, capsys):
    data, model = trained
    before = data.read_bytes()
    code, _, err = run(capsys, "predict", model, data, "-o", data, "--overwrite")
    assert_refused(code, err, "input")
    assert data.read_bytes() == before
    code, _, err = run(capsys, "report", model, "-o", model, "--overwrite")
    assert_refused(code, err, "input")
    assert gn.load_model(model).network.built


def test_checkpoint_path_is_never_a_users_file(trained, tmp_path, capsys):
    data, _ = trained
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    for extra in ([], ["--resume"], ["--overwrite"]):
        code, _, err = run(
            capsys, "train", data, "--target", "y", "--out", tmp_path / "o", "--checkpoint", notes, *extra, *TINY
        )
        assert_refused(code, err, "not written by glassnet")
        assert notes.read_text() == "mine"
    # The API refuses it too, before training.
    with pytest.raises(OutputError, match="not a glassnet checkpoint"):
        gn.fit(gn.mlp([4], 2, output_activation="softmax"), np.zeros((8, 2)), np.arange(8) % 2, checkpoint=notes)
    assert notes.read_text() == "mine"


def test_an_existing_checkpoint_needs_resume_or_overwrite(trained, tmp_path, capsys):
    data, _ = trained
    checkpoint = tmp_path / "run.ckpt"
    assert (
        run(capsys, "train", data, "--target", "y", "--out", tmp_path / "a", "--checkpoint", checkpoint, *TINY)[0] == 0
    )
    code, _, err = run(
        capsys, "train", data, "--target", "y", "--out", tmp_path / "b", "--checkpoint", checkpoint, *TINY
    )
    assert_refused(code, err, "--resume", "--overwrite")
    assert (
        run(
            capsys,
            "train",
            data,
            "--target",
            "y",
            "--out",
            tmp_path / "b",
            "--checkpoint",
            checkpoint,
            "--overwrite",
            *TINY,
        )[0]
        == 0
    )


# ----------------------------------------------------------- 2. unusable outputs fail before work
@pytest.mark.parametrize(
    "out, reason",
    [
        (".", "current folder"),
        ("..", "one of its parents"),
        ("/proc/glassnet-cannot-write-here", "cannot write"),
        ("missing-parent/out", "does not exist"),
        ("a-file.txt", "not a folder"),
        ("data.csv", "holds the input"),
    ],
)
def test_unusable_output_folder_is_refused_before_training(trained, tmp_path, capsys, monkeypatch, out, reason):
    data, _ = trained
    monkeypatch.chdir(data.parent)
    (data.parent / "a-file.txt").write_text("mine")
    code, stdout, err = run(capsys, "train", data, "--target", "y", "--out", out, "--overwrite", *TINY)
    assert_refused(code, err, reason)
    assert stdout == ""  # refused before reading the data: nothing about training was printed


@pytest.mark.parametrize("command", ["predict", "report", "export"])
def test_unusable_output_file_is_refused_before_loading(trained, capsys, command, tmp_path):
    data, model = trained
    for target, reason in (
        ("/proc/glassnet-cannot-write-here.out", "cannot write"),
        (tmp_path / "no-such-folder" / "x.out", "does not exist"),
        (tmp_path, "is a folder"),
    ):
        args = {
            "predict": ["predict", model, data, "-o", target],
            "report": ["report", model, "-o", target],
            "export": ["export", model, "--onnx", target],
        }[command]
        code, stdout, err = run(capsys, *args)
        assert_refused(code, err, reason)
        assert stdout == ""


# ----------------------------------------------------------------- 3. temporaries of killed writers
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_kill_during_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    """A real kill -9 in the middle of writing a model file, then a save to the same path."""
    target = tmp_path / "model.glassnet"
    script = textwrap.dedent(f"""
        import os, sys, time
        import glassnet as gn
        from glassnet.io import atomic
        def stuck(source, destination):   # the data is written and synced; the rename never comes
            print("WRITTEN", flush=True)
            time.sleep(3600)
        atomic.os.replace = stuck
        net = gn.mlp([64, 64], 3, output_activation="softmax", input_dim=20)
        gn.save_model(net, {str(target)!r})
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "WRITTEN"
    child.send_signal(signal.SIGKILL)
    child.wait()
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(PARTIAL_SUFFIX)]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".model.glassnet.")
    assert not target.exists()
    gn.save_model(gn.mlp([4], 2, input_dim=3), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.glassnet"]


def test_stale_staging_folders_are_removed_and_live_or_foreign_ones_kept(tmp_path):
    target = tmp_path / "out"
    host = owner_tag().rsplit("-", 1)[0]
    dead = tmp_path / f".out.{host}-{_dead_pid()}.abc{PARTIAL_SUFFIX}"
    alive = tmp_path / f".out.{owner_tag()}.def{PARTIAL_SUFFIX}"
    other_host = tmp_path / f".out.elsewhere-{_dead_pid()}.ghi{PARTIAL_SUFFIX}"
    users = tmp_path / ".out.notes"
    for folder in (dead, alive, other_host):
        folder.mkdir()
        (folder / "model.glassnet").write_bytes(b"partial")
    users.write_text("mine")
    removed = remove_stale_partials(target)
    assert removed == [dead]
    assert alive.exists() and other_host.exists() and users.read_text() == "mine"


def test_partial_files_are_named_as_glassnets(tmp_path):
    """While a write is under way, its temporary says whose it is."""
    seen = []
    original = os.replace

    def spy(source, destination):
        seen.append(Path(source).name)
        original(source, destination)

    from glassnet.io import atomic

    atomic.os.replace, saved = spy, atomic.os.replace
    try:
        gn.save_model(gn.mlp([4], 2, input_dim=3), tmp_path / "m.glassnet")
    finally:
        atomic.os.replace = saved
    assert seen and seen[0].startswith(f".m.glassnet.{owner_tag()}.") and seen[0].endswith(PARTIAL_SUFFIX)


def test_a_users_table_that_merely_has_a_prediction_column_is_not_replaced(trained, tmp_path, capsys):
    data, model = trained
    target = tmp_path / "scores.csv"
    target.write_text("id,prediction,my notes\n1,yes,keep me\n")
    code, _, err = run(capsys, "predict", model, data, "-o", target, "--overwrite")
    assert_refused(code, err, "was not written by glassnet")
    assert target.read_text() == "id,prediction,my notes\n1,yes,keep me\n"
