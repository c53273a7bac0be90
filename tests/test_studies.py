"""Smaller versions of the learning-quality studies under examples/."""

import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))


def _fashion_folder():
    import glassnet as gn

    try:
        gn.datasets.load_fashion_mnist(download=False)
        return None  # found in a standard location or $GLASSNET_DATA
    except gn.datasets.DatasetError:
        pytest.skip(
            "Fashion-MNIST not found locally (set GLASSNET_DATA; .ci/run points it at shared/datasets); "
            "the study downloads it when run by hand"
        )


def test_fashion_mnist_small_version_learns_well_above_chance():
    import fashion_mnist

    _fashion_folder()
    result = fashion_mnist.run(epochs=2, subset=6000, verbose=0, write=False)
    assert result["test_accuracy"] > 0.75  # chance is 0.10
    assert result["train_seconds"] > 0


def test_linear_collapse_study():
    import collapse_and_overfitting

    result = collapse_and_overfitting.part_collapse()
    assert result["collapsed_vs_network_max_abs_difference"] < 1e-4
    assert abs(result["linear_3_layer_accuracy"] - result["single_linear_accuracy"]) < 0.03
    assert result["relu_same_size_accuracy"] > result["linear_3_layer_accuracy"] + 0.2
