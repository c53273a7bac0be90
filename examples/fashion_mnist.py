"""Fashion-MNIST with a deep MLP: test accuracy and training time, against classical baselines.

    python examples/fashion_mnist.py [--path FOLDER] [--epochs 60] [--subset N] [--baselines]

Data comes from ``glassnet.datasets.load_fashion_mnist(path)`` (a folder with the four idx files,
``$GLASSNET_DATA``, standard locations, or the checksummed download). Everything is decided on a
validation split of the training set (the last 5,000 of a seeded permutation): the network runs
a full cosine learning-rate schedule and keeps the weights of its best validation-accuracy epoch.
The test set is used once, at the end. Published reference points (upstream README): MLP 256-128-100 0.883,
XGBoost 0.898, human 0.835.

Writes ``benchmarks/results/fashion_mnist.json`` and the learning curves to docs/images/results/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import glassnet as gn

ROOT = Path(__file__).resolve().parent.parent


def build(seed: int) -> gn.Sequential:
    return gn.mlp(
        [1024, 512, 256],
        10,
        activation="relu",
        batch_norm=True,
        dropout=0.3,
        output_activation="softmax",
        input_dim=784,
        seed=seed,
    )


def run(
    path=None,
    epochs: int = 60,
    subset: int | None = None,
    seed: int = 0,
    baselines: bool = False,
    verbose: int = 2,
    write: bool = True,
) -> dict:
    data = gn.datasets.load_fashion_mnist(path)
    order = np.random.default_rng(seed).permutation(len(data.x))
    if subset:
        order = order[:subset]
    n_val = max(500, len(order) // 12)
    train_idx, val_idx = order[:-n_val], order[-n_val:]
    mean = data.x[train_idx].mean(axis=0)
    std = data.x[train_idx].std(axis=0) + 1e-3
    x_train, x_val, x_test = ((a - mean) / std for a in (data.x[train_idx], data.x[val_idx], data.x_test))
    y_train, y_val, y_test = data.y[train_idx], data.y[val_idx], data.y_test

    network = build(seed)
    optimizer = gn.AdamW(network.parameters(), lr=1e-3, weight_decay=1e-4)
    started = time.perf_counter()
    history = gn.fit(
        network,
        x_train,
        y_train,
        epochs=epochs,
        batch_size=256,
        optimizer=optimizer,
        validation_data=(x_val, y_val),
        seed=seed,
        verbose=verbose,
        callbacks=[gn.EarlyStopping(monitor="val_accuracy", patience=epochs), gn.CosineDecay(epochs)],
    )
    train_seconds = time.perf_counter() - started
    test_accuracy = float(np.mean(network.predict(x_test).argmax(axis=1) == y_test))
    result = {
        "test_accuracy": test_accuracy,
        "train_seconds": train_seconds,
        "epochs": len(history),
        "best_epoch": history.best_epoch,
        "validation_accuracy": max(history["val_accuracy"]),
        "train_rows": int(len(x_train)),
        "architecture": "784-1024-512-256-10, batch norm, ReLU, dropout 0.3",
        "optimizer": "AdamW lr 1e-3 wd 1e-4, cosine, batch 256",
        "summary": history.summary(),
    }
    print(
        f"test accuracy {test_accuracy:.4f}; training {train_seconds:.0f} s over {len(history)} epochs "
        f"(best epoch {history.best_epoch})"
    )
    if baselines:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        for name, model in (
            ("logistic regression", LogisticRegression(max_iter=300)),
            ("gradient boosting", HistGradientBoostingClassifier(max_iter=200, random_state=seed)),
        ):
            begun = time.perf_counter()
            model.fit(x_train, y_train)
            result[name] = {"test_accuracy": float(model.score(x_test, y_test)), "seconds": time.perf_counter() - begun}
            print(f"{name}: test accuracy {result[name]['test_accuracy']:.4f} ({result[name]['seconds']:.0f} s)")
    if write:
        (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
        (ROOT / "benchmarks" / "results" / "fashion_mnist.json").write_text(json.dumps(result, indent=2))
        figure = gn.plots.plot_learning_curves(history, "accuracy")
        gn.plots.save_figure(figure, ROOT / "docs" / "images" / "results" / "fashion_mnist_curves.png")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", help="folder with the Fashion-MNIST idx files")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--subset", type=int, help="use only this many training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baselines", action="store_true", help="also fit logistic regression and gradient boosting")
    args = parser.parse_args()
    run(args.path, args.epochs, args.subset, args.seed, args.baselines)


if __name__ == "__main__":
    main()
