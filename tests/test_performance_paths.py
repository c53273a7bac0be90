"""The optimized engine: no large allocations per step, and the same results as a plain reference."""

import importlib.util
import tracemalloc

import numpy as np
import pytest

import glassnet as gn
from glassnet import kernels

#: Both kernel backends: NumPy always, the compiled one where numba (the [fast] extra) is installed.
BACKENDS = [
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("numba") is None, reason="numba (the optional [fast] extra) is not installed"
        ),
    ),
]


class AllocationProbe(gn.Callback):
    """Measures traced memory between step 10 and step 110 of training."""

    def __init__(self):
        self.baseline = self.peak = self.current = None

    def on_batch_end(self, batch, logs=None):
        if batch == 10:
            tracemalloc.reset_peak()
            self.baseline = tracemalloc.get_traced_memory()[0]
        elif batch == 110:
            self.current, self.peak = tracemalloc.get_traced_memory()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_steady_state_training_allocates_no_large_arrays(optimizer, backend):
    with kernels.use(backend):
        _check_allocations(optimizer)


def _check_allocations(optimizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128 * 120, 256)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    net = gn.mlp([512, 512], 10, batch_norm=True, dropout=0.1, output_activation="softmax", input_dim=256)
    probe = AllocationProbe()
    tracemalloc.start()
    try:
        gn.fit(
            net,
            x,
            y,
            epochs=1,
            batch_size=128,
            optimizer=optimizer,
            momentum=0.9 if optimizer == "sgd" else None,
            callbacks=[probe],
        )
    finally:
        tracemalloc.stop()
    # One activation of this network is 128 × 512 × 4 bytes = 256 KiB; over 100 steps the peak must
    # not rise by even a quarter of that, and nothing may accumulate.
    assert probe.peak - probe.baseline < 64 * 1024, probe.peak - probe.baseline
    assert probe.current - probe.baseline < 16 * 1024, probe.current - probe.baseline


def reference_training(weights, biases, x, y, lr, momentum, steps, batch):
    """Plain float64 NumPy, fresh arrays everywhere: Dense-ReLU-Dense-ReLU-Dense, softmax CE, SGD momentum."""
    weights = [w.astype(np.float64).copy() for w in weights]
    biases = [b.astype(np.float64).copy() for b in biases]
    velocity_w = [np.zeros_like(w) for w in weights]
    velocity_b = [np.zeros_like(b) for b in biases]
    for step in range(steps):
        xb, yb = x[step * batch : (step + 1) * batch].astype(np.float64), y[step * batch : (step + 1) * batch]
        activations, pre = [xb], []
        for i, (w, b) in enumerate(zip(weights, biases)):
            z = activations[-1] @ w + b
            pre.append(z)
            activations.append(np.maximum(z, 0) if i < len(weights) - 1 else z)
        logits = activations[-1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = p.copy()
        grad[np.arange(len(yb)), yb] -= 1
        grad /= len(yb)
        for i in reversed(range(len(weights))):
            grad_w = activations[i].T @ grad
            grad_b = grad.sum(axis=0)
            if i > 0:
                grad = (grad @ weights[i].T) * (pre[i - 1] > 0)
            velocity_w[i] = momentum * velocity_w[i] + grad_w
            velocity_b[i] = momentum * velocity_b[i] + grad_b
            weights[i] -= lr * velocity_w[i]
            biases[i] -= lr * velocity_b[i]
    return weights, biases


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_optimized_engine_matches_plain_reference(dtype, tolerance, backend):
    with kernels.use(backend):
        _check_against_reference(dtype, tolerance)


def _check_against_reference(dtype, tolerance):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(640, 30))
    y = rng.integers(0, 5, 640)
    net = gn.mlp([40, 20], 5, output_activation="softmax", input_dim=30, dtype=dtype, seed=2)
    dense = [layer for layer in net.layers if isinstance(layer, gn.Dense)]
    start_w = [layer.W.value.copy() for layer in dense]
    start_b = [layer.b.value.copy() for layer in dense]
    optimizer = gn.SGD(net.parameters(), lr=0.1, momentum=0.9)
    gn.fit(net, x, y, epochs=1, batch_size=32, optimizer=optimizer, shuffle=False)
    ref_w, ref_b = reference_training(start_w, start_b, x, y, 0.1, 0.9, steps=20, batch=32)
    for layer, w, b in zip(dense, ref_w, ref_b):
        assert np.max(np.abs(layer.W.value - w)) < tolerance
        assert np.max(np.abs(layer.b.value - b)) < tolerance
