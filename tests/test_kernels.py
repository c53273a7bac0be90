"""The compiled kernels (numba, the optional [fast] extra) against the NumPy reference code."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels
from glassnet.kernels.plan import TrainingPlan

numba = pytest.importorskip("numba", reason="numba (the optional [fast] extra) is not installed")


def _segment_update(make_optimizer, dtype, backend, steps=5):
    """Run a few optimizer steps on a two-parameter flat store; return values and state. The
    learning rate halves after the third step, as a schedule would change it."""
    rng = np.random.default_rng(0)
    net = gn.Sequential([gn.Dense(7), gn.ReLU(), gn.Dense(3)], input_dim=5, dtype=dtype, seed=0)
    optimizer = make_optimizer(net.parameters())
    with kernels.use(backend):
        for _ in range(steps):
            for p in net.parameters():
                p.grad[...] = rng.normal(size=p.shape).astype(dtype)
            optimizer.step()
            if optimizer.iterations == 3:  # the compiled path caches its scalars: they must follow
                optimizer.lr /= 2
    return [p.value.copy() for p in net.parameters()], optimizer.state_dict()


OPTIMIZERS = {
    "sgd": lambda params: gn.SGD(params, lr=0.1),
    "sgd-decay": lambda params: gn.SGD(params, lr=0.1, weight_decay=0.01),
    "momentum": lambda params: gn.SGD(params, lr=0.05, momentum=0.9),
    "nesterov-decay": lambda params: gn.SGD(params, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
    "adam": lambda params: gn.Adam(params, lr=0.01),
    "adam-l2": lambda params: gn.Adam(params, lr=0.01, weight_decay=0.1),
    "adamw": lambda params: gn.AdamW(params, lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_updates_give_bit_identical_weights(name, dtype):
    reference, ref_state = _segment_update(OPTIMIZERS[name], dtype, "numpy")
    compiled, state = _segment_update(OPTIMIZERS[name], dtype, "numba")
    for a, b in zip(reference, compiled):
        np.testing.assert_array_equal(a, b)
    for key in ("velocity", "m", "v"):
        if key in ref_state["state"][0]:
            np.testing.assert_array_equal(ref_state["state"][0][key], state["state"][0][key])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_kernel_matches_numpy(dtype):
    rng = np.random.default_rng(1)
    z = (rng.normal(size=(64, 10)) * 20).astype(dtype)  # large logits: the max-shift matters
    y = rng.integers(0, 10, 64)
    results = {}
    for backend in ("numpy", "numba"):
        loss = gn.losses.SoftmaxCrossEntropy()
        with kernels.use(backend):
            value = loss.forward(z, y)
            results[backend] = value, loss.backward().copy(), loss.n_correct
    (ref_value, ref_grad, ref_correct), (value, grad, correct) = results["numpy"], results["numba"]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(ref_value, rel=tolerance)
    np.testing.assert_allclose(grad, ref_grad, rtol=tolerance, atol=tolerance / 100)
    assert ref_correct is None
    assert correct == int(np.count_nonzero(z.argmax(axis=1) == y))


def test_softmax_cross_entropy_kernel_rejects_a_bad_label():
    loss = gn.losses.SoftmaxCrossEntropy()
    z = np.zeros((4, 3), dtype=np.float32)
    with kernels.use("numba"), pytest.raises(ValueError, match=r"y_true\[2\] = 3 is not a class index in \[0, 3\)"):
        loss.forward(z, np.array([0, 1, 3, 2]))


def test_dense_bias_gradient_kernel_matches_numpy():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(37, 11)).astype(np.float32)
    grad = rng.normal(size=(37, 6)).astype(np.float32) * 1e3
    grads = {}
    for backend in ("numpy", "numba"):
        layer = gn.Dense(6)
        layer.build(11, np.float32, np.random.default_rng(0))
        with kernels.use(backend):
            layer.forward(x, training=True)
            layer.backward(grad)
        grads[backend] = layer.b.grad.copy(), layer.W.grad.copy()
    np.testing.assert_array_equal(grads["numpy"][0], grads["numba"][0])
    np.testing.assert_array_equal(grads["numpy"][1], grads["numba"][1])


def test_relu_kernel_matches_numpy():
    x = np.random.default_rng(2).normal(size=(33, 17)).astype(np.float32)
    x[0, :4] = [0.0, -0.0, np.nan, np.inf]
    outputs = {}
    for backend in ("numpy", "numba"):
        layer = gn.ReLU()
        layer.build(17, np.float32, np.random.default_rng(0))
        with kernels.use(backend):
            out = layer.forward(x, training=True).copy()
            grad = layer.backward(np.ones_like(x)).copy()
        outputs[backend] = out, grad
    np.testing.assert_array_equal(outputs["numpy"][0], outputs["numba"][0])
    np.testing.assert_array_equal(outputs["numpy"][1], outputs["numba"][1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 2, 45])
def test_batch_norm_kernels_match_numpy(dtype, rows):
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(rows, 13)) * 4 + 2).astype(dtype)
    grad = rng.normal(size=(rows, 13)).astype(dtype)
    gamma = rng.uniform(0.5, 2, 13)
    results = {}
    for backend in ("numpy", "numba"):
        layer = gn.BatchNorm(momentum=0.2)
        layer.build(13, np.dtype(dtype), np.random.default_rng(0))
        layer.gamma.value[...] = gamma
        with kernels.use(backend), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # one row: the running statistics are used
            outs = [layer.forward(x, training=True).copy(), layer.forward(x * 2, training=True).copy()]
            grad_input = layer.backward(grad).copy()
            layer.backward(grad)  # accumulates onto the first gradients
        results[backend] = [*outs, grad_input, layer.gamma.grad, layer.beta.grad, layer.running_mean, layer.running_var]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for got, want in zip(results["numba"], results["numpy"]):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


ARCHITECTURES = {
    "relu-softmax": lambda: gn.mlp([16, 8], 4, output_activation="softmax", input_dim=12, seed=1),
    "tanh-regression": lambda: gn.mlp([16, 16], 2, activation="tanh", input_dim=12, seed=1),
    "sigmoid-bn-dropout": lambda: gn.mlp(
        [16, 8],
        1,
        activation="sigmoid",
        batch_norm=True,
        dropout=0.3,
        output_activation="sigmoid",
        input_dim=12,
        seed=1,
    ),
    "leaky-no-bias": lambda: gn.Sequential(
        [gn.Dense(9, use_bias=False), gn.LeakyReLU(0.2), gn.Dense(3)], input_dim=12, seed=1
    ),
    "float64": lambda: gn.mlp([16], 3, output_activation="softmax", input_dim=12, dtype=np.float64, seed=1),
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_compiled_inference_matches_numpy(name):
    net = ARCHITECTURES[name]()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 12)).astype(net.dtype)
    if any(isinstance(layer, gn.BatchNorm) for layer in net.layers):  # non-trivial running statistics
        _train_a_little(net, x)
    tolerance = 1e-5 if net.dtype == np.float32 else 1e-12
    for rows in (1, 5, 16):
        with kernels.use("numpy"):
            expected, expected_logits = net.predict(x[:rows]), net.logits(x[:rows])
        with kernels.use("numba"):
            got, got_logits = net.predict(x[:rows]), net.logits(x[:rows])
        assert net._plans.get(None), "the compiled plan was not used"
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(got_logits, expected_logits, rtol=tolerance, atol=tolerance)


def _train_a_little(net, x):
    y = (x[:, 0] > 0).astype(int)
    gn.fit(net, x, y, epochs=2, batch_size=32, loss="binary_cross_entropy", seed=0)


def test_compiled_inference_follows_weights_changed_in_place():
    net = gn.mlp([8], 3, output_activation="softmax", input_dim=4, seed=0)
    x = np.random.default_rng(4).normal(size=(1, 4)).astype(np.float32)
    with kernels.use("numba"):
        before = net.predict(x)
        other = gn.mlp([8], 3, output_activation="softmax", input_dim=4, seed=5)
        net.load_state_dict(other.state_dict())
        after = net.predict(x)
    with kernels.use("numpy"):
        np.testing.assert_allclose(after, other.predict(x), rtol=1e-6)
    assert not np.allclose(before, after)


def test_compiled_inference_is_thread_safe():
    from concurrent.futures import ThreadPoolExecutor

    net = gn.mlp([64, 64], 5, output_activation="softmax", input_dim=20, seed=0)
    rows = np.random.default_rng(6).normal(size=(400, 20)).astype(np.float32)
    with kernels.use("numpy"):
        expected = net.predict(rows)
    with kernels.use("numba"):
        net.predict(rows[:1])  # compile first
        with ThreadPoolExecutor(4) as pool:  # the kernel releases the GIL: calls really overlap
            got = list(pool.map(lambda i: net.predict(rows[i : i + 1]), range(len(rows))))
    np.testing.assert_allclose(np.vstack(got), expected, rtol=1e-5, atol=1e-6)


def test_unsupported_layer_order_falls_back_to_numpy():
    net = gn.Sequential([gn.BatchNorm(), gn.Dense(4), gn.ReLU(), gn.Dense(2)], input_dim=3, seed=0)
    x = np.ones((1, 3), dtype=np.float32)
    with kernels.use("numba"):
        got = net.predict(x)
    assert net._plans[None] is None
    with kernels.use("numpy"):
        np.testing.assert_array_equal(got, net.predict(x))


def test_training_with_either_backend_reaches_the_same_weights():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(512, 10)).astype(np.float32)
    y = (x[:, :3].sum(axis=1) > 0).astype(int) + (x[:, 3] > 1)
    weights = {}
    for backend in ("numpy", "numba"):
        net = gn.mlp([32, 16], 3, output_activation="softmax", input_dim=10, seed=3)
        with kernels.use(backend):
            history = gn.fit(net, x, y, epochs=3, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, seed=1)
        weights[backend] = np.concatenate([p.value.ravel() for p in net.parameters()]), history
    (ref, ref_history), (got, history) = weights["numpy"], weights["numba"]
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert history.history["accuracy"] == ref_history.history["accuracy"]
    np.testing.assert_allclose(history.history["loss"], ref_history.history["loss"], rtol=1e-5)


def test_backend_choice_and_errors():
    with kernels.use("numpy"):
        assert kernels.name() == "numpy" and kernels.active() is None
    with kernels.use("numba"):
        assert kernels.name() == "numba"
    with pytest.raises(ValueError, match="kernels must be one of"):
        kernels.set_backend("fortran")
    env = {**os.environ, "GLASSNET_KERNELS": "fortran"}
    completed = subprocess.run(
        [sys.executable, "-c", "import glassnet.kernels as k; k.active()"], capture_output=True, text=True, env=env
    )
    assert completed.returncode != 0 and "GLASSNET_KERNELS must be one of" in completed.stderr
    env["GLASSNET_KERNELS"] = "numpy"
    completed = subprocess.run(
        [sys.executable, "-c", "import glassnet, glassnet.kernels as k, sys; print(k.name(), 'numba' in sys.modules)"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert completed.stdout.split() == ["numpy", "False"]


def test_kernels_work_without_a_writable_cache():
    env = {**os.environ, "GLASSNET_KERNELS": "numba", "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator"}
    code = (
        # Dropout keeps this run off the compiled whole step, the slowest kernel to compile (the
        # fallback is the same _compile for every kernel).
        "import numpy as np, glassnet as gn; net = gn.mlp([4], 2, input_dim=3, dropout=0.1, output_activation='softmax'); "
        "gn.fit(net, np.ones((8, 3)), np.arange(8) % 2, epochs=1); print(gn.kernels.name(), "
        "net.predict(np.ones((1, 3))).shape)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["numba", "(1,", "2)"]


def test_importing_glassnet_does_not_import_numba():
    completed = subprocess.run(
        [sys.executable, "-c", "import glassnet, sys; print('numba' in sys.modules)"], capture_output=True, text=True
    )
    assert completed.stdout.strip() == "False"


def test_the_compiled_kernels_do_not_load_scipy():
    code = (
        "import sys, numpy as np, glassnet as gn; net = gn.mlp([4], 2, input_dim=3, output_activation='softmax'); "
        "gn.fit(net, np.ones((8, 3)), np.arange(8) % 2, epochs=1); net.predict(np.ones((1, 3))); "
        "print(gn.kernels.name(), 'scipy' in sys.modules); import scipy.linalg; print('scipy', scipy.__version__ > '')"
    )
    env = {**os.environ, "GLASSNET_KERNELS": "numba"}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["numba", "False", "scipy", "True"]  # and SciPy still imports afterwards


def _one_step(net, x, y, loss, fused):
    """One train_step through the compiled plan or, with the plan switched off, layer by layer."""
    stop = net.fused_output(loss)
    if not fused:
        net._training_plans[stop] = None  # as the network records an unsupported stack
    value, correct = net.train_step(x, y, loss)
    return value, correct, net._store.grads.copy()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("rows", [1, 7, 32])
def test_compiled_training_step_matches_the_layer_by_layer_step(activation, rows):
    rng = np.random.default_rng(rows)
    for sizes in ([64, 32, 32, 10], [5, 9, 11, 6, 4]):
        x = rng.normal(size=(rows, sizes[0])).astype(np.float32)
        y = rng.integers(0, sizes[-1], rows)
        results = []
        for fused in (True, False):
            net = gn.mlp(sizes[1:-1], sizes[-1], activation=activation, output_activation="softmax", input_dim=sizes[0])
            net.ensure_built(x)
            loss = gn.losses.SoftmaxCrossEntropy()
            results.append(_one_step(net, x, y, loss, fused))
            assert (net._training_plans[net.fused_output(loss)] is not None) == fused
        (value, correct, grads), (ref_value, ref_correct, ref_grads) = results
        assert correct == ref_correct
        assert value == pytest.approx(ref_value, rel=1e-5)
        np.testing.assert_allclose(grads, ref_grads, rtol=1e-4, atol=1e-6)


def test_compiled_training_step_without_intercepts_and_with_int32_labels():
    x = np.random.default_rng(0).normal(size=(9, 6)).astype(np.float32)
    y = (np.arange(9) % 3).astype(np.int32)
    results = []
    for fused in (True, False):
        net = gn.Sequential([gn.Dense(8, use_bias=False), gn.Tanh(), gn.Dense(3)], input_dim=6, seed=2)
        results.append(_one_step(net, x, y, gn.losses.SoftmaxCrossEntropy(), fused))
    assert results[0][:2] == pytest.approx(results[1][:2], rel=1e-5)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-4, atol=1e-6)


def test_the_compiled_training_step_is_used_only_where_it_applies():
    x = np.random.default_rng(0).normal(size=(16, 12)).astype(np.float32)
    y = np.arange(16) % 4
    cross_entropy = gn.losses.SoftmaxCrossEntropy()
    small = gn.mlp([16, 8], 4, output_activation="softmax", input_dim=12, seed=0)
    small.train_step(x, y, cross_entropy)
    assert small._training_plans[small.fused_output(cross_entropy)] is not None
    unsupported = {
        "batch norm": gn.mlp([16], 4, batch_norm=True, output_activation="softmax", input_dim=12, seed=0),
        "dropout": gn.mlp([16], 4, dropout=0.2, output_activation="softmax", input_dim=12, seed=0),
    }
    for name, net in unsupported.items():
        net.train_step(x, y, cross_entropy)
        assert net._training_plans[net.fused_output(cross_entropy)] is None, name
    # Label smoothing, sample weights and other losses take the layer-by-layer step.
    for loss, weights in [(gn.losses.SoftmaxCrossEntropy(label_smoothing=0.1), None), (cross_entropy, np.ones(16))]:
        net = gn.mlp([16, 8], 4, output_activation="softmax", input_dim=12, seed=0)
        net.train_step(x, y, loss, weights)
        assert net._training_plans == {}
    # A parameter given a new array (as a rebuilt store does) invalidates the plan.
    plan = small._training_plans[small.fused_output(cross_entropy)]
    small._flatten_parameters()
    small.train_step(x, y, cross_entropy)
    assert small._training_plans[small.fused_output(cross_entropy)] is not plan
    big = gn.mlp([256, 256], 4, output_activation="softmax", input_dim=12, seed=0)
    big.ensure_built(x)
    assert not TrainingPlan.build(big.layers[:-1]).suits(512)


def test_compiled_training_step_rejects_a_bad_label():
    net = gn.mlp([8], 3, output_activation="softmax", input_dim=4, seed=0)
    x = np.zeros((4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"y_true\[1\] = 5 is not a class index in \[0, 3\)"):
        net.train_step(x, np.array([0, 5, 1, 2]), gn.losses.SoftmaxCrossEntropy())


def test_compiled_training_step_checks_its_inputs():
    net = gn.mlp([8], 3, output_activation="softmax", input_dim=4, seed=0)
    loss = gn.losses.SoftmaxCrossEntropy()
    net.train_step(np.zeros((4, 4), dtype=np.float32), np.arange(4) % 3, loss)  # builds the plan
    assert net._training_plans[net.fused_output(loss)] is not None
    with pytest.raises(ValueError, match=r"expected input of shape \(n, 4\); got \(4, 3\)"):
        net.train_step(np.zeros((4, 3), dtype=np.float32), np.arange(4) % 3, loss)
    with pytest.raises(TypeError, match="expected float32 input, got float64"):
        net.train_step(np.zeros((4, 4)), np.arange(4) % 3, loss)
    with pytest.raises(ValueError, match=r"one class index per row, shape \(4,\); got \(3,\)"):
        net.train_step(np.zeros((4, 4), dtype=np.float32), np.arange(3), loss)
    strided = np.ones((4, 8), dtype=np.float32)[:, ::2]  # not contiguous: copied, not a new kernel
    value, correct = net.train_step(strided, np.arange(4) % 3, loss)
    assert np.isfinite(value) and 0 <= correct <= 4
