"""The documentation site builds with one command, warnings as errors (Sphinx -W), and holds what it
promises: the API reference from the docstrings, the CLI reference from --help, the notebooks with
their outputs, the benchmark pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_without_a_warning_and_holds_every_part(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), "--out", str(tmp_path / "site")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    site = tmp_path / "site"
    api = (site / "api.html").read_text()
    for name in ("glassnet.Sequential", "glassnet.fit", "glassnet.DNNClassifier", "glassnet.tracking.TensorBoard"):
        assert f'id="{name}"' in api, name
    cli = (site / "_generated" / "cli.html").read_text()
    assert "--class-weight" in cli and "glassnet predict" in cli
    overfitting = (site / "_generated" / "notebooks" / "05_overfitting.html").read_text()
    assert "data:image/png;base64" in overfitting  # the executed outputs are shown
    for page in ("tabular", "performance", "results", "registries"):
        assert (site / f"{page}.html").exists(), page
