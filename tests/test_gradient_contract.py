"""The gradient contract of layers (#16, item 4): a real training step gives the same gradients as
``zero_grad`` followed by ``backward``, for every layer class and for a layer written micrograd-style."""

import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import LAYER_TYPES, Layer
from glassnet.parameter import Parameter


class Scale(Layer):
    """A custom layer in micrograd's convention: backward adds to ``grad`` with ``+=``."""

    kind = "scale"

    def build(self, input_dim, dtype, rng):
        super().build(input_dim, dtype, rng)
        self.s = Parameter(np.full(input_dim, 1.5, dtype=dtype), "scale.s", regularize=False)

    def parameters(self):
        return [self.s]

    def forward(self, x, *, training=False):
        self.x = x
        return x * self.s.value

    def backward(self, grad_output):
        self.s.grad += (grad_output * self.x).sum(axis=0)
        return grad_output * self.s.value


def _network(kind):
    if kind == "Scale":
        middle = [Scale()]
    else:
        arguments = {"Dense": {"units": 5}, "Dropout": {"rate": 0.0}}.get(kind, {})
        middle = [LAYER_TYPES[kind](**arguments)]
        if kind == "Softmax":
            middle = [gn.Dense(5), gn.Tanh()]
    with warnings.catch_warnings():  # Linear/Dropout(0)/Dense stacks warn that they collapse: beside the point
        warnings.simplefilter("ignore")
        return gn.Sequential([gn.Dense(6), *middle, gn.Dense(3), gn.Softmax()], input_dim=4, dtype=np.float64, seed=0)


@pytest.mark.parametrize("kind", sorted(LAYER_TYPES) + ["Scale"])
# The layers' contract, so layer by layer: with numba a Dense stack trains in one compiled call,
# whose gradients tests/test_kernels.py compares with the layer-by-layer step.
@gn.kernels.use("numpy")
def test_train_step_gradients_equal_zero_grad_then_backward(kind):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 3, 16)
    loss = gn.SoftmaxCrossEntropy()
    net = _network(kind)
    for _ in range(3):  # repeated steps: nothing may be left over from the previous one
        net.train_step(x, y, loss)
    stepped = {p.name: p.grad.copy() for p in net.parameters()}
    net.zero_grad()
    stop = net.fused_output(loss)
    loss.forward(net.forward(x, training=True, stop=stop), y)
    net.backward(loss.backward(), stop=stop)
    for p in net.parameters():
        np.testing.assert_allclose(stepped[p.name], p.grad, rtol=1e-12, atol=1e-14, err_msg=p.name)


def test_a_micrograd_style_layer_learns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4))
    y = (x[:, 0] > 0).astype(int)
    scale = Scale()
    net = gn.Sequential([scale, gn.Dense(8), gn.ReLU(), gn.Dense(2), gn.Softmax()], input_dim=4, seed=0)
    before = scale.s.value.copy()
    gn.fit(net, x, y, epochs=3, batch_size=16, optimizer="sgd", lr=0.1)
    assert not np.array_equal(scale.s.value, before)
    checked = gn.Sequential(
        [Scale(), gn.Dense(8), gn.Tanh(), gn.Dense(2), gn.Softmax()], input_dim=4, dtype=np.float64, seed=0
    )
    report = gn.gradcheck(checked, x[:8], y[:8], "cross_entropy")
    assert report.passed(1e-5), str(report)
