"""Every layer and loss against central finite differences in float64 (relative error < 1e-6)."""

import numpy as np
import pytest

import glassnet as gn

TOL = 1e-6

LAYERS = [
    lambda: gn.Dense(5),
    lambda: gn.Dense(5, use_bias=False),
    lambda: gn.BatchNorm(),
    lambda: gn.ReLU(),
    lambda: gn.LeakyReLU(0.1),
    lambda: gn.Sigmoid(),
    lambda: gn.Tanh(),
    lambda: gn.Linear(),
    lambda: gn.Softmax(),
    lambda: gn.Dropout(0.3),
]


@pytest.mark.parametrize("make_layer", LAYERS, ids=lambda f: repr(f()))
@pytest.mark.parametrize("training", [True, False])
def test_each_layer_matches_finite_differences(make_layer, training, rng):
    layer = make_layer()
    layer.build(4, np.dtype(np.float64), np.random.default_rng(0))
    if isinstance(layer, gn.BatchNorm):  # non-trivial running statistics and affine parameters
        layer.running_mean[:] = rng.normal(size=4)
        layer.running_var[:] = rng.uniform(0.5, 2, size=4)
        layer.gamma.value[:] = rng.uniform(0.5, 1.5, size=4)
        layer.beta.value[:] = rng.normal(size=4)
    x = rng.normal(size=(7, 4))
    result = gn.gradcheck(layer, x, training=training)
    assert result.passed(TOL), str(result)
    assert "input" in result.errors


@pytest.mark.parametrize(
    "loss, make_target",
    [
        ("mse", lambda rng, n: rng.normal(size=(n, 3))),
        ("binary_cross_entropy", lambda rng, n: (rng.random((n, 3)) > 0.5).astype(float)),
        ("cross_entropy", lambda rng, n: rng.integers(0, 3, size=n)),
        ("cross_entropy", lambda rng, n: rng.dirichlet(np.ones(3), size=n)),  # soft targets
        (gn.SoftmaxCrossEntropy(label_smoothing=0.1), lambda rng, n: rng.integers(0, 3, size=n)),
        (gn.SoftmaxCrossEntropy(label_smoothing=0.2), lambda rng, n: rng.dirichlet(np.ones(3), size=n)),
    ],
)
def test_each_loss_matches_finite_differences(loss, make_target, rng):
    net = gn.Sequential([gn.Dense(3)], input_dim=4, dtype=np.float64)
    x = rng.normal(size=(6, 4))
    result = gn.gradcheck(net, x, make_target(rng, 6), loss)
    assert result.passed(TOL), str(result)


def test_losses_with_sample_weight_match_finite_differences(rng):
    x = rng.normal(size=(6, 3))
    weights = rng.uniform(0.1, 2.0, size=6)
    for loss_cls, target in [
        (gn.MeanSquaredError, rng.normal(size=(6, 2))),
        (gn.BinaryCrossEntropy, (rng.random((6, 2)) > 0.5).astype(float)),
        (gn.SoftmaxCrossEntropy, rng.integers(0, 2, size=6)),
        (lambda: gn.SoftmaxCrossEntropy(label_smoothing=0.1), rng.integers(0, 2, size=6)),
    ]:
        z = x[:, :2].copy()
        loss = loss_cls()
        loss.forward(z, target, weights)
        analytic = loss.backward().copy()
        numeric = np.zeros_like(z)
        for index in np.ndindex(z.shape):
            for sign in (1, -1):
                z[index] += sign * 1e-6
                numeric[index] += sign * loss_cls().forward(z, target, weights) / 2e-6
                z[index] -= sign * 1e-6
        assert np.allclose(analytic, numeric, atol=1e-8), repr(loss)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_deep_mixed_network_with_batchnorm_and_dropout(activation, rng):
    net = gn.mlp(
        [8, 7, 6, 5],
        4,
        activation=activation,
        batch_norm=True,
        dropout=0.25,
        output_activation="softmax",
        input_dim=5,
        dtype=np.float64,
        seed=3,
    )
    x = rng.normal(size=(10, 5))
    y = rng.integers(0, 4, size=10)
    result = gn.gradcheck(net, x, y, "cross_entropy", training=True)
    assert result.passed(TOL), str(result)
    assert len(result.errors) == len(net.parameters()) + 1


def test_network_with_standalone_softmax_backward_and_mse(rng):
    # Softmax not fused (MSE on probabilities) exercises the full softmax Jacobian.
    net = gn.Sequential(
        [gn.Dense(6), gn.Tanh(), gn.Dense(6), gn.BatchNorm(), gn.ReLU(), gn.Dense(3), gn.Softmax()],
        input_dim=4,
        dtype=np.float64,
    )
    x = rng.normal(size=(8, 4))
    result = gn.gradcheck(net, x, rng.dirichlet(np.ones(3), size=8), "mse")
    assert result.passed(TOL), str(result)


def test_gradcheck_detects_a_wrong_backward(rng):
    class BrokenTanh(gn.Tanh):
        def backward(self, grad_output):
            return super().backward(grad_output) * 1.01

    net = gn.Sequential([gn.Dense(4), BrokenTanh(), gn.Dense(2)], input_dim=3, dtype=np.float64)
    result = gn.gradcheck(net, rng.normal(size=(5, 3)))
    assert not result.passed(TOL)


def test_gradcheck_refuses_float32():
    net = gn.mlp([4], 2, input_dim=3)
    with pytest.raises(ValueError, match="float64"):
        gn.gradcheck(net, np.zeros((2, 3)))
