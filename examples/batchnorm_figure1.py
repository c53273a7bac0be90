"""Reproduce Figure 1 of Ioffe & Szegedy (2015), "Batch Normalization".

    python examples/batchnorm_figure1.py [--steps 50000] [--mnist FOLDER] [--fashion FOLDER]

Three fully connected hidden layers of 100 sigmoid units, weights from a small random Gaussian
(N(0, 0.1²) here; the paper does not give the scale), mini-batches of 60, cross-entropy, plain SGD
(learning rate 0.5 for both networks by default, ``--lr`` to change it; the paper does not give it),
with and without batch normalization before each
sigmoid. On the real MNIST digits (10,000-image subset, 2,000 held out for testing) and on
Fashion-MNIST (its own test set). Records (a) test accuracy over training steps and (b, c) the
15th/50th/85th percentiles of one last-hidden-layer sigmoid's input over training.

Writes docs/images/results/bn_figure1_<data>.png and benchmarks/results/bn_figure1.json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import glassnet as gn
from glassnet.diagnostics import Diagnostics

try:
    from _data import ROOT, fashion, mnist_10k
except ImportError:  # run as a module
    from examples._data import ROOT, fashion, mnist_10k


class TestAccuracyEvery(gn.Callback):
    """Test accuracy every ``every`` steps (inference mode)."""

    def __init__(self, x_test, y_test, every: int) -> None:
        self.x_test, self.y_test, self.every = x_test, y_test, every
        self.steps, self.accuracy = [], []

    def on_train_begin(self, logs=None):
        self._record()

    def on_batch_end(self, batch, logs=None):
        if self.trainer.optimizer.iterations % self.every == 0:
            self._record()

    def _record(self):
        predicted = self.trainer.network.predict(self.x_test).argmax(axis=1)
        self.steps.append(int(self.trainer.optimizer.iterations))
        self.accuracy.append(float(np.mean(predicted == self.y_test)))


def train(x, y, x_test, y_test, batch_norm: bool, steps: int, seed: int = 0, lr: float = 0.5) -> dict:
    network = gn.mlp(
        [100, 100, 100],
        10,
        activation="sigmoid",
        batch_norm=batch_norm,
        output_activation="softmax",
        init="normal",
        init_scale=0.1,
        input_dim=x.shape[1],
        seed=seed,
    )
    epochs = int(np.ceil(steps * 60 / len(x)))
    every = max(steps // 100, 1)
    accuracy = TestAccuracyEvery(x_test[:2000], y_test[:2000], every)
    probe = Diagnostics(every_steps=every, probe_size=512, track_unit=0, seed=seed)
    started = time.perf_counter()
    history = gn.fit(
        network,
        x,
        y,
        epochs=epochs,
        batch_size=60,
        optimizer="sgd",
        lr=lr,
        seed=seed,
        callbacks=[accuracy, probe],
        diagnostics=True,
    )
    seconds = time.perf_counter() - started
    last = [name for name in history.diagnostics["activations"]][-1]
    entry = history.diagnostics["activations"][last]
    final = float(np.mean(network.predict(x_test).argmax(axis=1) == y_test))
    return {
        "steps": accuracy.steps,
        "test_accuracy": accuracy.accuracy,
        "final_test_accuracy": final,
        "probe_steps": history.diagnostics["step"],
        "p15": entry["unit_p15"],
        "p50": entry["unit_p50"],
        "p85": entry["unit_p85"],
        "layer": last,
        "seconds": seconds,
        "epochs": epochs,
    }


def steps_to(curve: dict, level: float) -> int | None:
    for step, value in zip(curve["steps"], curve["test_accuracy"]):
        if value >= level:
            return step
    return None


def figure(results: dict, title: str):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for label, key, color in (("without BN", "plain", "#d62728"), ("with BN", "bn", "#1f77b4")):
        axes[0].plot(results[key]["steps"], results[key]["test_accuracy"], color=color, label=label)
    axes[0].set_ylim(0.6, 1.0)
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("test accuracy")
    axes[0].set_title("(a) test accuracy")
    axes[0].legend()
    for axis, key, name in ((axes[1], "plain", "(b) without BN"), (axes[2], "bn", "(c) with BN")):
        r = results[key]
        axis.fill_between(r["probe_steps"], r["p15"], r["p85"], color="#999999", alpha=0.3)
        for percentile in ("p15", "p50", "p85"):
            axis.plot(r["probe_steps"], r[percentile], color="black", linewidth=1)
        axis.set_title(f"{name}: last-layer sigmoid input\n(15th, 50th, 85th percentiles)")
        axis.set_xlabel("training step")
    low = min(min(results[k]["p15"]) for k in ("plain", "bn"))
    high = max(max(results[k]["p85"]) for k in ("plain", "bn"))
    for axis in axes[1:]:
        axis.set_ylim(low - 0.2, high + 0.2)
    fig.suptitle(title)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--mnist", help="folder of the MNIST-10k idx files")
    parser.add_argument("--fashion", help="folder of the Fashion-MNIST idx files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.5, help="SGD learning rate for both networks")
    args = parser.parse_args()
    tag = "" if args.lr == 0.5 else f"_lr{args.lr:g}"
    datasets = {"mnist10k": mnist_10k(args.mnist, seed=args.seed)}
    fm = fashion(args.fashion)
    datasets["fashion"] = (fm.x, fm.y, fm.x_test, fm.y_test)
    summary = {}
    for name, (x, y, x_test, y_test) in datasets.items():
        results = {
            "plain": train(x, y, x_test, y_test, False, args.steps, args.seed, args.lr),
            "bn": train(x, y, x_test, y_test, True, args.steps, args.seed, args.lr),
        }
        path = ROOT / "docs" / "images" / "results" / f"bn_figure1_{name}{tag}.png"
        gn.plots.save_figure(figure(results, f"Batch normalization, Figure 1 — {name}, SGD lr {args.lr:g}"), path)
        row = {}
        for key, r in results.items():
            drift = max(float(np.max(np.abs(np.asarray(r[p]) - r[p][0]))) for p in ("p15", "p50", "p85"))
            row[key] = {
                "final_test_accuracy": r["final_test_accuracy"],
                "seconds": r["seconds"],
                "steps_to_90": steps_to(r, 0.90),
                "steps_to_95": steps_to(r, 0.95),
                "percentile_drift": drift,
                "p15_p50_p85_start": [r["p15"][0], r["p50"][0], r["p85"][0]],
                "p15_p50_p85_end": [r["p15"][-1], r["p50"][-1], r["p85"][-1]],
            }
        summary[name] = row
        print(name, json.dumps(row, indent=1))
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / f"bn_figure1{tag}.json").write_text(
        json.dumps({"steps": args.steps, "lr": args.lr, **summary}, indent=2)
    )


if __name__ == "__main__":
    main()
