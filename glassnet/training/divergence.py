"""The divergence guard: when the loss turns non-finite, stop with finite weights and say what to try."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validation import all_finite
from ..network import Sequential
from ..optim import Optimizer
from .callbacks import Callback, EarlyStopping
from .history import History

#: Without validation data, the outputs on this many training rows are checked at each epoch's end:
#: weights that are finite but huge would otherwise be kept as "the last finite weights".
DIVERGENCE_PROBE_ROWS = 256


class DivergenceGuard:
    """Keeps the last finite weights and restores the best available ones when training diverges.

    Parameters
    ----------
    network, optimizer, history
        Those of the run; the guard restores weights into ``network``, clears ``optimizer``'s
        moments and records the divergence in ``history``.
    callbacks : sequence of Callback
        An :class:`EarlyStopping` among them that keeps its best weights provides them.
    """

    def __init__(
        self,
        network: Sequential,
        optimizer: Optimizer,
        history: History,
        callbacks: Sequence[Callback],
    ) -> None:
        self.network, self.optimizer, self.history = network, optimizer, history
        self.callbacks = callbacks
        self.last_finite = network.state_dict()
        self.last_finite_epoch: int | None = None

    def epoch_end(self, epoch: int) -> None:
        """Remember this epoch's weights when they are all finite."""
        snapshot = self.network.state_dict()
        if all(all_finite(value) for value in snapshot.values()):
            self.last_finite, self.last_finite_epoch = snapshot, epoch

    def outputs_overflow(self, x: np.ndarray) -> bool:
        """Whether the network's outputs on the first rows of ``x`` are non-finite."""
        return not all_finite(self.network.infer(x[:DIVERGENCE_PROBE_ROWS]))

    def diverged(self, epoch: int, step: int, value: float = math.nan, what: str | None = None) -> None:
        """Restore finite weights after a non-finite loss (the best ones when early stopping kept them).

        The explanation goes to ``history.divergence_message``; the trainer warns or raises.
        """
        best = self._best_weights()
        if best is not None:
            state, epoch_kept, monitor = best
            self.network.load_state_dict(state)
            restored = f"the best weights seen (epoch {epoch_kept}, by {monitor}) were restored"
            self.history.restored_epoch = epoch_kept
        else:
            self.network.load_state_dict(self.last_finite)
            last = self.last_finite_epoch
            restored = (
                "the last finite weights (the initial ones) were restored"
                if last is None
                else f"the last finite weights (from the end of epoch {last}) were restored"
            )
        self.optimizer.reset_state()  # moments may hold inf/nan as well
        what = what or f"the loss became {value}"
        lr = self.optimizer.lr
        message = (
            f"training diverged at epoch {epoch}, step {step}: {what}; {restored}. "
            f"Lower the learning rate (it is {lr:g}; try {lr / 10:g}), "
            "add batch normalization, or scale the inputs."
        )
        self.history.diverged = True
        self.history.divergence_message = message

    def _best_weights(self) -> tuple[dict[str, np.ndarray], int, str] | None:
        """The finite best weights early stopping kept from a completed epoch, its epoch and monitor."""
        for callback in self.callbacks:
            if isinstance(callback, EarlyStopping) and callback.restore_best_weights:
                state, epoch = callback.best_state, callback.best_epoch
                if state is not None and epoch is not None:
                    return state, epoch, callback.monitor
        return None
