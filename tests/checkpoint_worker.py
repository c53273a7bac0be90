"""A training run used by the crash/resume tests (run as a subprocess)."""

import sys

import numpy as np

import glassnet as gn
from glassnet.io.modelfile import save_model


class Slow(gn.Callback):
    """Makes each batch take at least 1 ms, so that a test can kill the process mid-epoch."""

    def on_batch_end(self, batch, logs=None):
        import time

        time.sleep(0.001)


def main(mode: str, checkpoint: str, out: str, epochs: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6000, 40))
    y = (x[:, :5].sum(axis=1) + rng.normal(size=6000) > 0).astype(int) + (x[:, 5] > 1)
    net = gn.mlp([64, 64, 64], 3, batch_norm=True, dropout=0.1, output_activation="softmax", seed=1)
    callbacks = [gn.EarlyStopping(patience=50), gn.CosineDecay(epochs), Slow()]
    history = gn.fit(
        net,
        x,
        y,
        epochs=epochs,
        batch_size=16,
        optimizer="adam",
        lr=1e-3,
        validation_split=0.2,
        seed=2,
        callbacks=callbacks,
        checkpoint=None if mode == "plain" else checkpoint,
        resume=(mode == "resume"),
    )
    if history.interrupted:
        print("INTERRUPTED", flush=True)
        return
    save_model(net, out, history=history)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
