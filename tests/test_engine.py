"""Core engine behaviour: collapse, dtype, determinism, batch norm edge cases, loss stability."""

import warnings

import numpy as np
import pytest

import glassnet as gn


def test_three_layer_linear_network_equals_its_collapsed_affine_map(rng):
    with pytest.warns(gn.LinearCollapseWarning, match="no more expressive power"):
        net = gn.Sequential(
            [gn.Dense(6), gn.Linear(), gn.Dense(5), gn.BatchNorm(), gn.Dropout(0.3), gn.Dense(3)],
            input_dim=4,
            dtype=np.float64,
            seed=1,
        )
    bn = net.layers[3]
    bn.running_mean[:] = rng.normal(size=5)
    bn.running_var[:] = rng.uniform(0.5, 2.0, size=5)
    bn.gamma.value[:] = rng.uniform(0.5, 1.5, size=5)
    single = net.collapse()
    assert isinstance(single, gn.Dense) and single.W.shape == (4, 3)
    x = rng.normal(size=(50, 4))
    assert np.max(np.abs(net.predict(x) - single.forward(x))) < 1e-12


def test_collapse_of_scalar_stack_is_c_cubed():
    # The seed's example: f(x) = c·x applied three times is c³·x.
    layers = [gn.Dense(1, use_bias=False) for _ in range(3)]
    with pytest.warns(gn.LinearCollapseWarning):
        net = gn.Sequential(layers, input_dim=1, dtype=np.float64)
    for layer in layers:
        layer.W.value[:] = 1.7
    assert net.collapse().W.value[0, 0] == pytest.approx(1.7**3)


def test_collapse_of_a_linear_classifier_gives_its_logits(rng):
    with pytest.warns(gn.LinearCollapseWarning):
        net = gn.mlp([6, 5], 3, activation="linear", output_activation="softmax", input_dim=4, dtype=np.float64)
    with pytest.raises(ValueError, match="logits=True"):
        net.collapse()
    x = rng.normal(size=(20, 4))
    assert np.max(np.abs(net.collapse(logits=True).forward(x) - net.logits(x))) < 1e-12


def test_collapse_refuses_non_linear_network():
    net = gn.mlp([4, 4], 2, activation="relu", input_dim=3)
    with pytest.raises(ValueError, match="relu_1.*non-linear"):
        net.collapse()


def test_no_warning_when_every_hidden_layer_is_non_linear():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gn.mlp([8, 8, 8], 2, activation="tanh", batch_norm=True, input_dim=3)


def test_float32_by_default_and_never_upcast(rng):
    net = gn.mlp([8, 8], 3, batch_norm=True, dropout=0.1, output_activation="softmax")
    gn.fit(net, rng.normal(size=(64, 5)), rng.integers(0, 3, 64), epochs=2, optimizer="adam")
    arrays = [p.value for p in net.parameters()] + [p.grad for p in net.parameters()]
    arrays += list(net.buffers().values())
    assert all(a.dtype == np.float32 for a in arrays)
    assert net.predict(rng.normal(size=(3, 5))).dtype == np.float32
    with pytest.raises(TypeError, match="never casts"):
        net.layers[0].forward(np.zeros((2, 5)))  # float64 into a float32 layer


def test_float64_on_request(rng):
    net = gn.mlp([8], 1, input_dim=3, dtype=np.float64)
    gn.fit(net, rng.normal(size=(32, 3)), rng.normal(size=32), epochs=1)
    assert all(p.value.dtype == np.float64 for p in net.parameters())


def _train(seed_net, seed_fit):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 6)), rng.integers(0, 3, 200)
    net = gn.mlp([16, 16], 3, batch_norm=True, dropout=0.2, output_activation="softmax", seed=seed_net)
    gn.fit(net, x, y, epochs=3, batch_size=16, lr=0.05, momentum=0.9, validation_split=0.2, seed=seed_fit)
    return net.state_dict()


def test_same_seed_gives_bit_identical_weights():
    first, second = _train(1, 2), _train(1, 2)
    assert all(np.array_equal(first[k], second[k]) for k in first)
    other = _train(1, 3)
    assert any(not np.array_equal(first[k], other[k]) for k in first)


def test_initialisation_follows_activation():
    relu = gn.mlp([400], 2, activation="relu", input_dim=400, seed=0)
    tanh = gn.mlp([400], 2, activation="tanh", input_dim=400, seed=0)
    assert relu.layers[0].resolved_init == "he_normal"
    assert tanh.layers[0].resolved_init == "glorot_uniform"
    assert np.std(relu.layers[0].W.value) == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    assert np.std(tanh.layers[0].W.value) == pytest.approx(np.sqrt(2 / 800), rel=0.05)
    custom = gn.Sequential([gn.Dense(50, init="normal", init_scale=0.01), gn.Sigmoid()], input_dim=50)
    assert np.std(custom.layers[0].W.value) == pytest.approx(0.01, rel=0.1)


def test_batchnorm_batch_of_one_row_is_finite_and_documented(rng):
    net = gn.mlp([4, 4], 2, batch_norm=True, output_activation="softmax", input_dim=3)
    before = {k: v.copy() for k, v in net.buffers().items()}
    with pytest.warns(RuntimeWarning, match="batch of 1 row"):
        loss, correct = net.train_step(
            rng.normal(size=(1, 3)).astype(np.float32), np.array([1]), gn.SoftmaxCrossEntropy()
        )
    assert np.isfinite(loss) and correct in (0, 1)
    assert all(np.isfinite(p.grad).all() for p in net.parameters())
    assert any(np.abs(p.grad).sum() > 0 for p in net.parameters() if p.name.endswith(".W"))
    assert all(np.array_equal(before[k], v) for k, v in net.buffers().items())
    # and a fit whose last batch has a single row
    gn.fit(net, rng.normal(size=(33, 3)), rng.integers(0, 2, 33), epochs=1, batch_size=32)


def test_batchnorm_inference_uses_running_statistics(rng):
    bn = gn.BatchNorm(momentum=1.0)
    bn.build(3, np.dtype(np.float64), rng)
    x = rng.normal(4.0, 3.0, size=(500, 3))
    bn.forward(x, training=True)
    assert np.allclose(bn.running_mean, x.mean(axis=0))
    assert np.allclose(bn.running_var, x.var(axis=0, ddof=1))
    single = bn.forward(x[:1], training=False).copy()
    assert np.allclose(single, (x[:1] - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5))


@pytest.mark.parametrize("z", [1e4, -1e4, 500.0, -500.0])
def test_binary_cross_entropy_is_stable_for_huge_logits(z):
    loss = gn.BinaryCrossEntropy()
    logits = np.array([[z], [z]])
    value = loss.forward(logits, np.array([[1.0], [0.0]]))
    assert np.isfinite(value) and value == pytest.approx(abs(z) / 2, rel=1e-6)
    grad = loss.backward()
    assert np.all(np.isfinite(grad))
    assert np.allclose(np.abs(grad).max(), 0.5, atol=1e-6)


def test_softmax_cross_entropy_is_stable_and_reduces_over_batch():
    loss = gn.SoftmaxCrossEntropy()
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]])
    value = loss.forward(logits, np.array([0, 2]))
    assert value == pytest.approx((0.0 + np.log(3)) / 2)
    assert np.all(np.isfinite(loss.backward()))
    # mean over the batch: duplicating rows does not change the loss
    assert gn.SoftmaxCrossEntropy().forward(np.vstack([logits, logits]), np.array([0, 2, 0, 2])) == pytest.approx(value)


def test_mse_reduction():
    loss = gn.MeanSquaredError()
    assert loss.forward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))) == pytest.approx(30 / 4)


def test_parameters_are_exposed_with_names_values_and_grads(rng):
    net = gn.mlp([5, 4], 3, batch_norm=True, input_dim=2, output_activation="softmax")
    names = [p.name for p in net.parameters()]
    assert names == [
        "dense_1.W",
        "batch_norm_1.gamma",
        "batch_norm_1.beta",
        "dense_2.W",
        "batch_norm_2.gamma",
        "batch_norm_2.beta",
        "dense_3.W",
        "dense_3.b",
    ]
    net.train_step(rng.normal(size=(4, 2)).astype(np.float32), np.array([0, 1, 2, 0]), gn.SoftmaxCrossEntropy())
    assert all(p.grad.shape == p.value.shape and np.any(p.grad != 0) for p in net.parameters())


def test_optimizer_updates_in_place_and_keeps_references(rng):
    net = gn.mlp([5], 2, input_dim=3)
    weights = net.layers[0].W.value
    optimizer = gn.SGD(net.parameters(), lr=0.1, momentum=0.9)
    before = weights.copy()
    net.train_step(
        rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 2)).astype(np.float32), gn.MeanSquaredError()
    )
    optimizer.step()
    assert net.layers[0].W.value is weights and not np.array_equal(weights, before)


def test_optimizer_on_loose_parameters(rng):
    # Parameters not from one network still work (one segment per parameter).
    p = gn.Parameter(np.ones(3), "p")
    q = gn.Parameter(np.ones(2), "q", regularize=False)
    p.grad[:] = 1.0
    q.grad[:] = 2.0
    gn.SGD([p, q], lr=0.5, weight_decay=1.0).step()
    assert np.allclose(p.value, 1 - 0.5 * (1 + 1)) and np.allclose(q.value, 1 - 0.5 * 2)


def test_gradients_accumulate_across_backward_calls(rng):
    net = gn.Sequential([gn.Dense(3), gn.Tanh(), gn.Dense(2)], input_dim=4, dtype=np.float64)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    net.zero_grad()
    net.forward(x, training=True)
    net.backward(g)
    once = [p.grad.copy() for p in net.parameters()]
    net.forward(x, training=True)
    net.backward(g)
    assert all(np.allclose(p.grad, 2 * o) for p, o in zip(net.parameters(), once))


def test_per_epoch_shuffle_changes_order_and_is_reproducible():
    from glassnet.data import minibatch_indices

    def orders(seed):
        rng = np.random.default_rng(seed)
        return [np.concatenate(list(minibatch_indices(50, 8, rng))) for _ in range(3)]

    first, again = orders(5), orders(5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert all(sorted(order) == list(range(50)) for order in first)
