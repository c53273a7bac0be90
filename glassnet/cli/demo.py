"""``glassnet demo``: a deep network with batch norm on the embedded digits, no arguments needed."""

from __future__ import annotations

import time

import numpy as np


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "demo", help="train a deep network on the embedded digits and show what happened",
        description="Train a 2-hidden-layer (256, 128) ReLU network with batch normalization on the 1,797 "
                    "embedded 8x8 digits (seeded 75/25 split), printing train and validation loss "
                    "per epoch and the held-out accuracy.")
    parser.add_argument("--epochs", type=int, default=60, help="maximum epochs (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="seed for split, weights and shuffles")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from .. import SGD, CosineDecay, EarlyStopping, mlp
    from ..datasets import load_digits
    from ..training.loop import Trainer, split_validation

    data = load_digits()
    train_idx, test_idx = split_validation(len(data.x), 0.25, np.random.default_rng(args.seed), data.y)
    x_train, y_train = data.x[train_idx], data.y[train_idx]
    x_test, y_test = data.x[test_idx], data.y[test_idx]
    # Standardize with training statistics only.
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    network = mlp([256, 128], 10, activation="relu", batch_norm=True, output_activation="softmax",
                  input_dim=x_train.shape[1], seed=args.seed)
    print(f"glassnet demo: digits, {len(x_train)} training / {len(x_test)} held-out samples, "
          f"{x_train.shape[1]} features, 10 classes")
    print(network.summary())
    optimizer = SGD(network.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    started = time.perf_counter()
    trainer = Trainer(network, x_train, y_train, optimizer=optimizer, epochs=args.epochs, batch_size=32,
                      validation_split=0.15, seed=args.seed, verbose=2,
                      callbacks=[EarlyStopping(patience=20), CosineDecay(args.epochs)])
    history = trainer.run()
    elapsed = time.perf_counter() - started
    accuracy = float(np.mean(network.predict(x_test).argmax(axis=1) == y_test))
    print(history.summary())
    print(f"held-out accuracy: {accuracy:.4f}  ({len(x_test)} samples, trained in {elapsed:.1f} s)")
    return 0
