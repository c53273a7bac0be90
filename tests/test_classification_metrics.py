"""Classification users can act on: ranking and probability metrics with intervals, the headline
chosen by --metric, calibration, class weights and the decision threshold, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from test_cli import assert_clean_error, glassnet

import glassnet as gn
from glassnet.app.calibration import calibrate, choose_calibration, fit_calibration, log_loss
from glassnet.app.decision import best_threshold, choose_threshold, parse_class_weight, parse_threshold
from glassnet.app.scoring import classification_metrics, metric_intervals, positive_class

FAST = ["--epochs", "12", "--hidden", "16", "--quiet", "--folds", "3"]


def _probabilities(rng, y, sharpness=1.0):
    """Noisy two-class probabilities that rank ``y`` imperfectly: a score ``s`` ~ N(±1.5, 1), whose
    true log-odds are ``3 s`` plus the prior's; ``sharpness`` > 1 makes them overconfident."""
    score = 1.5 * (2 * y - 1) + rng.normal(size=len(y))
    prior = np.log(np.mean(y) / (1 - np.mean(y)))
    p = 1 / (1 + np.exp(-sharpness * (3 * score + prior)))
    return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    """An imbalanced binary table (about 15 % 'fraud'), trained once with --threshold auto."""
    folder = tmp_path_factory.mktemp("imbalanced")
    rng = np.random.default_rng(0)
    n = 900
    x = rng.normal(size=(n, 4))
    label = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n) > 1.6, "fraud", "ok")
    frame = pd.DataFrame(x, columns=list("abcd")).assign(label=label)
    frame.to_csv(folder / "claims.csv", index=False)
    out = folder / "model"
    completed = glassnet(
        "train", folder / "claims.csv", "--target", "label", "--out", out, "--threshold", "auto", *FAST
    )
    assert completed.returncode == 0, completed.stderr
    return folder, out, frame, completed.stdout


def test_binary_metrics_are_scikit_learns_about_the_positive_class():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.2).astype(int)
    p = _probabilities(rng, y)
    for positive in (0, 1):
        got = classification_metrics(p, y, 2, positive)
        assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(y == positive, p[:, positive]))
        assert got["pr_auc"] == pytest.approx(sk.average_precision_score(y == positive, p[:, positive]))
        assert got["brier"] == pytest.approx(sk.brier_score_loss(y == positive, p[:, positive]))
        assert got["f1"] == pytest.approx(sk.f1_score(y == positive, p.argmax(1) == positive))
    # the positive class changes PR AUC (the rare class is harder), not ROC AUC
    assert classification_metrics(p, y, 2, 0)["pr_auc"] != pytest.approx(classification_metrics(p, y, 2, 1)["pr_auc"])


def test_multiclass_metrics_and_a_class_missing_from_the_rows():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 300)
    logits = rng.normal(size=(300, 4)) + 2 * np.eye(4)[y]  # 4 classes, the last one has no row
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    got = classification_metrics(p, y, 4)
    assert got["roc_auc_macro"] == pytest.approx(np.mean([sk.roc_auc_score(y == c, p[:, c]) for c in range(3)]))
    assert got["f1_macro"] == pytest.approx(sk.f1_score(y, p.argmax(1), labels=range(4), average="macro"))
    assert "roc_auc" not in got and "pr_auc" not in got  # binary metrics only for two classes


def test_intervals_cover_the_metric_and_delong_agrees_with_the_bootstrap():
    rng = np.random.default_rng(3)
    y = (rng.random(800) < 0.3).astype(int)
    p = _probabilities(rng, y)
    found = metric_intervals(p, y, classification_metrics(p, y, 2, 1), 1)
    assert {"roc_auc", "pr_auc", "accuracy", "log_loss", "brier", "f1"} <= set(found)
    values = classification_metrics(p, y, 2, 1)
    for name, span in found.items():
        assert span["low"] <= values[name] <= span["high"], name
    assert found["roc_auc"]["method"] == "DeLong"
    boot = []
    for seed in range(200):
        rows = np.random.default_rng(seed).integers(0, len(y), len(y))
        boot.append(sk.roc_auc_score(y[rows], p[rows, 1]))
    width_boot = np.subtract(*np.percentile(boot, [97.5, 2.5]))
    width_delong = found["roc_auc"]["high"] - found["roc_auc"]["low"]
    assert 0.75 < width_delong / width_boot < 1.33


def test_the_positive_class_is_named_by_its_label_else_the_rarer_one():
    assert positive_class(["no", "yes"], np.array([1, 1, 1, 0])) == 1  # "yes", though the more common
    assert positive_class([False, True], np.array([1, 0])) == 1
    assert positive_class(["bad", "good"], np.array([1, 1, 1, 0])) == 0  # the rarer
    assert positive_class(["bad", "good"], np.array([1, 0]), told="good") == 1
    with pytest.raises(ValueError, match="not one of the classes"):
        positive_class(["bad", "good"], np.array([1, 0]), told="fine")


def test_training_can_monitor_a_registered_metric_on_the_validation_rows():
    import glassnet.app.scoring  # noqa: F401  (registers roc_auc and its kin)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0.5).astype(int)
    net = gn.mlp([8], 2, output_activation="softmax")
    stopper = gn.EarlyStopping(monitor="val_roc_auc", patience=2)
    history = gn.fit(net, x, y, epochs=8, lr=0.05, validation_split=0.3, metrics=["roc_auc"], callbacks=[stopper])
    assert len(history.history["val_roc_auc"]) == len(history)
    assert 0.5 < max(history.history["val_roc_auc"]) <= 1.0
    with pytest.raises(ValueError, match="no score function is registered for metric 'auroc'"):
        gn.fit(gn.mlp([4], 2, output_activation="softmax"), x, y, epochs=1, metrics=["auroc"])


def test_calibration_is_applied_only_when_held_out_it_helps():
    rng = np.random.default_rng(4)
    y = (rng.random(2000) < 0.4).astype(int)
    folds = np.arange(2000) % 5
    overconfident = _probabilities(rng, y, sharpness=3.0)
    calibration, held_out, account = choose_calibration(overconfident, y, folds, 1)
    assert calibration is not None and account["applied"] in ("temperature", "platt")
    assert log_loss(held_out, y) < 0.9 * log_loss(overconfident, y)
    if calibration["method"] == "temperature":
        assert calibration["temperature"] == pytest.approx(3, rel=0.2)  # undoes the sharpening
    honest = _probabilities(np.random.default_rng(5), y, sharpness=1.0)
    assert choose_calibration(honest, y, folds, 1)[0] is None  # already calibrated: nothing gained
    platt = fit_calibration("platt", overconfident, y, 1)
    assert platt["slope"] == pytest.approx(1 / 3, rel=0.2)
    calibrated = calibrate(overconfident, platt)
    assert np.allclose(calibrated.sum(1), 1) and log_loss(calibrated, y) < log_loss(overconfident, y)


def test_the_threshold_is_the_best_over_every_score_and_honest_out_of_fold():
    rng = np.random.default_rng(6)
    y = (rng.random(600) < 0.2).astype(int)
    p = _probabilities(rng, y)
    chosen = best_threshold(p[:, 1], y == 1, "f1")
    brute = max(np.unique(p[:, 1]), key=lambda t: sk.f1_score(y, p[:, 1] >= t))
    assert sk.f1_score(y, p[:, 1] >= chosen) == pytest.approx(sk.f1_score(y, p[:, 1] >= brute))
    cheap = best_threshold(p[:, 1], y == 1, "cost:10")  # missing a positive costs 10: a lower threshold
    assert cheap < chosen
    folds = np.arange(600) % 3
    model_threshold, per_row, text = choose_threshold(p, y, 1, "auto", "roc_auc", folds)
    assert model_threshold == chosen and per_row.shape == (600,) and "each fold" in text
    assert len(np.unique(per_row)) <= 3


def test_option_parsing_refuses_what_it_cannot_read():
    assert parse_class_weight("balanced") == "balanced" and parse_class_weight("none") is None
    assert parse_class_weight('{"yes": 5}') == {"yes": 5.0}
    assert parse_threshold("auto") == "auto" and parse_threshold("0.3") == 0.3 and parse_threshold("cost:5") == "cost:5"
    for bad in ("heavy", '{"yes": -1}', "[1, 2]"):
        with pytest.raises(ValueError, match="--class-weight"):
            parse_class_weight(bad)
    for bad in ("1.5", "cost:-2", "best"):
        with pytest.raises(ValueError, match="--threshold"):
            parse_threshold(bad)


def test_train_reports_ranking_probability_and_threshold_metrics(imbalanced):
    folder, out, frame, stdout = imbalanced
    assert "out-of-fold roc_auc:" in stdout and "95 % interval" in stdout
    assert "threshold on P(fraud):" in stdout and "calibration:" in stdout
    document = json.loads((out / "metrics.json").read_text())
    assert {"roc_auc", "pr_auc", "brier", "log_loss", "f1", "balanced_accuracy"} <= set(document["test"])
    assert document["headline"]["metric"] == "roc_auc" and "whatever the class balance" in document["headline"]["why"]
    assert document["test_interval"]["method"] == "DeLong"
    assert {"pr_auc", "brier"} <= set(document["test_intervals"])
    decision = document["decision"]
    assert decision["positive_class"] == "fraud" and 0 < decision["threshold"] < 1
    for baseline in document["baselines"].values():
        assert 0.5 < baseline["roc_auc"] <= 1 and "probabilities" not in baseline
    report = (out / "report.html").read_text()
    for alt in ("ROC and precision-recall curves", "reliability diagram", "From probabilities to decisions"):
        assert alt in report


def test_predict_and_evaluate_apply_the_models_threshold(imbalanced, tmp_path):
    folder, out, frame, _ = imbalanced
    threshold = json.loads((out / "metrics.json").read_text())["decision"]["threshold"]
    completed = glassnet("predict", out / "model.glassnet", folder / "claims.csv", "-o", tmp_path / "p.csv", "--proba")
    assert completed.returncode == 0, completed.stderr
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert ((predicted["proba_fraud"] >= threshold) == (predicted["prediction"] == "fraud")).all()
    assert (predicted["prediction"] == "fraud").sum() != (
        predicted[["proba_fraud", "proba_ok"]].idxmax(1) == "proba_fraud"
    ).sum()
    completed = glassnet("evaluate", out / "model.glassnet", folder / "claims.csv", "--json")
    scored = json.loads(completed.stdout)
    truth = frame["label"] == "fraud"
    assert scored["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, predicted["proba_fraud"]), abs=1e-6)
    assert scored["f1"] == pytest.approx(sk.f1_score(truth, predicted["prediction"] == "fraud"))
    assert scored["intervals"]["roc_auc"]["low"] < scored["roc_auc"] < scored["intervals"]["roc_auc"]["high"]


def test_metric_class_weight_and_their_errors_from_the_command_line(imbalanced, tmp_path):
    folder = imbalanced[0]
    data = folder / "claims.csv"
    completed = glassnet(
        "train", data, "--target", "label", "--out", tmp_path / "w", "--metric", "balanced_accuracy",
        "--class-weight", "balanced", "--no-baselines", "--no-report", *FAST,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "out-of-fold balanced_accuracy:" in completed.stdout and "class weights: balanced" in completed.stdout
    document = json.loads((tmp_path / "w" / "metrics.json").read_text())
    assert document["headline"]["metric"] == "balanced_accuracy"
    assert_clean_error(glassnet("train", data, "--target", "label", "--out", tmp_path / "x", "--metric", "r2",
                                *FAST), 2, "--metric r2 does not apply to a binary task", "roc_auc")  # fmt: skip
    assert_clean_error(glassnet("train", data, "--target", "label", "--out", tmp_path / "y", "--class-weight",
                                "lots", *FAST), 2, "--class-weight takes balanced")  # fmt: skip
    assert_clean_error(glassnet("train", data, "--target", "label", "--out", tmp_path / "z", "--positive-class",
                                "spam", *FAST), 2, "'spam' is not one of the classes")  # fmt: skip


def test_multiclass_gets_per_class_scores_and_the_normalised_confusion_matrix(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(450, 3))
    kind = np.array(["ant", "bee", "cat"])[np.argmax(x + 0.7 * rng.normal(size=x.shape), axis=1)]
    pd.DataFrame(x, columns=["u", "v", "w"]).assign(kind=kind).to_csv(tmp_path / "k.csv", index=False)
    completed = glassnet("train", tmp_path / "k.csv", "--target", "kind", "--out", tmp_path / "m", *FAST)
    assert completed.returncode == 0, completed.stderr
    document = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert {"roc_auc_macro", "roc_auc_weighted", "f1_macro", "brier"} <= set(document["test"])
    assert set(document["per_class"]) == {"ant", "bee", "cat"}
    assert sum(row["support"] for row in document["per_class"].values()) == 450
    assert "per class:" in completed.stdout
    assert "confusion matrix normalised by row" in (tmp_path / "m" / "report.html").read_text()


def test_onnx_export_applies_the_calibration(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from glassnet.io.onnx_export import export_onnx

    rng = np.random.default_rng(8)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    net = gn.mlp([8], 2, output_activation="softmax")
    net.build(3)
    probabilities = net.predict(x).astype(np.float64)
    for calibration in (
        {"method": "temperature", "temperature": 2.5},
        {"method": "platt", "slope": 0.4, "intercept": -0.3, "positive": 0},
        {"method": "platt", "slope": 1.7, "intercept": 0.2, "positive": 1},
    ):
        path = export_onnx(net, tmp_path / f"{calibration['method']}{calibration.get('positive', '')}.onnx",
                           calibration=calibration)  # fmt: skip
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": x})[0]
        assert np.allclose(got, calibrate(probabilities, calibration), atol=1e-5), calibration


def test_the_estimator_class_weight_is_scikit_learns_sample_weight():
    from sklearn.utils.class_weight import compute_sample_weight

    rng = np.random.default_rng(9)
    x = rng.normal(size=(240, 3))
    y = np.where(x[:, 0] > 0.9, "rare", "common")
    settings = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0, "n_networks": 2}
    weighted = gn.DNNClassifier(class_weight="balanced", **settings).fit(x, y)
    by_hand = gn.DNNClassifier(**settings).fit(x, y, sample_weight=compute_sample_weight("balanced", y))
    plain = gn.DNNClassifier(**settings).fit(x, y)
    assert np.array_equal(weighted.predict_proba(x), by_hand.predict_proba(x))
    assert not np.array_equal(weighted.predict_proba(x), plain.predict_proba(x))
    assert (weighted.predict(x) == "rare").sum() > (plain.predict(x) == "rare").sum()


def test_the_bootstraps_resamples_score_as_scikit_learn_does_with_weights():
    from glassnet.app.scoring import resampled_metric

    rng = np.random.default_rng(10)
    y = rng.integers(0, 3, 400)
    logits = np.round(rng.normal(size=(400, 3)) + 1.5 * np.eye(3)[y], 1)  # rounded: tied scores too
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    counts = np.bincount(rng.integers(0, 400, 400), minlength=400).astype(float)
    predicted = p.argmax(1)
    value = lambda name: resampled_metric(name, counts, p, y)[0]  # noqa: E731
    assert value("f1_macro") == pytest.approx(sk.f1_score(y, predicted, average="macro", sample_weight=counts))
    assert value("balanced_accuracy") == pytest.approx(sk.balanced_accuracy_score(y, predicted, sample_weight=counts))
    macro = sk.roc_auc_score(y, p, multi_class="ovr", average="macro", sample_weight=counts)
    assert value("roc_auc_macro") == pytest.approx(macro)
    binary = (y == 2).astype(int)
    two = np.column_stack([1 - p[:, 2], p[:, 2]])
    for name, reference in (("roc_auc", sk.roc_auc_score), ("pr_auc", sk.average_precision_score)):
        got = resampled_metric(name, counts, two, binary, 1)[0]
        assert got == pytest.approx(reference(binary, two[:, 1], sample_weight=counts)), name
