"""`glassnet demo` as a new user runs it."""

import re
import subprocess
import sys


def test_demo_trains_a_deep_batchnorm_network_to_high_accuracy(demo_run):
    completed, out_folder = demo_run
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "BatchNorm" in out and "ReLU" in out
    assert len(re.findall(r"^epoch\s+\d+/\d+\s+loss [\d.]+.*val_loss [\d.]+", out, re.M)) >= 5
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", out).group(1))
    assert accuracy >= 0.97
    assert {p.name for p in out_folder.iterdir()} >= {"model.glassnet", "report.html", "metrics.json"}


def test_the_demo_goes_on_over_its_own_folder_only(tmp_path, monkeypatch):
    """Its own earlier output (the marker file) is replaced; the replacing itself is write_outputs',
    tested with train --overwrite in tests/test_output_safety.py."""
    from test_cli import glassnet

    import glassnet.cli.train as train

    calls = []
    monkeypatch.setattr(train, "train_and_report", lambda options, out, **kw: calls.append(out) or 0)
    (tmp_path / "glassnet-demo").mkdir()
    (tmp_path / "glassnet-demo" / ".glassnet-demo").write_text("written by glassnet demo\n")
    assert glassnet("demo", cwd=tmp_path).returncode == 0 and len(calls) == 1
    (tmp_path / "glassnet-demo" / ".glassnet-demo").unlink()
    refused = glassnet("demo", cwd=tmp_path)
    assert refused.returncode == 2 and "not written by glassnet demo" in refused.stderr and len(calls) == 1


def test_version_and_help():
    version = subprocess.run([sys.executable, "-m", "glassnet", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("glassnet ")
    bad = subprocess.run([sys.executable, "-m", "glassnet", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2
