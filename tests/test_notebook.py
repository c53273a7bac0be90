"""The glass box in Jupyter: what a notebook shows for a network, a History, a verdict, a model's
report and an estimator (each with a plain-text fallback)."""

from __future__ import annotations

import html
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.diagnostics import gradient_verdict
from glassnet.exceptions import LinearCollapseWarning, OutputError


class _Printer:
    """What IPython's pretty printer receives from ``_repr_pretty_``."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, value: str) -> None:
        self.parts.append(value)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    net = gn.mlp([16, 16], 2, output_activation="softmax")
    history = gn.fit(net, x, y, epochs=6, lr=0.05, validation_split=0.25, callbacks=[gn.EarlyStopping(patience=3)])
    return net, history, x, y


def test_a_network_shows_its_layers_and_parameters(trained):
    net = trained[0]
    shown = net._repr_html_()
    for layer in net.layers:
        assert f"<td>{layer.name}</td>" in shown
    assert f"{net.n_parameters:,} parameters" in shown and "not built" not in shown
    assert "not built yet" in gn.mlp([4], 2)._repr_html_()
    printer = _Printer()
    net._repr_pretty_(printer, cycle=False)
    assert printer.parts == [net.summary()]


def test_a_stack_of_linear_layers_is_flagged_where_it_is_shown():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinearCollapseWarning)
        net = gn.Sequential([gn.Dense(8), gn.Dense(4), gn.Dense(2)], input_dim=3)
    assert "one affine map" in net._repr_html_() or "collapse" in net._repr_html_()


def test_a_history_shows_its_curves_verdict_and_story(trained):
    _, history, _, _ = trained
    shown = history._repr_html_()
    assert html.escape(history.summary()) in shown
    assert shown.count("<img") >= 3  # loss, accuracy, gradient flow (and saturation when probed)
    assert "Learning curves: loss" in shown and "gradient" in shown
    printer = _Printer()
    history._repr_pretty_(printer, cycle=False)
    assert printer.parts[0].startswith(f"History({len(history)} epoch(s)") and history.summary() in printer.parts[0]
    assert "no epoch recorded" in gn.History()._repr_html_()


def test_a_verdict_is_coloured_by_what_it_says(trained):
    _, history, _, _ = trained
    verdict = gradient_verdict(history)
    assert verdict.summary() in html.unescape(verdict._repr_html_())
    troubled = type(verdict)(vanishing=True, since_epoch=2, affected_layers=["dense_1"], first_to_last_ratio=[1e-6],
                             advice=["use ReLU"])  # fmt: skip
    assert "#a15c00" in troubled._repr_html_() and "<li>use ReLU</li>" in troubled._repr_html_()


def test_the_full_report_renders_inline_and_saves_safely(tmp_path):
    from test_cli import glassnet

    from glassnet.app.report import render_report

    rng = np.random.default_rng(1)
    import pandas as pd

    frame = pd.DataFrame(rng.normal(size=(120, 2)), columns=["a", "b"]).assign(y=lambda f: (f.a > 0).astype(int))
    frame.to_csv(tmp_path / "t.csv", index=False)
    completed = glassnet("train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "m", "--epochs", "4",
                         "--hidden", "8", "--quiet", "--folds", "2", "--no-baselines")  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    model = gn.load_model(tmp_path / "m" / "model.glassnet")
    report = gn.report(tmp_path / "m" / "model.glassnet")
    frame_html = report._repr_html_()
    assert frame_html.startswith("<iframe srcdoc=") and html.unescape(frame_html).count("<h2>Summary</h2>") == 1
    assert report.html() == render_report(model)  # the same sections as report.html
    written = report.save(tmp_path / "r.html")
    assert written.read_text() == report.html()
    with pytest.raises(OutputError, match="overwrite=True"):
        report.save(tmp_path / "r.html")
    report.save(tmp_path / "r.html", overwrite=True)
    (tmp_path / "notes.html").write_text("mine")
    with pytest.raises(OutputError, match="not written by glassnet"):
        report.save(tmp_path / "notes.html", overwrite=True)
    assert (tmp_path / "notes.html").read_text() == "mine"


def test_a_fitted_estimator_keeps_scikit_learns_display(trained):
    _, _, x, y = trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = gn.DNNClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(x, y)
    shown = estimator._repr_html_()
    assert "DNNClassifier" in shown and "hidden_layer_sizes" in shown
    assert "DNNClassifier(" in repr(estimator)
