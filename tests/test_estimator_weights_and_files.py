"""The estimators: sample weights mean repeated rows, and fitted estimators use glassnet's safe model
file and ONNX (issue #14, items 12 and 13)."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

import glassnet as gn
from glassnet.io.modelfile import ModelFileError


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ------------------------------------------------------------------ 12. weights are repetitions
@pytest.mark.parametrize("estimator", [gn.DNNClassifier, gn.DNNRegressor])
def test_scikit_learns_weight_equivalence_check_passes_in_float64(estimator):
    """With one network trained on one batch holding every row, weights can be exact repetitions; in
    float64 they are. (Cross-fitting deals a repeated row into other folds than its weighted copy, and
    dropout draws a mask per row: the defaults are not meant to be exact there.)"""
    exact = dict(n_networks=1, early_stopping=False, dropout=0.0, batch_size=10_000)
    check_sample_weight_equivalence_on_dense_data(estimator.__name__, estimator(dtype="float64", max_iter=100, **exact))


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_weight_of_two_is_a_duplicated_row_for_the_regressor(alpha):
    """The target scaling and the L2 penalty both follow the weights (they used not to: 0.74 apart)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = 100 + 30 * x[:, 0] + rng.normal(size=40)
    weights = np.ones(40)
    weights[:10] = 2
    settings = dict(
        hidden_layer_sizes=(8, 8),
        alpha=alpha,
        dtype="float64",
        random_state=0,
        max_iter=80,
        batch_size=100,
        n_networks=1,
        early_stopping=False,
        dropout=0.0,
    )
    weighted = gn.DNNRegressor(**settings).fit(x, y, sample_weight=weights)
    repeated = gn.DNNRegressor(**settings).fit(np.vstack([x, x[:10]]), np.concatenate([y, y[:10]]))
    np.testing.assert_allclose(weighted.predict(x), repeated.predict(x), rtol=1e-9, atol=1e-9)


def test_the_epoch_loss_is_weighted_like_the_batch_loss():
    x = np.random.default_rng(0).normal(size=(30, 2))
    y = (x[:, 0] > 0).astype(int)
    weights = np.r_[np.full(15, 3.0), np.ones(15)]
    net = gn.mlp([4], 2, output_activation="softmax", seed=0, dtype="float64")
    history = gn.fit(net, x, y, epochs=1, batch_size=30, sample_weight=weights, shuffle=False, diagnostics=False)
    fresh = gn.mlp([4], 2, output_activation="softmax", seed=0, dtype="float64")
    expected = gn.SoftmaxCrossEntropy().forward(fresh.logits(x), y, weights)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)


# -------------------------------------------------------------- 13. the safe format and ONNX
def _iris():
    x, y = load_iris(return_X_y=True)
    return x, np.array(["setosa", "versicolor", "virginica"])[y]


@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression", "multi-output regression"])
def test_save_and_load_give_an_estimator_that_predicts_identically(tmp_path, kind):
    if kind in ("multiclass", "binary"):
        x, y = _iris()
        if kind == "binary":
            x, y = x[y != "virginica"], y[y != "virginica"] == "setosa"
        estimator = gn.DNNClassifier((16, 16), max_iter=20, random_state=0, batch_norm=True, dropout=0.1)
    elif kind == "multilabel":
        x, _ = _iris()
        y = np.c_[x[:, 0] > 5.8, x[:, 2] > 4].astype(int)
        estimator = gn.DNNClassifier((16,), max_iter=20, random_state=0)
    else:
        x, y = load_diabetes(return_X_y=True)
        y = np.c_[y, -y / 10] if kind.startswith("multi") else y
        estimator = gn.DNNRegressor((16, 16), max_iter=20, random_state=0, early_stopping=True)
    estimator.fit(x, y)
    path = estimator.save(tmp_path / "est.glassnet")
    loaded = type(estimator).load(path)
    assert loaded.get_params() == estimator.get_params()
    methods = ["predict"] + (
        ["predict_proba", "decision_function"] if kind != "regression" and not kind.startswith("multi-output") else []
    )
    for method in methods:
        np.testing.assert_array_equal(getattr(loaded, method)(x), getattr(estimator, method)(x))
    assert loaded.loss_curve_ == estimator.loss_curve_ and loaded.n_iter_ == estimator.n_iter_
    assert len(loaded.history_) == len(estimator.history_)
    loaded.partial_fit(x, y)  # still an estimator that can be trained further


def test_save_keeps_the_regressors_target_scaling(tmp_path):
    x, y = load_diabetes(return_X_y=True)
    target = y * 1000 + 5e4
    regressor = gn.DNNRegressor((16,), max_iter=10, random_state=0).fit(x, target)
    loaded = gn.DNNRegressor.load(regressor.save(tmp_path / "r.glassnet"))
    assert loaded.predict(x).mean() == pytest.approx(target.mean(), rel=0.1)  # targets' units, not standardized
    np.testing.assert_array_equal(loaded.predict(x), regressor.predict(x))


def test_load_refuses_other_files(tmp_path):
    x, y = _iris()
    path = gn.DNNClassifier((4,), max_iter=2, random_state=0).fit(x, y).save(tmp_path / "c.glassnet")
    with pytest.raises(ModelFileError, match="not a saved DNNRegressor"):
        gn.DNNRegressor.load(path)
    plain = gn.save_model(gn.mlp([4], 3, output_activation="softmax", input_dim=4), tmp_path / "plain.glassnet")
    with pytest.raises(ModelFileError, match="no estimator"):
        gn.DNNClassifier.load(plain)


@pytest.mark.parametrize("kind", ["classifier", "multilabel", "regressor"])
def test_onnx_export_matches_onnxruntime(tmp_path, kind):
    import onnxruntime

    if kind == "classifier":
        x, y = _iris()
        estimator = gn.DNNClassifier((16, 16), max_iter=30, random_state=0, batch_norm=True).fit(x, y)
        expected = estimator.predict_proba(x)
    elif kind == "multilabel":
        x, _ = _iris()
        estimator = gn.DNNClassifier((16,), max_iter=30, random_state=0).fit(x, np.c_[x[:, 0] > 5.8, x[:, 2] > 4])
        expected = estimator.predict_proba(x)
    else:
        x, y = load_diabetes(return_X_y=True)
        estimator = gn.DNNRegressor((16, 16), max_iter=30, random_state=0).fit(x, y)
        expected = estimator.predict(x).reshape(-1, 1)
    path = estimator.export_onnx(tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(path))
    got = session.run(None, {"input": x.astype(np.float32)})[0]
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale)


def test_a_batch_or_fold_of_zero_weight_contributes_nothing_instead_of_failing():
    """scikit-learn's weight-equivalence check gives integer weights with zeros; a fold or batch whose
    weights are all zero used to raise "sample_weight must have a positive sum over the batch"."""
    from glassnet.losses import MeanSquaredError

    loss = MeanSquaredError()
    value = loss.forward(np.ones((4, 1)), np.zeros((4, 1)), np.zeros(4))
    assert value == 0 and not loss.backward().any()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = x @ [1.0, -2.0, 0.5]
    weights = np.zeros(60)
    weights[:30] = rng.integers(1, 3, 30)  # half the rows weigh nothing: some batches are all zero
    model = gn.DNNRegressor(hidden_layer_sizes=(8,), max_iter=5, batch_size=10, shuffle=False, random_state=0)
    model.fit(x, y, sample_weight=weights)
    assert np.isfinite(model.predict(x)).all()


def test_the_estimators_networks_train_side_by_side_to_the_weights_of_one_after_the_other(monkeypatch):
    from glassnet.training import executors

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    fitted = {}
    for cores in (1, 2):
        monkeypatch.setattr(executors, "usable_cores", lambda cores=cores: cores)
        fitted[cores] = gn.DNNClassifier(hidden_layer_sizes=(8,), max_iter=4, n_networks=3, random_state=0).fit(x, y)
    for a, b in zip(fitted[1].networks_, fitted[2].networks_, strict=True):
        for name, value in a.state_dict().items():
            np.testing.assert_array_equal(b.state_dict()[name], value)
