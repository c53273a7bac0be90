"""Where the examples find the MNIST-format data sets (never required by the library itself)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import glassnet as gn

ROOT = Path(__file__).resolve().parent.parent


def _candidates(name: str, given: str | None) -> list[Path]:
    folders = [Path(given)] if given else []
    if os.environ.get("GLASSNET_DATA"):
        folders += [Path(os.environ["GLASSNET_DATA"]) / name, Path(os.environ["GLASSNET_DATA"])]
    folders.append(ROOT.parent / "shared" / "datasets" / name)  # the developers' machines
    return folders


def mnist_10k(path: str | None = None, test_size: int = 2000, seed: int = 0):
    """The 10,000-digit MNIST subset, shuffled with a seed, with ``test_size`` held out."""
    for folder in _candidates("mnist-10k", path):
        images, labels = folder / "images-idx3-ubyte.gz", folder / "labels-idx1-ubyte.gz"
        if images.exists() and labels.exists():
            data = gn.datasets.load_mnist_idx(images, labels)
            order = np.random.default_rng(seed).permutation(len(data.x))
            test, train = order[:test_size], order[test_size:]
            return data.x[train], data.y[train], data.x[test], data.y[test]
    raise SystemExit(
        "mnist-10k not found: pass --mnist FOLDER (images-idx3-ubyte.gz, labels-idx1-ubyte.gz) or set GLASSNET_DATA."
    )


def fashion(path: str | None = None):
    for folder in _candidates("fashion-mnist", path):
        if (folder / "train-images-idx3-ubyte.gz").exists() or (folder / "train-images-idx3-ubyte").exists():
            return gn.datasets.load_fashion_mnist(folder, download=False)
    return gn.datasets.load_fashion_mnist(path)
