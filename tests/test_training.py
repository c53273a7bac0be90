"""Training that generalizes: curves, overfitting onset, early stopping, schedules, divergence."""

import csv
import io

import numpy as np
import pytest

import glassnet as gn
from glassnet.training.targets import split_validation


def noisy_small_data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] + 0.8 * rng.normal(size=n)  # strong noise: easy to overfit
    return x, y


def wide_net(seed=0):
    return gn.mlp([256, 256, 256], 1, activation="relu", input_dim=10, seed=seed)


def noisy_labels(seed, n=200, d=20, flip=0.2):
    """A linear rule with 20% of labels flipped: a wide network memorizes the noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x[:, 0] + 0.5 * x[:, 1] - 0.5 * x[:, 2] > 0).astype(int)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return x, y


def wide_classifier(seed=0):
    return gn.mlp([256, 256, 256], 2, output_activation="softmax", input_dim=20, seed=seed)


@pytest.mark.parametrize("seed", [0, 1])
def test_overfitting_onset_detected_and_early_stopping_restores_best_weights(seed):
    x, y = noisy_labels(seed)
    x_val, y_val = noisy_labels(100 + seed, n=400)
    settings = dict(epochs=300, batch_size=32, optimizer="adam", lr=1e-4, validation_data=(x_val, y_val), seed=seed)
    plain = wide_classifier(seed)
    history = gn.fit(plain, x, y, **settings)
    onset = history.overfitting_onset_for(patience=10)
    assert onset is not None and onset < 300
    assert history["val_loss"][-1] > min(history["val_loss"])
    assert history["loss"][-1] < history["loss"][onset - 1]
    assert f"overfits after epoch {onset}" in history.summary()

    stopped = wide_classifier(seed)
    history_es = gn.fit(stopped, x, y, callbacks=[gn.EarlyStopping(patience=10)], **settings)
    assert history_es.stopped_epoch is not None and history_es.stopped_epoch < 300
    assert history_es.overfitting_onset == history_es.restored_epoch == history_es.best_epoch == onset
    assert f"weights from epoch {onset} were restored" in history_es.summary()
    loss = gn.SoftmaxCrossEntropy()
    final_val = gn.training.loop.evaluate(stopped, x_val.astype(np.float32), y_val, loss)["loss"]
    assert final_val == pytest.approx(min(history_es["val_loss"]), rel=1e-5)
    plain_val = gn.training.loop.evaluate(plain, x_val.astype(np.float32), y_val, loss)["loss"]
    assert final_val < plain_val


def test_early_stopping_restores_best_even_when_running_to_the_last_epoch():
    x, y = noisy_small_data()
    net = wide_net()
    stopper = gn.EarlyStopping(patience=1000)
    history = gn.fit(net, x, y, epochs=60, optimizer="adam", lr=1e-3, validation_split=0.25, callbacks=[stopper])
    assert history.stopped_epoch is None and len(history) == 60
    best = int(np.argmin(history["val_loss"])) + 1
    assert history.restored_epoch == best


def test_early_stopping_resets_between_fits():
    x, y = noisy_small_data()
    stopper = gn.EarlyStopping(patience=3)
    net = wide_net()
    gn.fit(net, x, y, epochs=40, optimizer="adam", lr=1e-3, validation_split=0.25, callbacks=[stopper])
    first_best = stopper.best
    fresh = gn.mlp([4], 1, input_dim=10)  # a much worse model: its best must not compete with the old one
    history = gn.fit(fresh, x, y, epochs=5, lr=1e-4, validation_split=0.25, callbacks=[stopper])
    assert stopper.best > first_best
    assert history.restored_epoch is not None


def test_history_records_per_epoch_curves_for_classification():
    data = gn.datasets.load_digits()
    net = gn.mlp([32, 32], 10, batch_norm=True, output_activation="softmax")
    history = gn.fit(net, data.x, data.y, epochs=3, lr=0.05, momentum=0.9, validation_split=0.2)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "val_balanced_accuracy", "val_log_loss", "lr", "time"):
        assert len(history[key]) == 3, key
    assert set(history.grad_norms) == {"dense_1", "dense_2", "dense_3"}
    assert all(len(v) == 3 and all(g > 0 for g in v) for v in history.grad_norms.values())
    assert history["val_accuracy"][-1] > 0.8


def test_history_records_regression_metrics():
    x, y = noisy_small_data()
    history = gn.fit(gn.mlp([16, 16], 1, input_dim=10), x, y, epochs=2, validation_split=0.2)
    for key in ("loss", "rmse", "val_loss", "val_rmse", "val_mae", "val_r2"):
        assert key in history.history


def test_validation_split_is_shuffled_and_stratified_not_the_last_rows():
    labels = np.repeat(np.arange(4), 50)  # sorted by class: "the last rows" would be class 3 only
    train_idx, val_idx = split_validation(len(labels), 0.2, np.random.default_rng(0), labels)
    assert np.bincount(labels[val_idx]).tolist() == [10, 10, 10, 10]
    assert len(np.intersect1d(train_idx, val_idx)) == 0 and len(train_idx) + len(val_idx) == 200
    again, _ = split_validation(len(labels), 0.2, np.random.default_rng(0), labels)
    assert np.array_equal(again, train_idx)


class RecordingIdentity(gn.Linear):
    """An identity layer that keeps the training batches it sees."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, *, training=False):
        if training:
            self.seen.append(x.copy())
        return super().forward(x, training=training)


def _batches(seed):
    recorder = RecordingIdentity()
    x = np.arange(40, dtype=np.float32).reshape(-1, 1)
    net = gn.Sequential([recorder, gn.Dense(1)], input_dim=1)
    gn.fit(net, x, np.zeros(40), epochs=3, batch_size=8, seed=seed)
    return [np.concatenate(recorder.seen[i * 5 : (i + 1) * 5]).ravel() for i in range(3)]


def test_fit_reshuffles_every_epoch_reproducibly():
    epochs = _batches(seed=4)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    assert all(sorted(e) == list(range(40)) for e in epochs)  # each sample once per epoch
    assert all(np.array_equal(a, b) for a, b in zip(epochs, _batches(seed=4)))
    assert not np.array_equal(epochs[0], _batches(seed=5)[0])


def test_divergence_stops_with_finite_weights_and_clear_message():
    x, y = noisy_small_data()
    net = gn.mlp([32, 32], 1, input_dim=10)
    with pytest.warns(gn.DivergenceWarning, match="Lower the learning rate.*try 100"):
        history = gn.fit(net, x, y * 1e3, epochs=20, lr=1e3, momentum=0.9, validation_split=0.2)
    assert history.diverged and len(history) < 20
    assert all(np.isfinite(p.value).all() for p in net.parameters())
    assert "diverged" in history.summary()
    with pytest.raises(gn.DivergenceError):
        gn.fit(gn.mlp([32, 32], 1, input_dim=10), x, y * 1e3, epochs=20, lr=1e3, momentum=0.9, on_divergence="raise")


def test_learning_rate_schedules():
    x, y = noisy_small_data()

    def lrs(callback, epochs=6):
        history = gn.fit(
            gn.mlp([8], 1, input_dim=10), x, y, epochs=epochs, lr=0.1, callbacks=[callback], validation_split=0.2
        )
        return history["lr"]

    assert lrs(gn.StepDecay(step_size=2, gamma=0.5)) == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert lrs(gn.ExponentialDecay(0.9))[2] == pytest.approx(0.1 * 0.81)
    cosine = lrs(gn.CosineDecay(total_epochs=6, min_lr=0.0))
    assert cosine[0] == pytest.approx(0.1) and cosine[-1] < cosine[0] and all(np.diff(cosine) <= 0)
    plateau = lrs(gn.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0))
    assert plateau[-1] < 0.1


def test_unknown_monitor_direction_must_be_given():
    with pytest.raises(ValueError, match="pass mode='min' or mode='max'"):
        gn.EarlyStopping(monitor="val_kappa")
    gn.EarlyStopping(monitor="val_kappa", mode="max")


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    x, y = noisy_small_data()
    path = tmp_path / "log.csv"
    gn.fit(gn.mlp([8], 1, input_dim=10), x, y, epochs=4, validation_split=0.2, callbacks=[gn.CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    assert {"loss", "val_loss", "lr"} <= set(rows[0])


def test_progress_prints_lines_when_not_a_terminal_and_a_bar_when_forced():
    x, y = noisy_small_data()
    log = io.StringIO()  # not a terminal: plain lines, the first and last epoch at least, none in between
    gn.fit(gn.mlp([8], 1, input_dim=10), x, y, epochs=5, callbacks=[gn.ProgressBar(stream=log, interval=3600)])
    lines = log.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/5", "5/5"] and "loss" in lines[0]
    every = io.StringIO()
    gn.fit(gn.mlp([8], 1, input_dim=10), x, y, epochs=3, callbacks=[gn.ProgressBar(stream=every, interval=0)])
    assert len(every.getvalue().splitlines()) == 3
    stopped = io.StringIO()  # early stopping: the last epoch trained is shown even between intervals
    history = gn.fit(
        gn.mlp([8], 1, input_dim=10),
        x,
        y,
        epochs=200,
        validation_split=0.3,
        callbacks=[gn.EarlyStopping(patience=1, min_delta=10.0), gn.ProgressBar(stream=stopped, interval=3600)],
    )
    assert stopped.getvalue().splitlines()[-1].split()[1] == f"{len(history)}/200"
    silent = io.StringIO()
    gn.fit(gn.mlp([8], 1, input_dim=10), x, y, epochs=2, callbacks=[gn.ProgressBar(verbose=0, stream=silent)])
    assert silent.getvalue() == ""
    shown = io.StringIO()
    gn.fit(gn.mlp([8], 1, input_dim=10), x, y, epochs=2, callbacks=[gn.ProgressBar(stream=shown, force=True)])
    assert "2/2" in shown.getvalue()


def test_weight_decay_and_dropout_regularize():
    x, y = noisy_small_data()
    plain = wide_net()
    gn.fit(plain, x, y, epochs=30, optimizer="adam", lr=1e-3)
    decayed = wide_net()
    gn.fit(decayed, x, y, epochs=30, optimizer="adamw", lr=1e-3, weight_decay=0.5)

    def norm(net):
        return sum(float(np.sum(p.value**2)) for p in net.parameters() if p.regularize)

    assert norm(decayed) < norm(plain)
    dropped = gn.mlp([64, 64], 1, dropout=0.5, input_dim=10)
    history = gn.fit(dropped, x, y, epochs=5, validation_split=0.2)
    assert np.isfinite(history["val_loss"]).all()


def test_network_pickles_with_flat_parameters(tmp_path):
    import pickle

    net = gn.mlp([8, 8], 3, batch_norm=True, output_activation="softmax", input_dim=4)
    x = np.random.default_rng(0).normal(size=(30, 4))
    gn.fit(net, x, np.arange(30) % 3, epochs=2)
    clone = pickle.loads(pickle.dumps(net))
    assert np.array_equal(clone.predict(x), net.predict(x))
    optimizer = gn.SGD(clone.parameters(), lr=0.1)
    assert len(optimizer._segments) == 1  # parameters are views of one flat store again


def test_training_on_some_rows_of_x_equals_training_on_their_copy(tmp_path):
    """``rows=``: a cross-fit member trains on some folds of the pool without a copy of them. Batches,
    weights, diagnostics probe, history and the checkpoint's data fingerprint are those of the copy."""
    from glassnet.training.fit import make_trainer

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    rows = np.sort(rng.choice(300, 220, replace=False))
    held = np.setdiff1d(np.arange(300), rows)
    weights = rng.uniform(0.5, 2.0, 300)

    def run(x_given, y_given, w_given, **extra):
        net = gn.mlp([16, 8], 2, dropout=0.1, output_activation="softmax", input_dim=6, seed=0)
        trainer = make_trainer(
            net, x_given, y_given, sample_weight=w_given, epochs=3, batch_size=32, seed=5,
            validation_data=(x[held], y[held]), optimizer="adam", **extra,
        )  # fmt: skip
        history = trainer.run()
        return net, history, trainer

    copy_net, copy_history, copy_trainer = run(x[rows], y[rows], weights[rows])
    view_net, view_history, view_trainer = run(x, y[rows], weights[rows], rows=rows)
    for a, b in zip(copy_net.parameters(), view_net.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    untimed = [{k: v for k, v in h.history.items() if k != "time"} for h in (copy_history, view_history)]
    assert untimed[0] == untimed[1] and len(untimed[0]["val_loss"]) == 3
    assert view_trainer.n_samples == 220
    np.testing.assert_array_equal(view_trainer.sample_rows(50, 0), copy_trainer.sample_rows(50, 0))
    assert view_trainer.fingerprint() == copy_trainer.fingerprint()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.array([0, 5, 300]), r"rows must lie in \[0, 300\)"),
        (np.array([[1, 2]]), "non-empty 1-D array of row positions"),
        (np.array([0.5, 1.0]), "non-empty 1-D array of row positions"),
    ],
)
def test_training_rows_out_of_range_or_not_integers_are_refused(rows, message):
    from glassnet.training.fit import make_trainer

    x = np.zeros((300, 4), dtype=np.float32)
    net = gn.mlp([4], 2, output_activation="softmax", input_dim=4, seed=0)
    with pytest.raises(ValueError, match=message):
        make_trainer(net, x, np.zeros(len(rows), dtype=np.int64), rows=rows)


def test_training_rows_cannot_be_split_for_validation():
    from glassnet.training.fit import make_trainer

    x = np.zeros((50, 4), dtype=np.float32)
    net = gn.mlp([4], 2, output_activation="softmax", input_dim=4, seed=0)
    with pytest.raises(ValueError, match="validation_split cannot split a subset of rows"):
        make_trainer(net, x, np.zeros(10, dtype=np.int64), rows=np.arange(10), validation_split=0.2)
