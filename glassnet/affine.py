"""Linear stacks: where a network has no non-linearity, and the one affine map such a stack equals.

Dense layers, ``Linear`` activations, batch norm (inference mode) and dropout (the identity at
inference) compose into ``y = x · W + b``: the seed's f(f(f(x))) = c³x in matrix form.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from .exceptions import LinearCollapseWarning
from .layers import BatchNorm, Dense, Layer, Sigmoid, Softmax


def linear_blocks(layers: Sequence[Layer]) -> list[list[int]]:
    """Runs of consecutive layer positions with no non-linearity among them (inference mode)."""
    blocks: list[list[int]] = []
    current: list[int] = []
    for position, layer in enumerate(layers):
        if layer.is_linear:
            current.append(position)
        else:
            if current:
                blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def collapsible_layers(layers: Sequence[Layer], logits: bool) -> Sequence[Layer]:
    """``layers`` (without a final softmax/sigmoid when ``logits``), refused if any is non-linear."""
    chosen = layers[:-1] if logits and isinstance(layers[-1], (Softmax, Sigmoid)) else layers
    for layer in chosen:
        if not layer.is_linear:
            hint = (
                " Pass logits=True to collapse everything before a final softmax/sigmoid."
                if layer is layers[-1] and isinstance(layer, (Softmax, Sigmoid))
                else ""
            )
            raise ValueError(
                f"cannot collapse: layer {layer.name} ({type(layer).__name__}) is non-linear, so "
                "the network is not a single affine map. Only networks made of Dense, Linear, "
                f"BatchNorm and Dropout layers collapse; see linear_blocks() for the linear parts.{hint}"
            )
    return chosen


def collapse_affine(layers: Iterable[Layer], input_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Compose linear layers (inference mode) into one affine map ``(W, b)``, computed in float64."""
    weights = np.eye(input_dim)
    bias = np.zeros(input_dim)
    for layer in layers:
        if isinstance(layer, Dense):
            w = layer.W.value.astype(np.float64)
            bias = bias @ w + (layer.b.value if layer.b is not None else 0.0)
            weights = weights @ w
        elif isinstance(layer, BatchNorm):
            scale, shift = (a.astype(np.float64) for a in layer.inference_scale_shift())
            weights = weights * scale
            bias = bias * scale + shift
        elif not layer.is_linear:
            raise ValueError(f"layer {layer.name} is non-linear and cannot be collapsed.")
    return weights, bias


def warn_linear_stacks(layers: Sequence[Layer]) -> None:
    """Warn about each run of two or more Dense layers with no non-linearity between them."""
    for block in linear_blocks(layers):
        dense = [layers[i].describe() for i in block if isinstance(layers[i], Dense)]
        if len(dense) >= 2:
            warnings.warn(
                f"layers {', '.join(dense)} have no non-linear activation between them: a "
                f"composition of affine maps is one affine map (f(f(x)) = c²x for f(x) = cx), so "
                f"these {len(dense)} Dense layers compute exactly what one Dense layer of the same "
                "input and output width computes, with more parameters and no more expressive "
                "power. Put a non-linear activation (relu, tanh, sigmoid) between them, or see "
                "Sequential.collapse().",
                LinearCollapseWarning,
                stacklevel=3,
            )
