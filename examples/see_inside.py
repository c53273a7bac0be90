"""A deep sigmoid network with and without batch normalization, seen from inside.

    python examples/see_inside.py [--out docs/images]

Trains the same 5-hidden-layer sigmoid network (100 units each, small Gaussian initialisation,
mini-batches of 60) on the embedded digits twice, without and with batch normalization before
each activation, and writes for each: learning curves, gradient flow per layer, the percentile
bands of the last hidden layer's activation input over training, and dead/saturated unit
fractions. Prints the vanishing-gradient verdict of each run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import glassnet as gn
from glassnet.diagnostics import Diagnostics, gradient_verdict


def train(batch_norm: bool, x, y, seed: int = 0):
    network = gn.mlp(
        [100] * 5,
        10,
        activation="sigmoid",
        batch_norm=batch_norm,
        output_activation="softmax",
        init="normal",
        init_scale=0.1,
        seed=seed,
    )
    history = gn.fit(
        network,
        x,
        y,
        epochs=30,
        batch_size=60,
        lr=0.5,
        validation_split=0.2,
        seed=seed,
        callbacks=[Diagnostics(every_steps=5)],
    )
    return network, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs/images", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = gn.datasets.load_digits()
    x = (data.x - data.x.mean(axis=0)) / (data.x.std(axis=0) + 1e-6)
    for batch_norm in (False, True):
        tag = "with_bn" if batch_norm else "without_bn"
        network, history = train(batch_norm, x, data.y)
        verdict = gradient_verdict(history, network)
        print(f"{tag}: validation accuracy {history['val_accuracy'][-1]:.3f}; {verdict.summary()}")
        last = [name for name in history.diagnostics["activations"]][-1]
        figures = {
            "curves": gn.plots.plot_learning_curves(history),
            "gradient_flow": gn.plots.plot_gradient_flow(history),
            "percentiles": gn.plots.plot_percentiles(history, layers=[last]),
            "saturation": gn.plots.plot_saturation(history),
        }
        for name, figure in figures.items():
            figure.suptitle("with batch norm" if batch_norm else "without batch norm")
            path = gn.plots.save_figure(figure, out / f"see_inside_{tag}_{name}.png")
            print(f"  wrote {path}")


if __name__ == "__main__":
    main()
