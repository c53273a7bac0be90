"""Inverted dropout: zero a random fraction of units during training, scale the rest."""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from .._validation import check_fraction
from .base import Layer


class Dropout(Layer):
    """Drop each unit with probability ``rate`` in training and scale survivors by 1/(1 − rate).

    At inference it is the identity, so no rescaling is needed at prediction time.

    Parameters
    ----------
    rate : float in [0, 1)
        Probability of dropping a unit.

    Attributes
    ----------
    fixed_mask : ndarray or None
        When set (shape (n, units), values 0 or 1/(1 − rate)), it is used instead of a fresh random
        mask: this makes the layer deterministic for gradient checks.
    mask : ndarray or None
        The mask of the last training-mode forward call (None when it was the identity): freeze
        it with ``layer.fixed_mask = layer.mask.copy()``.
    """

    kind = "dropout"
    is_linear = True  # identity at inference

    def __init__(self, rate: float = 0.5, name: str | None = None) -> None:
        super().__init__(name)
        self.rate = check_fraction(rate, "rate")
        self.fixed_mask: np.ndarray | None = None
        self.mask: np.ndarray | None = None
        self.rng: np.random.Generator = np.random.default_rng()

    def build(self, input_dim: int, dtype: np.dtype, rng: np.random.Generator) -> None:
        super().build(input_dim, dtype, rng)
        self.rng = rng

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        self._active = training and self.rate > 0
        self._mark_forward(x)
        if not self._active:
            self.mask = None
            return x
        n = x.shape[0]
        if self.fixed_mask is not None:
            mask = self.fixed_mask
            if mask.shape != x.shape:
                raise ValueError(f"{self.describe()}: fixed_mask has shape {mask.shape}, input has {x.shape}.")
        else:
            mask = self._workspace("mask", n, self.input_dim)
            uniform = self._workspace("uniform", n, self.input_dim)
            self.rng.random(out=uniform, dtype=uniform.dtype)
            np.greater_equal(uniform, self.rate, out=mask)
            mask *= 1.0 / (1.0 - self.rate)
        self.mask = mask
        out = self._workspace("out", n, self.input_dim)
        np.multiply(x, mask, out=out)
        return out

    def infer(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        if not self._active:
            return grad_output
        grad_input = self._workspace("grad_input", grad_output.shape[0], self.input_dim)
        np.multiply(grad_output, cast(np.ndarray, self.mask), out=grad_input)
        return grad_input

    def config(self) -> dict[str, Any]:
        return {"rate": self.rate}
