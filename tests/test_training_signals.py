"""Training signals that must not lie: the overfitting onset, the divergence guard and the
completeness of integrated gradients (issue #14, items 7-9)."""

import math
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.diagnostics import CompletenessWarning, explain_integrated_gradients, integrated_gradients
from glassnet.exceptions import DivergenceWarning
from glassnet.training.history import ONSET_CRITERION, History


def _history(val, train, **extra):
    history = History()
    for epoch, (v, t) in enumerate(zip(val, train), start=1):
        history.record(epoch, {"loss": t, "val_loss": v, **{k: vals[epoch - 1] for k, vals in extra.items()}})
    return history


# ----------------------------------------------------------------------------- 7. the onset rule
@pytest.mark.parametrize("noise", [0.002, 0.005, 0.01, 0.02, 0.05])
def test_noisy_well_regularized_runs_have_no_onset(noise):
    """A falling-then-flat validation curve with multiplicative noise of 0.2% to 5%: never an onset."""
    onsets = []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        epochs = np.arange(1, [20, 40, 80, 150][seed % 4] + 1)
        clean = 0.4 + 0.3 * np.exp(-epochs / 5) - 0.0002 * epochs
        history = _history(clean * (1 + noise * rng.normal(size=len(epochs))), 0.35 * np.exp(-epochs / 30) + 0.05)
        onsets.append(history.overfitting_onset)
    assert onsets == [None] * 60


def test_a_rise_of_a_few_tenths_of_a_percent_is_no_onset():
    """The old rule said "overfits after epoch 9" when validation loss rose 0.7%."""
    val = [0.9, 0.6, 0.5, 0.45, 0.42, 0.41, 0.405, 0.402, 0.400] + [0.4028] * 12
    train = list(np.linspace(0.9, 0.2, len(val)))
    assert _history(val, train).overfitting_onset is None


@pytest.mark.parametrize("turn", [8, 15, 30])
@pytest.mark.parametrize("noise", [0.0, 0.005, 0.01])
def test_clear_overfits_have_an_onset_near_the_true_turn(turn, noise):
    """Validation loss falls 8% a epoch to the turn, then rises 2.5% a epoch (plus noise)."""
    epochs = np.arange(1, 61)
    clean = 0.4 + 0.032 * np.maximum(0, turn - epochs) + 0.01 * np.maximum(0, epochs - turn)
    true_turn = int(np.argmin(clean)) + 1
    for seed in range(20):
        rng = np.random.default_rng(seed)
        history = _history(clean * (1 + noise * rng.normal(size=60)), 0.35 * np.exp(-epochs / 15))
        onset = history.overfitting_onset
        assert onset is not None and abs(onset - true_turn) <= 3, (seed, onset, true_turn)


def test_onset_does_not_depend_on_early_stoppings_patience():
    """EarlyStopping(patience=100) used to set the rule's window to 100: no onset on a clear overfit."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 10))
    y = (x[:, 0] + rng.normal(0, 1.5, size=60) > 0).astype(int)  # few rows, noisy labels
    x_val = rng.normal(size=(300, 10))
    y_val = (x_val[:, 0] > 0).astype(int)
    net = gn.mlp([128, 128], 2, output_activation="softmax", seed=0)
    history = gn.fit(
        net,
        x,
        y,
        epochs=60,
        batch_size=16,
        optimizer="adam",
        lr=3e-3,
        validation_data=(x_val, y_val),
        callbacks=[gn.EarlyStopping(patience=100)],
    )
    assert history.stopped_epoch is None and len(history) == 60
    onset = history.overfitting_onset
    assert onset is not None and onset == history.best_epoch == history.restored_epoch
    assert f"overfits after epoch {onset}" in history.summary()


def test_summary_states_the_criterion_and_the_generalization_gap():
    """The demo's case: validation flat, training loss near zero: no onset, but a gap that is stated."""
    epochs = 30
    val = [0.5 * math.exp(-e / 3) + 0.04 for e in range(epochs)]
    train = [0.5 * math.exp(-e / 2) + 0.002 for e in range(epochs)]
    history = _history(val, train, accuracy=[1.0] * epochs, val_accuracy=[0.975] * epochs)
    summary = history.summary()
    assert "no overfitting detected" in summary
    assert "training accuracy 1.000 vs validation 0.975 (gap 2.5 points)" in summary
    assert ONSET_CRITERION in summary
    regression = _history(val, train, rmse=[0.1] * epochs, val_rmse=[0.25] * epochs)
    assert "validation RMSE 0.25 vs training 0.1 (2.50x)" in regression.summary()


def test_report_states_the_onset_criterion(tmp_path):
    from glassnet.app.report import render_report

    history = _history([0.5, 0.4, 0.3], [0.5, 0.4, 0.3])
    net = gn.mlp([4], 2, output_activation="softmax", input_dim=3)
    path = gn.save_model(
        net,
        tmp_path / "m.glassnet",
        task="multiclass",
        classes=["a", "b"],
        history=history,
        metadata={"overfitting": history.summary()},
    )
    assert "Criterion: an overfitting onset is" in render_report(gn.load_model(path))


# ------------------------------------------------------------------------ 8. the divergence guard
def test_divergence_without_validation_keeps_finite_weights():
    """One batch per epoch, no validation, an extreme learning rate: the old guard kept NaN weights."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 3.0])
    net = gn.mlp([16, 16], 1, seed=0)
    with pytest.warns(DivergenceWarning, match="last finite weights") as caught:
        history = gn.fit(net, x, y, epochs=50, batch_size=64, optimizer="sgd", lr=5.0)
    assert history.diverged
    assert all(np.isfinite(value).all() for value in net.state_dict().values())
    assert np.isfinite(net.predict(x)).all()
    assert "last finite weights" in str(caught[0].message)


class _ExplodeFrom(gn.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.epoch:
            self.trainer.optimizer.lr = 1e8


def test_divergence_after_improving_restores_the_best_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    net = gn.mlp([16, 16], 2, output_activation="softmax", seed=0)
    stopper = gn.EarlyStopping(patience=50)
    with pytest.warns(DivergenceWarning, match=r"best weights seen \(epoch \d+, by val_loss\)"):
        history = gn.fit(
            net,
            x,
            y,
            epochs=30,
            batch_size=32,
            optimizer="sgd",
            lr=0.1,
            validation_split=0.25,
            callbacks=[stopper, _ExplodeFrom(6)],
        )
    assert history.diverged and history.restored_epoch == stopper.best_epoch <= 5
    for name, value in stopper.best_state.items():
        assert np.array_equal(net.state_dict()[name], value), name
    assert np.isfinite(net.predict(x)).all()


# ---------------------------------------------------------------- 9. integrated-gradient completeness
@pytest.fixture(scope="module")
def relu_net():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6))
    y = (np.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] > 0).astype(int)
    net = gn.mlp([64, 64], 2, output_activation="softmax", seed=0)
    gn.fit(net, x, y, epochs=30, batch_size=32, optimizer="adam", lr=3e-3)
    return net, x[:50].astype(np.float32)


def test_integrated_gradients_meet_their_completeness_tolerance(relu_net):
    net, x = relu_net
    result = explain_integrated_gradients(net, x)
    assert result.converged and result.gap <= 0.01 and result.steps >= 32
    stop = len(net.layers) - 1
    logits = net.forward(x, stop=stop)
    target = logits.argmax(axis=1)
    change = logits[np.arange(len(x)), target] - net.forward(np.zeros_like(x), stop=stop)[np.arange(len(x)), target]
    measured = np.abs(result.attributions.sum(axis=1) - change).sum() / np.abs(change).sum()
    assert measured == pytest.approx(result.gap, rel=1e-3, abs=1e-5)
    assert np.array_equal(integrated_gradients(net, x), result.attributions)  # the plain call converges too
    assert "within" in result.describe()


def test_the_gradient_methods_explain_many_rows_in_blocks(relu_net, monkeypatch):
    from glassnet.diagnostics import attribution, saliency

    net, x = relu_net
    whole, path = saliency(net, x), explain_integrated_gradients(net, x)
    target = np.arange(len(x)) % 2
    chosen = saliency(net, x, target)
    monkeypatch.setattr(attribution, "ATTRIBUTION_BATCH", 7)  # 50 rows: seven blocks, the last of one row
    np.testing.assert_allclose(saliency(net, x), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(saliency(net, x, target), chosen, rtol=1e-5, atol=1e-6)  # each block its rows' targets
    blocked = explain_integrated_gradients(net, x)
    np.testing.assert_allclose(blocked.attributions, path.attributions, rtol=1e-4, atol=1e-6)
    assert blocked.steps == path.steps and blocked.gap == pytest.approx(path.gap, rel=1e-3, abs=1e-6)


def test_integrated_gradients_report_a_gap_the_budget_could_not_close(relu_net):
    net, x = relu_net
    with pytest.warns(CompletenessWarning, match="NOT within the tolerance"):
        result = explain_integrated_gradients(net, x, steps=2, max_steps=2, tolerance=1e-9)
    assert not result.converged and result.gap > 1e-9 and result.steps == 2


def test_the_report_shows_the_completeness_gap_beside_the_attributions(tmp_path):
    import pandas as pd

    from glassnet.cli import main

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    frame["y"] = frame["a"] * 2 + rng.normal(size=100)
    frame.to_csv(tmp_path / "t.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompletenessWarning)  # reported in the report, never as a raw warning
        assert (
            main(
                [
                    "train",
                    str(tmp_path / "t.csv"),
                    "--target",
                    "y",
                    "--out",
                    str(tmp_path / "o"),
                    "--epochs",
                    "5",
                    "--quiet",
                ]
            )
            == 0
        )
    html = (tmp_path / "o" / "report.html").read_text()
    assert "Completeness check: integrated gradients with" in html


def _stopping_epochs(losses, **options):
    """The epoch at which EarlyStopping stops on this validation-loss curve (None: it never does), and its best epoch."""
    from types import SimpleNamespace

    stopper = gn.EarlyStopping(patience=3, restore_best_weights=False, **options)
    stopper.trainer = SimpleNamespace(stop_training=False)
    for epoch, loss in enumerate(losses, start=1):
        stopper.on_epoch_end(epoch, {"val_loss": loss})
        if stopper.trainer.stop_training:
            return epoch, stopper.best_epoch
    return None, stopper.best_epoch


def test_gains_of_hundredths_of_a_percent_do_not_keep_training_going_but_the_best_epoch_is_kept():
    creeping = [1.0, 0.9] + [0.9 * (1 - 1e-4) ** k for k in range(1, 30)]  # 0.01 % an epoch
    assert _stopping_epochs(creeping) == (None, 31)  # without the rule: every epoch is an improvement
    stopped, best = _stopping_epochs(creeping, min_relative_improvement=1e-3)
    assert stopped == 5 and best == 5  # patience 3 after epoch 2; the last small gain is still the best epoch
    steady = [1.0 * (1 - 5e-4) ** k for k in range(40)]  # 0.05 % an epoch: clear over two epochs
    assert _stopping_epochs(steady, min_relative_improvement=1e-3)[0] is None
    with pytest.raises(ValueError, match="min_relative_improvement"):
        gn.EarlyStopping(min_relative_improvement=1.5)
