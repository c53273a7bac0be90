"""No subnormal slow path: training, model files and prediction never carry subnormal floats.

Subnormals appear where units never fire: their weights get only the L2 gradient, which Adam
normalizes into a geometric decay through the subnormal range (glassnet/floats.py). Here half the
first layer's units are made unable to fire, so the regime is reached in a few thousand steps; no
test here measures time.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels
from glassnet.floats import count_subnormals, flush_subnormals, flush_to_zero, flush_to_zero_supported
from glassnet.io.modelfile import load_model, save_model
from glassnet.losses import SoftmaxCrossEntropy
from glassnet.optim import make_optimizer

try:
    import numba  # noqa: F401

    HAVE_NUMBA = True
except ImportError:
    HAVE_NUMBA = False
BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed"))]


def _dead_unit_network(optimizer: str, epochs: int = 150):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    net = gn.mlp([64, 32], 2, output_activation="softmax", input_dim=8, seed=0)
    net.layers[0].b.value[:32] = -1e3  # these units can never fire: only the L2 gradient reaches them
    fitted = dict(optimizer=optimizer, lr=3e-3, weight_decay=0.01, epochs=epochs, batch_size=8, diagnostics=False)
    if optimizer == "sgd":
        fitted.update(lr=0.05, momentum=0.9)
    gn.fit(net, x, y, **fitted)
    return net


@pytest.mark.parametrize("backend", BACKENDS)
def test_weights_and_moments_of_units_that_never_fire_decay_to_zero_not_to_subnormals(backend):
    with kernels.use(backend):
        net = _dead_unit_network("adam")
    dead = net.layers[0].W.value[:, :32]
    # Without the flush, 266 of these weights (and 1,235 of the next layer's) end subnormal.
    assert np.abs(dead).max() < 1e-30  # the regime was reached: the weights decayed this far
    assert {p.name: count_subnormals(p.value) for p in net.parameters()} == {p.name: 0 for p in net.parameters()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_and_sgd_moments_hold_no_subnormals(backend):
    momentum = {"adam": {}, "sgd": {"momentum": 0.9}}
    with kernels.use(backend):
        for name in ("adam", "sgd"):
            net = gn.mlp([16], 2, output_activation="softmax", input_dim=4, seed=0)
            x = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
            y = (x[:, 0] > 0).astype(int)
            optimizer = make_optimizer(name, net.parameters(), lr=0.01, weight_decay=0.01, **momentum[name])
            net.train_step(x, y, SoftmaxCrossEntropy())
            optimizer.step()
            state = optimizer.state_dict()
            for buffer in state["state"][0].values():  # moments and velocities seeded with subnormals
                buffer[:5] = np.float32(1e-40)
            optimizer.load_state_dict(state)
            net.train_step(x, y, SoftmaxCrossEntropy())
            optimizer.step()
            for key, value in optimizer.state_dict()["state"][0].items():
                assert count_subnormals(value) == 0, (name, key)


def test_the_backends_flush_to_the_same_weights():
    if not HAVE_NUMBA:
        pytest.skip("numba is not installed")
    weights = {}
    for backend in ("numpy", "numba"):
        with kernels.use(backend):
            weights[backend] = _dead_unit_network("adam", epochs=40).state_dict()
    for name, value in weights["numpy"].items():
        np.testing.assert_allclose(weights["numba"][name], value, rtol=1e-5, atol=1e-6)


def test_model_files_and_predictions_carry_no_subnormals(tmp_path):
    net = gn.mlp([8], 1, input_dim=3, seed=0)
    net.layers[0].W.value[0, :4] = np.float32(1e-40)  # a network made by hand, with subnormal weights
    path = save_model(net, tmp_path / "model.glassnet")
    loaded = load_model(path).network
    assert all(count_subnormals(p.value) == 0 for p in loaded.parameters())
    state = {k: v.copy() for k, v in net.state_dict().items()}
    assert all(count_subnormals(v) == 0 for v in state.values())
    raw = {p.name: p.value.copy() for p in net.parameters()}
    raw["dense_1.W"][0, :4] = np.float32(1e-40)
    net.load_state_dict(raw)
    assert count_subnormals(net.layers[0].W.value) == 0


def test_flush_keeps_non_finite_values_and_normal_numbers():
    values = np.array([np.nan, np.inf, -np.inf, 1.2e-38, -2e-38, 1e-39, -1e-45, 0.0], dtype=np.float32)
    flushed = values.copy()
    flush_subnormals(flushed)
    assert np.isnan(flushed[0]) and np.isinf(flushed[1:3]).all()
    np.testing.assert_array_equal(flushed[3:5], values[3:5])  # 1.2e-38 and -2e-38 are normal: kept
    np.testing.assert_array_equal(flushed[5:], 0)


def test_the_flush_to_zero_mode_is_restored_after_training():
    underflow = np.float32(1e-30) * np.float32(1e-10)
    with flush_to_zero() as active:
        inside = np.float32(1e-30) * np.float32(1e-10)
    after = np.float32(1e-30) * np.float32(1e-10)
    assert active == flush_to_zero_supported()
    assert after == underflow != 0  # the caller's mode is back: subnormal results again
    if active:
        assert inside == 0


def test_units_whose_weights_decayed_away_are_counted_as_lost():
    from glassnet.diagnostics.units import describe_census, unit_census

    net = _dead_unit_network("adam", epochs=150)
    census = unit_census(net)
    assert census[0].units == 64 and census[0].decayed == 0  # decayed below 1e-30, not yet to zero
    net.layers[0].W.value[:, :32][np.abs(net.layers[0].W.value[:, :32]) < 1e-30] = 0
    census = unit_census(net)
    assert census[0].alive == 32 and "dense_1 32 of 64" in describe_census([net])
    assert "decayed to zero under the L2 penalty" in describe_census([net])
