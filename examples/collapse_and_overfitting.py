"""The seed's own examples, measured: linear collapse, and overfitting on small data.

    python examples/collapse_and_overfitting.py

Part 1, linear collapse (two interleaved spirals, 2,000 points, 25% held out):
a 3-layer all-linear network (2 → 64 → 64 → 2) trained to convergence equals its collapsed
single layer, and scores like one linear layer (2 → 2), while a ReLU network of the same size
scores far higher.

Part 2, overfitting (300 training rows, 20 features, a linear rule with 20% of the labels flipped;
2,000 validation rows): a large network (3 × 512 ReLU, Adam 1e-4) trained 300 epochs without any
remedy, then with early stopping, weight decay, dropout, and start-small-and-grow; train vs
validation curves, the detected onset, and the validation log-loss and accuracy each reaches.

Writes docs/images/results/overfitting_*.png and benchmarks/results/collapse_and_overfitting.json.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

import glassnet as gn

try:
    from _data import ROOT
except ImportError:
    from examples._data import ROOT


def spirals(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
    label = rng.integers(0, 2, n)
    sign = np.where(label == 1, 1.0, -1.0)
    x = np.column_stack([sign * t * np.cos(t), sign * t * np.sin(t)]) / 10 + rng.normal(0, 0.05, (n, 2))
    return x, label


def part_collapse() -> dict:
    x, y = spirals()
    x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]
    accuracy = lambda net: float(np.mean(net.predict(x_test).argmax(axis=1) == y_test))  # noqa: E731
    settings = dict(epochs=300, batch_size=64, optimizer="adam", lr=3e-3, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gn.LinearCollapseWarning)
        linear3 = gn.mlp([64, 64], 2, activation="linear", output_activation="softmax", input_dim=2, seed=0)
    gn.fit(linear3, x_train, y_train, **settings)
    single = gn.mlp([], 2, output_activation="softmax", input_dim=2, seed=0)
    gn.fit(single, x_train, y_train, **settings)
    relu = gn.mlp([64, 64], 2, activation="relu", output_activation="softmax", input_dim=2, seed=0)
    gn.fit(relu, x_train, y_train, **settings)
    collapsed = linear3.collapse(logits=True)
    logits = linear3.logits(x_test)
    difference = float(np.max(np.abs(collapsed.forward(x_test.astype(np.float32)) - logits)))
    result = {
        "linear_3_layer_accuracy": accuracy(linear3),
        "single_linear_accuracy": accuracy(single),
        "relu_same_size_accuracy": accuracy(relu),
        "collapsed_vs_network_max_abs_difference": difference,
        "linear_3_layer_parameters": linear3.n_parameters,
        "collapsed_parameters": collapsed.W.size + collapsed.b.size,
    }
    print("linear collapse:", json.dumps(result, indent=1))
    return result


def noisy_labels(n: int, seed: int, flip: float = 0.2):
    """A linear rule on 3 of 20 features with 20% of labels flipped: memorizing it cannot generalize."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 20))
    y = (x[:, 0] + 0.5 * x[:, 1] - 0.5 * x[:, 2] > 0).astype(int)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return x, y


def part_overfitting() -> dict:
    x, y = noisy_labels(300, 0)
    x_val, y_val = noisy_labels(2000, 1)
    settings = dict(epochs=300, batch_size=32, optimizer="adam", lr=1e-4, validation_data=(x_val, y_val), seed=0)

    def large(**kwargs):
        return gn.mlp(
            [512, 512, 512], 2, activation="relu", output_activation="softmax", input_dim=20, seed=0, **kwargs
        )

    runs = {}
    plain = large()
    runs["no remedy"] = (plain, gn.fit(plain, x, y, **settings))
    stopped = large()
    runs["early stopping"] = (stopped, gn.fit(stopped, x, y, callbacks=[gn.EarlyStopping(patience=20)], **settings))
    decayed = large()
    runs["weight decay"] = (decayed, gn.fit(decayed, x, y, **{**settings, "optimizer": "adamw"}, weight_decay=1.0))
    dropped = large(dropout=0.5)
    runs["dropout 0.5"] = (dropped, gn.fit(dropped, x, y, **settings))
    grown = gn.grow(
        x, y, task="classification", validation_data=(x_val, y_val), epochs=300, patience=20, lr=1e-3, seed=0
    )
    runs["start small and grow"] = (grown.network, grown.history)
    loss = gn.SoftmaxCrossEntropy()
    result = {}
    for name, (network, history) in runs.items():
        logs = gn.training.loop.evaluate(network, x_val.astype(np.float32), y_val, loss)
        result[name] = {
            "validation_log_loss": logs["loss"],
            "validation_accuracy": logs["accuracy"],
            "final_train_loss": history["loss"][-1],
            "epochs": len(history),
            "overfitting_onset": history.overfitting_onset_for(20),
            "parameters": network.n_parameters,
            "summary": history.summary(),
        }
        figure = gn.plots.plot_learning_curves(history)
        figure.suptitle(f"300 noisy rows: {name}")
        gn.plots.save_figure(figure, ROOT / "docs" / "images" / "results" / f"overfitting_{name.replace(' ', '_')}.png")
    result["start small and grow"]["architecture"] = list(grown.architecture)
    result["start small and grow"]["trail"] = [[list(r["hidden"]), r["val_score"]] for r in grown.trail]
    print(
        "overfitting:",
        json.dumps(
            {k: {kk: vv for kk, vv in v.items() if kk not in ("trail", "summary")} for k, v in result.items()}, indent=1
        ),
    )
    return result


def main() -> None:
    results = {"collapse": part_collapse(), "overfitting": part_overfitting()}
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "collapse_and_overfitting.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
