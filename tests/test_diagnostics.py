"""See inside: vanishing gradients, distributions with/without batch norm, attributions, plots."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.diagnostics import (
    Diagnostics,
    feature_importance,
    gradient_verdict,
    integrated_gradients,
    linear_block_report,
    permutation_importance,
    saliency,
)


@pytest.fixture(scope="module")
def digits():
    data = gn.datasets.load_digits()
    return (data.x - data.x.mean(0)) / (data.x.std(0) + 1e-6), data.y


def test_vanishing_gradient_detector_fires_on_deep_sigmoid_with_small_gaussian_init(digits):
    x, y = digits
    net = gn.mlp(
        [100] * 6, 10, activation="sigmoid", output_activation="softmax", init="normal", init_scale=0.01, seed=0
    )
    history = gn.fit(net, x, y, epochs=5, lr=0.1, momentum=0.9, validation_split=0.2)
    verdict = gradient_verdict(history, net)
    assert verdict.vanishing and not verdict.exploding
    assert verdict.first_to_last_ratio[-1] < 0.01
    assert verdict.since_epoch == 1 and "dense_1" in verdict.affected_layers
    text = verdict.summary()
    assert "ReLU instead of sigmoid" in text and "He" in text and "batch normalization" in text


def test_detector_quiet_with_relu_he_and_batch_norm(digits):
    x, y = digits
    net = gn.mlp([100] * 6, 10, activation="relu", batch_norm=True, output_activation="softmax", seed=0)
    history = gn.fit(net, x, y, epochs=5, lr=0.1, momentum=0.9, validation_split=0.2)
    assert net.layers[0].resolved_init == "he_normal"
    verdict = gradient_verdict(history, net)
    assert not verdict.vanishing and not verdict.exploding
    assert 0.01 < verdict.first_to_last_ratio[-1] < 100
    assert "healthy" in verdict.summary()


def test_exploding_gradient_detector(digits):
    x, y = digits
    net = gn.mlp([64] * 4, 10, activation="relu", output_activation="softmax", init="normal", init_scale=0.5, seed=0)
    with pytest.warns(Warning):
        history = gn.fit(net, x, y, epochs=3, lr=0.5, momentum=0.9)
    verdict = gradient_verdict(history, net)
    assert history.diverged or verdict.exploding


def _sigmoid_input_drift(x, y, batch_norm):
    net = gn.mlp(
        [100] * 3,
        10,
        activation="sigmoid",
        batch_norm=batch_norm,
        output_activation="softmax",
        init="normal",
        init_scale=0.1,
        seed=0,
    )
    history = gn.fit(net, x, y, epochs=20, batch_size=60, lr=0.5, callbacks=[Diagnostics(every_steps=10)])
    entry = history.diagnostics["activations"]["sigmoid_3"]
    assert len(entry["p50"]) == len(history.diagnostics["step"]) > 50  # every 10 of 600 steps
    return max(float(np.max(np.abs(np.asarray(entry[k]) - entry[k][0]))) for k in ("p15", "p50", "p85"))


def test_percentile_bands_drift_without_batch_norm_and_stay_with_it(digits):
    x, y = digits
    without, with_bn = _sigmoid_input_drift(x, y, False), _sigmoid_input_drift(x, y, True)
    assert without > 1.0
    assert with_bn < 0.75
    assert with_bn < without / 1.5


def test_dead_relu_and_saturation_fractions():
    net = gn.Sequential([gn.Dense(4), gn.ReLU(), gn.Dense(3), gn.Sigmoid(), gn.Dense(1)], input_dim=2)
    net.layers[0].W.value[:] = [[1, -1, 0, 1], [1, -1, 0, 1]]
    net.layers[0].b.value[:] = [0, -5, -1, 0]  # unit 1 and 2 can never be positive for x ≥ 0
    net.layers[2].W.value[:] = 100.0  # pushes the sigmoid far into saturation
    x = np.random.default_rng(0).uniform(0, 1, size=(64, 2)).astype(np.float32)
    history = gn.fit(net, x, np.zeros(64), epochs=1, lr=1e-9, callbacks=[Diagnostics()])
    acts = history.diagnostics["activations"]
    assert acts["relu_1"]["dead_fraction"][0] == pytest.approx(0.5)
    assert acts["sigmoid_1"]["saturated_fraction"][0] == pytest.approx(1.0)


def test_batch_norm_statistics_recorded(digits):
    x, y = digits
    net = gn.mlp([16, 16], 10, batch_norm=True, output_activation="softmax")
    history = gn.fit(net, x, y, epochs=3, lr=0.1)
    bn = history.diagnostics["batch_norm"]["batch_norm_1"]
    assert len(bn["gamma"]) == 4 and len(bn["running_var"][0]) == 16  # before training + 3 epochs
    assert bn["running_mean"][0] != bn["running_mean"][-1]


def test_linear_block_report():
    with pytest.warns(gn.LinearCollapseWarning):
        net = gn.Sequential(
            [gn.Dense(8), gn.Dense(8), gn.BatchNorm(), gn.Dense(4), gn.ReLU(), gn.Dense(2)], input_dim=5
        )
    blocks = linear_block_report(net)
    assert [b.redundant for b in blocks] == [True, False]
    assert blocks[0].dense_layers == ["dense_1", "dense_2", "dense_3"]
    assert "these 3 layers add no expressive power" in blocks[0].statement()
    assert (blocks[0].input_dim, blocks[0].output_dim) == (5, 4)


@pytest.fixture(scope="module")
def three_of_twenty():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 20)).astype(np.float32)
    y = 2 * x[:, 3] + np.sin(2 * x[:, 11]) * 2 + x[:, 17] * np.abs(x[:, 17])
    net = gn.mlp([64, 64], 1, seed=0)
    gn.fit(net, x, y, epochs=40, batch_size=64, optimizer="adam", lr=3e-3)
    return net, x, y


def test_all_three_attribution_methods_find_the_three_driving_features(three_of_twenty):
    net, x, y = three_of_twenty
    truth = {3, 11, 17}
    assert set(np.argsort(-np.abs(saliency(net, x[:500])).mean(axis=0))[:3]) == truth
    assert set(np.argsort(-np.abs(integrated_gradients(net, x[:500], baseline="mean")).mean(axis=0))[:3]) == truth
    mean, _ = permutation_importance(net, x[:500], y[:500], n_repeats=3)
    assert set(np.argsort(-mean)[:3]) == truth
    table = feature_importance(net, x[:300], y[:300], feature_names=[f"f{i}" for i in range(20)])
    assert set(table["feature"][:3]) == {"f3", "f11", "f17"}


def test_integrated_gradients_completeness(three_of_twenty):
    net, x, _ = three_of_twenty
    rows = x[:20]
    attributions = integrated_gradients(net.astype(np.float64), rows.astype(np.float64), steps=256)
    difference = net.predict(rows).ravel() - net.predict(np.zeros_like(rows)).ravel()
    assert np.allclose(attributions.sum(axis=1), difference, rtol=0.02, atol=0.02)


def test_classifier_saliency_and_image_map(digits, tmp_path):
    x, y = digits
    net = gn.mlp([32, 32], 10, output_activation="softmax")
    gn.fit(net, x, y, epochs=3, lr=0.1)
    maps = saliency(net, x[:10], target=y[:10])
    assert maps.shape == (10, 64)
    figure = gn.plots.plot_importance_map(maps, (8, 8))
    assert gn.plots.save_figure(figure, tmp_path / "map.png").stat().st_size > 1000


def test_every_plot_renders_to_png_and_svg(digits, tmp_path):
    x, y = digits
    net = gn.mlp([32, 32], 10, batch_norm=True, output_activation="softmax")
    history = gn.fit(net, x, y, epochs=4, lr=0.1, validation_split=0.2)
    plots = gn.plots
    predictions = net.predict(x).argmax(axis=1)
    table = feature_importance(net, x[:100], y[:100])
    figures = {
        "curves": plots.plot_learning_curves(history),
        "flow": plots.plot_gradient_flow(history),
        "percentiles": plots.plot_percentiles(history),
        "saturation": plots.plot_saturation(history),
        "bn": plots.plot_batch_norm(history),
        "confusion": plots.plot_confusion_matrix(y, predictions, list(range(10))),
        "residuals": plots.plot_residuals(np.arange(10.0), np.arange(10.0) + 0.1),
        "importance": plots.plot_feature_importance(table),
    }
    for name in ("flow", "saturation"):  # no series hides another: each layer its own style, narrower on top
        lines = figures[name].axes[0].get_lines()
        assert len({line.get_linestyle() for line in lines}) == len(lines) >= 2
        assert [line.get_linewidth() for line in lines] == sorted(
            (line.get_linewidth() for line in lines), reverse=True
        )
    for name, figure in figures.items():
        for suffix in (".png", ".svg"):
            assert plots.save_figure(figure, tmp_path / f"{name}{suffix}").stat().st_size > 1000
    with pytest.raises(ValueError, match=".png or .svg"):
        plots.save_figure(figures["curves"], tmp_path / "x.jpg")


def test_an_update_larger_than_the_weights_counts_as_exploding_only_over_few_steps():
    """Over an epoch of 10,000 steps a healthy Adam run moves a layer by several times its weights
    (updates add up like a random walk); over 50 steps that is an explosion."""
    from types import SimpleNamespace

    norms = {"dense_1": [1.0, 1.0], "dense_2": [1.0, 1.0], "dense_3": [1.0, 1.0]}

    def verdict(steps_per_epoch):
        diagnostics = {"step": [0, steps_per_epoch, 2 * steps_per_epoch], "update_ratio": {"dense_1": [0.0, 3.0, 3.0]}}
        return gradient_verdict(SimpleNamespace(grad_norms=norms, epochs=[1, 2], diagnostics=diagnostics))

    assert not verdict(10_000).exploding and "healthy" in verdict(10_000).summary()
    assert verdict(50).exploding and verdict(50).since_epoch == 1
