"""RMSprop (Hinton's lecture 6e, 2012): each weight's step divided by the root of its running mean square.

``g ← ∇ + λw``; ``v ← αv + (1 − α)g²``; ``w ← w − lr · g / (√v + eps)``: PyTorch's formulation
(without momentum or centering), with its defaults lr 0.01, α 0.99, eps 1e-8. Adam is RMSprop with a
first moment and bias corrections. This module is all of RMSprop: registered, it is chosen by name
(``--optimizer rmsprop``, the estimators' ``solver``), its running mean square goes into checkpoints,
and it flushes subnormal values to zero like the others (``glassnet.floats``). It has no compiled
update: it runs its NumPy one with either backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import check_fraction, check_positive_float
from .optim import Optimizer, Segment, register_optimizer
from .parameter import Parameter


@register_optimizer
class RMSprop(Optimizer):
    """RMSprop with optional L2 weight decay (on weights, not intercepts or batch-norm γ/β).

    Examples
    --------
    >>> import glassnet as gn
    >>> net = gn.mlp([4], 1, input_dim=2)
    >>> opt = gn.RMSprop(net.parameters(), lr=0.01)
    """

    name = "rmsprop"

    def __init__(
        self,
        params: Sequence[Parameter],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = check_fraction(alpha, "alpha")
        self.eps = check_positive_float(eps, "eps")
        self.weight_decay = check_positive_float(weight_decay, "weight_decay", allow_zero=True)

    def _update(self, segment: Segment, state: dict[str, Any]) -> None:
        grad, value = segment.grad, segment.value
        square = self._buffer(state, "square_avg", grad)
        scratch = self._buffer(state, "scratch", grad)
        if self.weight_decay and segment.n_regularized:
            reg = slice(0, segment.n_regularized)
            np.multiply(value[reg], self.weight_decay, out=scratch[reg])
            grad[reg] += scratch[reg]
        square *= self.alpha
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.alpha
        square += scratch
        np.sqrt(square, out=scratch)
        scratch += self.eps
        np.divide(grad, scratch, out=scratch)
        scratch *= self.lr
        value -= scratch
        self._flush(segment, value, square)
