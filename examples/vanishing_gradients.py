"""Vanishing gradients in deep sigmoid networks (after Glorot & Bengio, 2010).

    python examples/vanishing_gradients.py [--mnist FOLDER] [--epochs 30]

Five hidden layers of 256 units on the real MNIST digits (10,000-image subset, 2,000 held out),
trained the same way (SGD, momentum 0.9, lr 0.05, batch 32) in five variants:

- sigmoid with the "standard" initialisation U[-1/√n, 1/√n],
- sigmoid with normalized (Xavier/Glorot) initialisation,
- tanh with the standard initialisation,
- ReLU with He initialisation,
- sigmoid, standard initialisation, with batch normalization.

For each: per-layer gradient norms and saturation over training, the first-to-last gradient
ratio, the vanishing-gradient detector's verdict and the final test accuracy. Writes
docs/images/results/vanishing_<variant>.png and benchmarks/results/vanishing_gradients.json.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import glassnet as gn
from glassnet.diagnostics import gradient_verdict

try:
    from _data import ROOT, mnist_10k
except ImportError:
    from examples._data import ROOT, mnist_10k

VARIANTS = {
    "sigmoid_standard": dict(activation="sigmoid", init="uniform"),
    "sigmoid_xavier": dict(activation="sigmoid", init="glorot_uniform"),
    "tanh_standard": dict(activation="tanh", init="uniform"),
    "relu_he": dict(activation="relu", init="he_normal"),
    "sigmoid_standard_bn": dict(activation="sigmoid", init="uniform", batch_norm=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", help="folder of the MNIST-10k idx files")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    x, y, x_test, y_test = mnist_10k(args.mnist, seed=args.seed)
    results = {}
    for name, settings in VARIANTS.items():
        network = gn.mlp([256] * 5, 10, output_activation="softmax", input_dim=784, seed=args.seed, **settings)
        history = gn.fit(
            network,
            x,
            y,
            epochs=args.epochs,
            batch_size=32,
            optimizer="sgd",
            lr=0.05,
            momentum=0.9,
            validation_split=0.1,
            seed=args.seed,
        )
        verdict = gradient_verdict(history, network)
        accuracy = float(np.mean(network.predict(x_test).argmax(axis=1) == y_test))
        saturation = {
            layer: entry["saturated_fraction"][-1]
            for layer, entry in history.diagnostics["activations"].items()
            if entry["kind"] != "relu"
        }
        results[name] = {
            "test_accuracy": accuracy,
            "vanishing_detected": verdict.vanishing,
            "first_to_last_ratio_epoch1": verdict.first_to_last_ratio[0],
            "first_to_last_ratio_final": verdict.first_to_last_ratio[-1],
            "grad_norms_epoch1": {k: v[0] for k, v in history.grad_norms.items()},
            "saturated_fraction_final": saturation,
            "verdict": verdict.summary(),
        }
        print(
            f"{name:<22} test accuracy {accuracy:.4f}  first/last ratio {verdict.first_to_last_ratio[0]:.3g} → "
            f"{verdict.first_to_last_ratio[-1]:.3g}  vanishing: {verdict.vanishing}"
        )
        figure = gn.plots.plot_gradient_flow(history)
        figure.suptitle(name.replace("_", " "))
        gn.plots.save_figure(figure, ROOT / "docs" / "images" / "results" / f"vanishing_{name}.png")
        figure = gn.plots.plot_saturation(history)
        figure.suptitle(name.replace("_", " "))
        gn.plots.save_figure(figure, ROOT / "docs" / "images" / "results" / f"vanishing_{name}_saturation.png")
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "vanishing_gradients.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
