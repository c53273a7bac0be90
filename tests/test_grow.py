"""Start small and grow: picks a moderate model; executors agree."""

import numpy as np
import pytest

import glassnet as gn


def moderate_task(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 4))
    y = np.sin(2 * x[:, 0]) * np.cos(1.5 * x[:, 1]) + 0.5 * np.tanh(2 * x[:, 2] * x[:, 3])
    return x, y + 0.05 * rng.normal(size=n)


SETTINGS = dict(epochs=150, patience=15, tolerance=0.01, batch_size=64, lr=3e-3, seed=0)


@pytest.fixture(scope="module")
def sequential_result():
    x, y = moderate_task()
    return gn.grow(x, y, **SETTINGS)


def test_grow_picks_a_moderate_model_within_tolerance_of_the_best(sequential_result):
    result = sequential_result
    sizes = [row["n_parameters"] for row in result.trail]
    chosen = next(row for row in result.trail if row["hidden"] == result.architecture)
    assert result.architecture != (8,)  # not the smallest
    assert chosen["n_parameters"] < max(sizes)  # not the largest
    best = min(row["val_score"] for row in result.trail)
    assert chosen["val_score"] <= best * 1.01  # within 1% of the best
    assert result.network.n_parameters == chosen["n_parameters"]
    assert len({row["step"] for row in result.trail}) >= 2
    for row in result.trail:
        assert {"hidden", "n_parameters", "train_loss", "val_score", "epochs", "seconds"} <= set(row)
    assert "<- chosen" in result.summary()


def test_grow_chosen_network_reproduces_its_validation_score(sequential_result):
    x, y = moderate_task()
    from glassnet.training.targets import split_validation

    _, val_idx = split_validation(len(x), 0.2, np.random.default_rng(0))
    predictions = sequential_result.network.predict(x[val_idx]).ravel()
    mse = float(np.mean((predictions - y[val_idx]) ** 2))
    chosen = next(r for r in sequential_result.trail if r["hidden"] == sequential_result.architecture)
    assert mse == pytest.approx(chosen["val_score"], rel=1e-4)


def _comparable(trail):
    return [(r["step"], r["hidden"], r["n_parameters"], r["train_loss"], r["val_score"], r["epochs"]) for r in trail]


def test_dask_executor_gives_the_same_trail(sequential_result, dask_cluster):
    distributed = pytest.importorskip("dask.distributed")
    x, y = moderate_task()
    with distributed.Client(dask_cluster) as client:
        result = gn.grow(x, y, executor=client, **SETTINGS)
    assert _comparable(result.trail) == _comparable(sequential_result.trail)
    assert result.architecture == sequential_result.architecture


def test_joblib_executor_gives_the_same_trail(sequential_result):
    pytest.importorskip("joblib")
    x, y = moderate_task()
    result = gn.grow(x, y, executor=gn.training.executors.JoblibExecutor(n_jobs=2), **SETTINGS)
    assert _comparable(result.trail) == _comparable(sequential_result.trail)


def test_grow_classification_and_bad_arguments():
    data = gn.datasets.load_digits()
    result = gn.grow(data.x, data.y, epochs=10, max_steps=1, monitor="val_accuracy")
    assert result.network.output_dim == 10 and len(result.trail) >= 2
    with pytest.raises(ValueError, match="executor must be"):
        gn.grow(data.x, data.y, executor=42)
    with pytest.raises(ValueError, match="task must be"):
        gn.grow(data.x, data.y, task="ranking")
