"""scikit-learn estimators: the official checks, pipelines, grid search, and MLP comparisons."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_digits, make_multilabel_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import glassnet as gn
from glassnet import recipe
from glassnet.sklearn import EXPECTED_FAILED_CHECKS


# The defaults (five cross-fitted networks) with a smaller epoch budget, as scikit-learn checks its
# own MLP; how the defaults compare with scikit-learn's MLP is measured by benchmarks/estimators.py.
@parametrize_with_checks(
    [gn.DNNClassifier(max_iter=30), gn.DNNRegressor(max_iter=30)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        check(estimator)


def test_every_expected_failure_has_a_written_reason():
    assert all(isinstance(reason, str) and len(reason) > 40 for reason in EXPECTED_FAILED_CHECKS.values())


def mixed_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "plan": rng.choice(["a", "b"], n),
        }
    )
    score = (frame["age"] - 40) / 10 + (frame["city"] == "lyon") * 1.5 - (frame["plan"] == "b")
    return frame, np.where(score + rng.normal(0, 0.3, n) > 0, "yes", "no")


def test_pipeline_with_column_transformer_and_string_labels():
    frame, labels = mixed_frame()
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
        ]
    )
    model = Pipeline(
        [("pre", pre), ("dnn", gn.DNNClassifier(hidden_layer_sizes=(16, 16), max_iter=100, random_state=0))]
    )
    model.fit(frame, labels)
    assert set(model.classes_) == {"no", "yes"}
    assert model.score(frame, labels) > 0.9
    unseen = frame.head(3).assign(city="marseille")  # unseen category at predict time
    assert set(model.predict(unseen)) <= {"no", "yes"}


def test_dataframe_feature_names_are_kept():
    frame, labels = mixed_frame()
    numeric = frame[["age", "income"]]
    clf = gn.DNNClassifier(hidden_layer_sizes=(8, 8), max_iter=20, random_state=0).fit(numeric, labels)
    assert list(clf.feature_names_in_) == ["age", "income"]
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(numeric.rename(columns={"age": "years"}))


def test_grid_search_with_two_jobs():
    X, y = load_digits(return_X_y=True)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), gn.DNNClassifier(max_iter=30, random_state=0, n_networks=1)),
        {"dnnclassifier__hidden_layer_sizes": [(16, 16), (32, 32)], "dnnclassifier__batch_norm": [False, True]},
        cv=3,
        n_jobs=2,
    )
    search.fit(X, y)
    assert search.best_score_ > 0.85
    assert len(search.cv_results_["params"]) == 4


def test_fitted_attributes_curves_and_early_stopping():
    X, y = load_digits(return_X_y=True)
    clf = gn.DNNClassifier(
        hidden_layer_sizes=(32, 32),
        max_iter=300,
        early_stopping=True,
        n_iter_no_change=5,
        batch_norm=True,
        dropout=0.1,
        random_state=0,
    ).fit(X / 16, y)
    assert clf.n_iter_ < 300 and len(clf.loss_curve_) == clf.n_iter_
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == clf.n_iter_
    assert clf.history_.restored_epoch is not None
    assert clf.best_validation_loss_ == pytest.approx(min(clf.validation_loss_curve_))
    assert isinstance(clf.network_, gn.Sequential) and clf.n_features_in_ == 64
    assert clf.predict_proba(X[:5] / 16).sum(axis=1) == pytest.approx(np.ones(5))


def test_the_defaults_cross_fit_networks_whose_mean_predicts():
    """The job's recipe (glassnet/recipe.py): five networks, network k stopped early on fold k."""
    X, y = load_digits(return_X_y=True)
    X = X[:400] / 16
    y = y[:400]
    clf = gn.DNNClassifier(hidden_layer_sizes=(16,), max_iter=40, random_state=0).fit(X, y)
    assert len(clf.networks_) == len(clf.histories_) == recipe.FOLDS and clf.network_ is clf.networks_[0]
    assert all(len(history["val_loss"]) == len(history) for history in clf.histories_)
    assert not np.array_equal(clf.networks_[0].layers[0].W.value, clf.networks_[1].layers[0].W.value)
    logits = [net.astype(np.float64).logits(X) for net in clf.networks_]
    probabilities = np.mean(
        [
            np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
            for z in logits
        ],
        axis=0,
    )
    np.testing.assert_allclose(clf.predict_proba(X), probabilities, rtol=1e-9, atol=1e-12)
    assert np.array_equal(clf.predict(X), clf.classes_[probabilities.argmax(axis=1)])
    again = gn.DNNClassifier(hidden_layer_sizes=(16,), max_iter=40, random_state=0).fit(X, y)
    assert np.array_equal(again.predict_proba(X), clf.predict_proba(X))  # same seed, same networks
    one = gn.DNNClassifier(hidden_layer_sizes=(16,), max_iter=40, random_state=0, n_networks=1).fit(X, y)
    assert len(one.networks_) == 1 and len(one.history_["val_loss"]) == one.n_iter_
    Xr = np.random.default_rng(0).normal(size=(100, 3))
    reg = gn.DNNRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(Xr, Xr[:, 0])
    outputs = np.mean([net.astype(np.float64).predict(Xr) for net in reg.networks_], axis=0).ravel()
    np.testing.assert_allclose(reg.predict(Xr), outputs * reg._y_scale[0] + reg._y_mean[0], rtol=1e-9)
    # the L2 prior over each network's own training rows: 80 of the 100 in a fold's complement
    assert reg.alpha == recipe.L2_PRIOR
    assert [opt.weight_decay for opt in reg._optimizers] == pytest.approx([recipe.L2_PRIOR / 80] * recipe.FOLDS)


def test_the_l2_penalty_divides_alpha_by_the_weight_of_the_rows():
    """scikit-learn's documented objective: (Σ wᵢ·lossᵢ + 0.5·alpha·‖W‖²) / Σ wᵢ, not per batch."""
    X = np.random.default_rng(1).normal(size=(50, 2))
    weights = np.full(50, 3.0)
    settings = dict(hidden_layer_sizes=(4,), max_iter=2, n_networks=1, early_stopping=False, batch_size=10)
    plain = gn.DNNRegressor(alpha=0.5, **settings).fit(X, X[:, 0])
    weighted = gn.DNNRegressor(alpha=0.5, **settings).fit(X, X[:, 0], sample_weight=weights)
    assert plain._optimizers[0].weight_decay == pytest.approx(0.5 / 50)
    assert weighted._optimizers[0].weight_decay == pytest.approx(0.5 / 150)
    held = gn.DNNRegressor(alpha=0.5, **{**settings, "early_stopping": True, "validation_fraction": 0.2})
    assert held.fit(X, X[:, 0])._optimizers[0].weight_decay == pytest.approx(0.5 / 40)  # after its split


def test_too_few_rows_for_the_folds_is_said_and_still_fits():
    x = np.arange(12.0).reshape(6, 2)
    with pytest.warns(UserWarning, match="too few for 5 folds"):
        reg = gn.DNNRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(x, x[:, 0])
    assert len(reg.networks_) == 5 and reg.predict(x).shape == (6,)


def test_binary_multilabel_and_multioutput():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    binary = gn.DNNClassifier(hidden_layer_sizes=(16, 16), max_iter=50, random_state=0).fit(X, y)
    assert binary.decision_function(X).shape == (len(X),)
    assert binary.predict_proba(X).shape == (len(X), 2)
    Xm, Ym = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    multilabel = gn.DNNClassifier(hidden_layer_sizes=(32, 32), max_iter=100, random_state=0).fit(Xm, Ym)
    assert multilabel.predict(Xm).shape == Ym.shape and multilabel.score(Xm, Ym) > 0.5
    Xr = np.random.default_rng(0).normal(size=(200, 3))
    Yr = np.column_stack([Xr[:, 0] * 2, Xr[:, 1] - Xr[:, 2]])
    multi = gn.DNNRegressor(hidden_layer_sizes=(32, 32), max_iter=100, random_state=0).fit(Xr, Yr)
    assert multi.predict(Xr).shape == (200, 2) and multi.score(Xr, Yr) > 0.9


def test_partial_fit_warm_start_sample_weight_clone_and_pickle():
    X, y = load_digits(return_X_y=True)
    clf = gn.DNNClassifier(hidden_layer_sizes=(16, 16), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    for _ in range(3):
        clf.partial_fit(X / 16, y, classes=np.arange(10))
    assert clf.n_iter_ == 3
    weights = np.where(y == 3, 10.0, 1.0)
    weighted = gn.DNNClassifier(hidden_layer_sizes=(16, 16), max_iter=100, random_state=0).fit(
        X / 16, y, sample_weight=weights
    )
    assert weighted.score(X / 16, y) > 0.8
    copy = clone(weighted)
    assert copy.get_params() == weighted.get_params() and not hasattr(copy, "network_")
    restored = pickle.loads(pickle.dumps(weighted))
    assert np.array_equal(restored.predict_proba(X / 16), weighted.predict_proba(X / 16))
    restored.set_params(warm_start=True, max_iter=2).fit(X / 16, y)  # continues after unpickling
