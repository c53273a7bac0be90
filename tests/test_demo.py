"""`glassnet demo` as a new user runs it."""

import json
import re
import subprocess
import sys


def test_demo_trains_a_deep_batchnorm_network_to_high_accuracy(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "glassnet", "demo"], capture_output=True, text=True, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "BatchNorm" in out and "ReLU" in out
    assert len(re.findall(r"^epoch\s+\d+/\d+\s+loss [\d.]+.*val_loss [\d.]+", out, re.M)) >= 5
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", out).group(1))
    assert accuracy >= 0.97
    assert {p.name for p in (tmp_path / "glassnet-demo").iterdir()} >= {"model.glassnet", "report.html", "metrics.json"}
    from test_cli import glassnet  # in this process: the start-up was measured above

    again = glassnet("demo", "--epochs", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the demo replaces its own output
    assert json.loads((tmp_path / "glassnet-demo" / "metrics.json").read_text())["epochs"] == 1  # replaced


def test_version_and_help():
    version = subprocess.run([sys.executable, "-m", "glassnet", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("glassnet ")
    bad = subprocess.run([sys.executable, "-m", "glassnet", "no-such-command"], capture_output=True, text=True)
    assert bad.returncode == 2
