"""Ready-made architectures: the multi-layer perceptron most users start from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import check_positive_int
from .layers import BatchNorm, Dense, Dropout, Layer, get_activation
from .network import Sequential


def mlp(
    hidden: Sequence[int],
    output_dim: int,
    *,
    activation: str = "relu",
    output_activation: str = "linear",
    batch_norm: bool = False,
    dropout: float = 0.0,
    input_dim: int | None = None,
    init: str | None = None,
    init_scale: float | None = None,
    dtype: Any = np.float32,
    seed: int | None = 0,
) -> Sequential:
    """Build a multi-layer perceptron: ``[Dense → (BatchNorm) → activation → (Dropout)] × hidden → Dense``.

    Parameters
    ----------
    hidden : sequence of int
        Units of each hidden layer, e.g. ``(128, 64)``; two or more makes it a deep network.
    output_dim : int
        Units of the output layer (classes, or targets for regression).
    activation : str
        Hidden activation: relu, leaky_relu, sigmoid, tanh or linear.
    output_activation : str
        ``"softmax"`` (multiclass), ``"sigmoid"`` (binary/multilabel) or ``"linear"`` (regression).
    batch_norm : bool
        Insert batch normalization between each hidden Dense and its activation (the Dense then
        drops its intercept, which β replaces).
    dropout : float
        Dropout rate after each hidden activation (0 disables it).

    Examples
    --------
    >>> import glassnet as gn
    >>> net = gn.mlp([32, 16], 3, output_activation="softmax", batch_norm=True, input_dim=4)
    >>> [type(l).__name__ for l in net.layers][:3]
    ['Dense', 'BatchNorm', 'ReLU']
    """
    hidden = [check_positive_int(units, "hidden units") for units in hidden]
    layers: list[Layer] = []
    for units in hidden:
        layers.append(Dense(units, use_bias=not batch_norm, init=init, init_scale=init_scale))
        if batch_norm:
            layers.append(BatchNorm())
        layers.append(get_activation(activation))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(output_dim, init=init, init_scale=init_scale))
    if output_activation not in ("linear", "identity"):
        layers.append(get_activation(output_activation))
    return Sequential(layers, input_dim=input_dim, dtype=dtype, seed=seed)
