"""Each default has one owner (#16, item 3): the optimizer classes own their learning rates, and the
training loop takes them from there; the recipe (glassnet/recipe.py) owns the rates ``glassnet train`` and
the estimators use, and the command line's help shows them."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.app.options import JobOptions
from glassnet.optim import OPTIMIZERS, default_lr, make_optimizer
from glassnet.training.loop import Trainer


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_loop_and_the_factory_use_the_classes_learning_rate(name):
    net = gn.mlp([4], 2, output_activation="softmax", input_dim=3)
    x, y = np.zeros((8, 3)), np.arange(8) % 2
    expected = OPTIMIZERS[name](net.parameters()).lr
    assert default_lr(name) == expected
    assert Trainer(net, x, y, optimizer=name).optimizer.lr == expected
    assert make_optimizer(name, net.parameters()).lr == expected


def test_the_command_lines_help_shows_the_jobs_rates_and_the_job_uses_them():
    from test_cli import glassnet

    from glassnet.app.training_setup import build_optimizer
    from glassnet.recipe import L2_PRIOR, LEARNING_RATES, learning_rate

    text = glassnet("train", "--help").stdout.replace("\n", " ")  # what a user reads
    net = gn.mlp([4], 2, output_activation="softmax", input_dim=3)
    for name in OPTIMIZERS:
        expected = LEARNING_RATES.get(name, default_lr(name))
        assert learning_rate(name) == expected and f"{name} {expected:g}" in " ".join(text.split())
        assert build_optimizer(net, JobOptions(data="x", optimizer=name), 100).lr == expected
        assert build_optimizer(net, JobOptions(data="x", optimizer=name, lr=0.5), 100).lr == 0.5
    assert JobOptions(data="x").lr is None  # no choice made: the recipe decides
    # the L2: the recipe's prior over the network's training rows unless one is given
    assert f"the prior {L2_PRIOR:g} over each network's training rows" in " ".join(text.split())
    assert JobOptions(data="x").weight_decay is None
    assert build_optimizer(net, JobOptions(data="x"), 400).weight_decay == pytest.approx(L2_PRIOR / 400)
    assert build_optimizer(net, JobOptions(data="x", weight_decay=0.0), 400).weight_decay == 0.0


def test_momentum_belongs_to_sgd():
    net = gn.mlp([4], 2, input_dim=3)
    assert make_optimizer("sgd", net.parameters(), momentum=0.9, nesterov=True).nesterov
    with pytest.raises(ValueError, match="apply to optimizer='sgd'"):
        make_optimizer("adam", net.parameters(), momentum=0.9)
