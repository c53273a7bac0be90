"""Forward, gradients, batch-norm running statistics and optimizer steps against PyTorch (float64)."""

import numpy as np
import pytest

import glassnet as gn

torch = pytest.importorskip("torch", reason="PyTorch not installed (optional parity extra: pip install torch==2.13.0)")
TOL = 1e-5

TORCH_ACTIVATIONS = {
    gn.ReLU: torch.nn.ReLU,
    gn.Sigmoid: torch.nn.Sigmoid,
    gn.Tanh: torch.nn.Tanh,
    gn.Softmax: lambda: torch.nn.Softmax(dim=1),
    gn.Linear: torch.nn.Identity,
}


def to_torch(net: gn.Sequential) -> torch.nn.Sequential:
    modules = []
    for layer in net.layers:
        if isinstance(layer, gn.Dense):
            module = torch.nn.Linear(layer.input_dim, layer.units, bias=layer.b is not None, dtype=torch.float64)
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(layer.W.value.T.copy()))
                if layer.b is not None:
                    module.bias.copy_(torch.from_numpy(layer.b.value.copy()))
        elif isinstance(layer, gn.BatchNorm):
            module = torch.nn.BatchNorm1d(layer.input_dim, eps=layer.eps, momentum=layer.momentum, dtype=torch.float64)
            with torch.no_grad():
                module.weight.copy_(torch.from_numpy(layer.gamma.value.copy()))
                module.bias.copy_(torch.from_numpy(layer.beta.value.copy()))
        elif isinstance(layer, gn.LeakyReLU):
            module = torch.nn.LeakyReLU(layer.negative_slope)
        else:
            module = TORCH_ACTIVATIONS[type(layer)]()
        modules.append(module)
    return torch.nn.Sequential(*modules)


def torch_grads(net: gn.Sequential, model: torch.nn.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs (glassnet grad, torch grad) in glassnet's layout."""
    pairs = []
    for layer, module in zip(net.layers, model):
        if isinstance(layer, gn.Dense):
            pairs.append((layer.W.grad, module.weight.grad.numpy().T))
            if layer.b is not None:
                pairs.append((layer.b.grad, module.bias.grad.numpy()))
        elif isinstance(layer, gn.BatchNorm):
            pairs.append((layer.gamma.grad, module.weight.grad.numpy()))
            pairs.append((layer.beta.grad, module.bias.grad.numpy()))
    return pairs


def random_network(seed: int, activation: str, batch_norm: bool, output: str):
    return gn.mlp(
        [7, 6, 5],
        4,
        activation=activation,
        batch_norm=batch_norm,
        output_activation=output,
        input_dim=5,
        dtype=np.float64,
        seed=seed,
    )


# The layers against autograd, layer by layer: with numba a Dense stack trains in one compiled call
# (compiling it in float64 as well would cost CI 8 s); tests/test_kernels.py compares that call with
# this layer-by-layer step, and the compiled batch norm with NumPy's to 1e-12.
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("batch_norm", [False, True])
@gn.kernels.use("numpy")
def test_forward_and_gradients_match_torch(seed, activation, batch_norm):
    rng = np.random.default_rng(seed)
    net = random_network(seed, activation, batch_norm, "softmax")
    model = to_torch(net).train()
    x = rng.normal(size=(16, 5))
    y = rng.integers(0, 4, size=16)

    loss_value = net.train_step(x, y, gn.SoftmaxCrossEntropy())[0]
    x_t = torch.from_numpy(x).requires_grad_(True)
    logits = model[:-1](x_t)  # glassnet fuses the softmax into the loss
    torch_loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    torch_loss.backward()
    assert abs(loss_value - torch_loss.item()) < TOL
    for ours, theirs in torch_grads(net, model):
        assert np.max(np.abs(ours - theirs)) < TOL
    # running statistics after one training step
    for layer, module in zip(net.layers, model):
        if isinstance(layer, gn.BatchNorm):
            assert np.max(np.abs(layer.running_mean - module.running_mean.numpy())) < TOL
            assert np.max(np.abs(layer.running_var - module.running_var.numpy())) < TOL
    # inference forward (softmax output, running statistics)
    model.eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert np.max(np.abs(net.predict(x) - expected)) < TOL


@pytest.mark.parametrize("loss_name", ["mse", "binary_cross_entropy"])
def test_regression_and_binary_losses_match_torch(loss_name):
    rng = np.random.default_rng(7)
    output = "sigmoid" if loss_name == "binary_cross_entropy" else "linear"
    net = random_network(7, "tanh", True, output)
    model = to_torch(net).train()
    x = rng.normal(size=(12, 5))
    if loss_name == "mse":
        y = rng.normal(size=(12, 4))
        loss_value = net.train_step(x, y, gn.MeanSquaredError())[0]
        torch_loss = torch.nn.functional.mse_loss(model(torch.from_numpy(x)), torch.from_numpy(y))
    else:
        y = (rng.random((12, 4)) > 0.5).astype(np.float64)
        loss_value = net.train_step(x, y, gn.BinaryCrossEntropy())[0]
        torch_loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model[:-1](torch.from_numpy(x)), torch.from_numpy(y)
        )
    torch_loss.backward()
    assert abs(loss_value - torch_loss.item()) < TOL
    for ours, theirs in torch_grads(net, model):
        assert np.max(np.abs(ours - theirs)) < TOL


def _one_step(optimizer_name: str):
    rng = np.random.default_rng(3)
    net = random_network(3, "relu", True, "softmax")
    model = to_torch(net).train()
    x = rng.normal(size=(16, 5))
    y = rng.integers(0, 4, size=16)
    params = net.parameters()
    torch_params = [p for m in model for p in m.parameters()]
    # glassnet applies weight decay to weights only; mirror that with parameter groups.
    decayed = [tp for p, tp in zip(params, torch_params) if p.regularize]
    plain = [tp for p, tp in zip(params, torch_params) if not p.regularize]
    assert [tuple(p.shape) for p in params] == [tuple(tp.T.shape if tp.ndim == 2 else tp.shape) for tp in torch_params]
    groups = [{"params": decayed, "weight_decay": 0.01}, {"params": plain, "weight_decay": 0.0}]
    if optimizer_name == "sgd_nesterov":
        ours = gn.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
        theirs = torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True)
    elif optimizer_name == "adam":
        ours = gn.Adam(params, lr=0.01, weight_decay=0.01)
        theirs = torch.optim.Adam(groups, lr=0.01)
    else:
        ours = gn.AdamW(params, lr=0.01, weight_decay=0.01)
        theirs = torch.optim.AdamW(groups, lr=0.01)
    for _ in range(3):  # several steps so that momentum / moments matter
        net.train_step(x, y, gn.SoftmaxCrossEntropy())
        ours.step()
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(model[:-1](torch.from_numpy(x)), torch.from_numpy(y)).backward()
        theirs.step()
    for p, tp in zip(params, torch_params):
        value = tp.detach().numpy()
        value = value.T if value.ndim == 2 else value
        assert np.max(np.abs(p.value - value)) < TOL, p.name


@pytest.mark.parametrize("optimizer_name", ["sgd_nesterov", "adam", "adamw"])
def test_optimizer_steps_match_torch(optimizer_name):
    _one_step(optimizer_name)


def test_dense_input_gradient_matches_torch():
    rng = np.random.default_rng(11)
    net = random_network(11, "sigmoid", False, "linear")
    model = to_torch(net)
    x = rng.normal(size=(9, 5))
    grad_out = rng.normal(size=(9, 4))
    net.forward(x, training=True)
    ours = net.backward(grad_out)
    x_t = torch.from_numpy(x).requires_grad_(True)
    model(x_t).backward(torch.from_numpy(grad_out))
    assert np.max(np.abs(ours - x_t.grad.numpy())) < TOL


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.25])
@pytest.mark.parametrize("soft", [False, True])
def test_label_smoothing_matches_torch(smoothing, soft):
    rng = np.random.default_rng(3)
    z = rng.normal(size=(9, 5)) * 3
    y = rng.dirichlet(np.ones(5), size=9) if soft else rng.integers(0, 5, size=9)
    loss = gn.SoftmaxCrossEntropy(label_smoothing=smoothing)
    value = loss.forward(z, y)
    logits = torch.tensor(z, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor(y), label_smoothing=smoothing)
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), logits.grad.numpy(), rtol=1e-10, atol=1e-14)
