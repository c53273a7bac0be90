"""One place per fact: an activation or an optimizer is one class, registered; everything else derives.

A toy activation (softsign) and a toy optimizer (sign descent) are registered here, in the test, not
edited into the package, and each goes end to end: built by name, trained, gradient-checked, saved,
loaded, resumed from a checkpoint, exported to ONNX and chosen from the command line. GELU and
RMSprop, added for real as one module each, are checked the same way and against PyTorch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import glassnet as gn
from glassnet.io.modelfile import load_model, save_model
from glassnet.layers import ACTIVATIONS, Activation, activation_names, register_activation
from glassnet.optim import OPTIMIZERS, Optimizer, optimizer_names, register_optimizer


class Softsign(Activation):
    """``x / (1 + |x|)``; f'(x) = 1 / (1 + |x|)²."""

    kind = "softsign"
    unit_rule = "saturated"
    saturation_bound = 3.0

    def forward(self, x, *, training=False):
        self.check_input(x)
        self._x = x.copy()
        self._mark_forward(x)
        return x / (1 + np.abs(x))

    def backward(self, grad_output):
        self._check_backward_ready(grad_output)
        return grad_output / (1 + np.abs(self._x)) ** 2

    def infer(self, x):
        return x / (1 + np.abs(x))

    def onnx(self, graph, x):
        return graph.emit("Softsign", [x], self.name)


class SignDescent(Optimizer):
    """``w ← w − lr · sign(m)``, with ``m`` a running mean of the gradient (its state, checkpointed)."""

    name = "signdescent"

    def __init__(self, params, lr=0.003, beta=0.9, weight_decay=0.0):
        super().__init__(params, lr)
        self.beta, self.weight_decay = beta, weight_decay

    def _update(self, segment, state):
        m = self._buffer(state, "m", segment.grad)
        m *= self.beta
        m += (1 - self.beta) * segment.grad
        segment.value -= self.lr * np.sign(m)


@pytest.fixture
def toys():
    """The toy activation and optimizer, registered for one test and removed after it."""
    register_activation(Softsign)
    register_optimizer(SignDescent)
    yield
    ACTIVATIONS.pop("softsign")
    OPTIMIZERS.pop("signdescent")


def _resumes_to_the_same_weights(tmp_path, optimizer: str, activation: str = "relu"):
    """Two epochs, a checkpoint, two more resumed: the weights of four epochs in one run."""
    x, y = _data()

    def run(epochs, **checkpointing):
        model = gn.mlp([8], 2, activation=activation, output_activation="softmax", input_dim=4, seed=1)
        gn.fit(model, x, y, optimizer=optimizer, epochs=epochs, batch_size=32, **checkpointing)
        return model

    whole = run(4)
    run(2, checkpoint=str(tmp_path / f"{optimizer}.ckpt"))
    resumed = run(4, checkpoint=str(tmp_path / f"{optimizer}.ckpt"), resume=True)
    for name, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value)
    return whole


def _data(rows=120, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    return x, (x[:, 0] - x[:, 1] > 0).astype(int)


def test_a_registered_activation_and_optimizer_go_end_to_end(toys, tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed (optional export extra)")
    import onnxruntime as ort

    assert "softsign" in activation_names(hidden=True) and "signdescent" in optimizer_names()
    x, y = _data()
    net = gn.mlp([8, 8], 2, activation="softsign", output_activation="softmax", input_dim=4, seed=0)
    assert [type(layer).__name__ for layer in net.layers].count("Softsign") == 2
    history = gn.fit(net, x, y, optimizer="signdescent", epochs=3, batch_size=32, validation_split=0.2)
    assert len(history) == 3 and np.isfinite(history.history["loss"]).all()
    assert history.diagnostics["activations"]["softsign_1"]["rule"] == "saturated"  # the monitor read the class
    assert gn.gradcheck(net.astype("float64"), x[:6].astype(np.float64), y[:6], "cross_entropy").passed()
    path = save_model(net, tmp_path / "toy.glassnet")
    np.testing.assert_array_equal(load_model(path).network.predict(x), net.predict(x))
    onnx_path = gn.export_onnx(net, tmp_path / "toy.onnx")
    got = ort.InferenceSession(str(onnx_path)).run(None, {"input": x})[0]
    assert np.max(np.abs(got - net.predict(x))) < 1e-5

    _resumes_to_the_same_weights(tmp_path, "signdescent", activation="softsign")  # the toy's state is checkpointed


def test_the_command_line_and_the_estimators_offer_what_is_registered(toys, tmp_path):
    from test_cli import glassnet

    x, y = _data(rows=200)
    frame = pd.DataFrame(x, columns=list("abcd")).assign(target=np.where(y == 1, "yes", "no"))
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "out"
    done = glassnet("train", tmp_path / "t.csv", "--target", "target", "--activation", "softsign",
                    "--optimizer", "signdescent", "--epochs", "2", "--folds", "2", "--no-baselines", "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Softsign" in load_model(out / "model.glassnet").network.summary()
    assert "signdescent" in glassnet("train", "--help").stdout and "softsign" in glassnet("train", "--help").stdout
    estimator = gn.DNNClassifier(hidden_layer_sizes=(6,), activation="softsign", solver="signdescent", max_iter=2)
    estimator.fit(x, y)
    assert estimator.score(x, y) > 0
    with pytest.raises(ValueError, match="activation"):
        gn.DNNClassifier(activation="no-such-thing").fit(x, y)


def test_a_taken_name_is_refused_and_an_activation_without_export_says_so(tmp_path):
    class Another(Activation):
        kind = "relu"

    with pytest.raises(ValueError, match="taken"):
        register_activation(Another)

    class Mute(Activation):
        kind = "mute_test"

        def forward(self, x, *, training=False):
            self._mark_forward(x)
            return x

        def infer(self, x):
            return x

    net = gn.Sequential([gn.Dense(3), Mute(), gn.Dense(2)], input_dim=2)
    net.build(2)
    pytest.importorskip("onnx", reason="onnx not installed (optional export extra)")
    with pytest.raises(ValueError, match="mute_test_1: Mute .*has no ONNX export"):
        gn.export_onnx(net, tmp_path / "m.onnx")


# -- GELU and RMSprop, one module each -------------------------------------------------------------
def test_gelu_matches_finite_differences_its_formula_and_onnx(tmp_path):
    x = np.linspace(-6, 6, 61).reshape(-1, 1)
    layer = gn.GELU()
    layer.build(1, np.dtype(np.float64), np.random.default_rng(0))
    t = np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))
    np.testing.assert_allclose(layer.forward(x), 0.5 * x * (1 + t), rtol=1e-12)
    np.testing.assert_allclose(layer.infer(x), 0.5 * x * (1 + t), rtol=1e-12)
    assert gn.gradcheck(layer, x).passed()
    rng = np.random.default_rng(0)
    net = gn.mlp([8, 8], 3, activation="gelu", output_activation="softmax", input_dim=4, seed=0)
    assert net.layers[0].resolved_init == "he_normal"  # the initialization GELU declares
    xs = rng.normal(size=(60, 4)).astype(np.float32)
    gn.fit(net, xs, np.arange(60) % 3, epochs=2)
    assert gn.gradcheck(net.astype("float64"), xs[:5].astype(np.float64), np.arange(5) % 3, "cross_entropy").passed()
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime not installed (optional export extra)")
    got = ort.InferenceSession(str(gn.export_onnx(net, tmp_path / "g.onnx"))).run(None, {"input": xs})[0]
    assert np.max(np.abs(got - net.predict(xs))) < 1e-5


def test_gelu_matches_pytorch():
    torch = pytest.importorskip("torch", reason="torch not installed (optional parity extra)")
    x = np.random.default_rng(1).normal(scale=3, size=(50, 7))
    layer = gn.GELU()
    layer.build(7, np.dtype(np.float64), np.random.default_rng(0))
    grad = np.random.default_rng(2).normal(size=x.shape)
    ours = layer.forward(x, training=True)
    ours_grad = layer.backward(grad)
    tx = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.gelu(tx, approximate="tanh")
    out.backward(torch.tensor(grad))
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_rmsprop_follows_its_formula_and_pytorch():
    net = gn.mlp([5], 2, input_dim=3, seed=0, dtype="float64")
    params = net.parameters()
    optimizer = gn.RMSprop(params, lr=0.01, alpha=0.9, weight_decay=0.1)
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(4)]
    start = [p.value.copy() for p in params]
    expected, square = [w.copy() for w in start], [np.zeros_like(w) for w in start]
    for step in grads:
        for p, g in zip(params, step):
            p.grad[...] = g
        optimizer.step()
        for k, (p, g) in enumerate(zip(params, step)):
            g = g + (0.1 * expected[k] if p.regularize else 0)
            square[k] = 0.9 * square[k] + 0.1 * g * g
            expected[k] = expected[k] - 0.01 * g / (np.sqrt(square[k]) + 1e-8)
    for p, value in zip(params, expected):
        np.testing.assert_allclose(p.value, value, rtol=1e-12)
    torch = pytest.importorskip("torch", reason="torch not installed (optional parity extra)")
    tensors = [torch.tensor(w, requires_grad=True) for w in start]
    reference = torch.optim.RMSprop(tensors, lr=0.01, alpha=0.9, eps=1e-8)  # no decay: the L2 differs per tensor
    ours = gn.RMSprop(gn.mlp([5], 2, input_dim=3, seed=0, dtype="float64").parameters(), lr=0.01, alpha=0.9)
    for p, w in zip(ours.params, start):
        p.value[...] = w
    for step in grads:
        for t, p, g in zip(tensors, ours.params, step):
            t.grad, p.grad[...] = torch.tensor(g), g
        reference.step()
        ours.step()
    for t, p in zip(tensors, ours.params):
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-10)


def test_rmsprop_is_chosen_by_name_and_resumes_to_the_same_weights(tmp_path):
    whole = _resumes_to_the_same_weights(tmp_path, "rmsprop")
    with pytest.raises(ValueError, match="momentum and nesterov apply to optimizer='sgd'"):
        gn.optim.make_optimizer("rmsprop", whole.parameters(), momentum=0.9)


def test_the_registries_page_is_what_its_script_writes():
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "docs" / "make_registries.py"
    spec = importlib.util.spec_from_file_location("make_registries", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.PAGE.read_text(encoding="utf-8") == module.render(), "run: python docs/make_registries.py"


def test_the_report_names_what_an_activation_does_not_declare(tmp_path):
    """A documented fallback is named, not silent: GELU has no compiled kernel and no unit rule."""
    from test_cli import glassnet

    x, y = _data(rows=120)
    frame = pd.DataFrame(x, columns=list("abcd")).assign(target=np.where(y == 1, "yes", "no"))
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "out"
    done = glassnet("train", tmp_path / "t.csv", "--target", "target", "--activation", "gelu", "--epochs", "2",
                    "--folds", "1", "--no-baselines", "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = (out / "report.html").read_text()
    assert "gelu_1 (GELU) has no compiled kernel" in report and "declares no rule for dead or saturated" in report
    from glassnet.training.metrics import METRIC_MODES, metric_mode, register_metric

    register_metric("f1_test_only", "max")  # the metrics' registry: a direction declared once
    try:
        assert metric_mode("val_f1_test_only") == "max"
        with pytest.raises(ValueError, match="registered as 'max' already"):
            register_metric("f1_test_only", "min")
    finally:
        METRIC_MODES.pop("f1_test_only")
