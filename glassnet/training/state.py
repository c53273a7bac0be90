"""The state a training run saves and resumes from: the position inside an epoch, the callbacks' states.

The loop (:mod:`.loop`) writes them through a :class:`Checkpointer` (``glassnet.io.checkpoint``
provides one) and reads them back with ``Trainer.load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .callbacks import Callback

if TYPE_CHECKING:
    from .loop import Trainer


class Checkpointer(Protocol):
    """What the loop needs from a checkpoint writer (``glassnet.io.checkpoint`` provides one)."""

    path: str

    def due(self, epoch: int, last: bool) -> bool: ...

    def save(self, trainer: Trainer, epoch: int, position: dict[str, Any] | None) -> None: ...


@dataclass
class EpochProgress:
    """Where the loop is inside an epoch: what a mid-epoch checkpoint stores."""

    order: np.ndarray
    next_start: int = 0
    total_loss: float = 0.0
    correct: int = 0
    steps: int = 0
    elapsed: float = 0.0

    def position(self) -> dict[str, Any]:
        return {
            "order": np.asarray(self.order),
            "next_start": int(self.next_start),
            "total_loss": float(self.total_loss),
            "correct": int(self.correct),
            "steps": int(self.steps),
            "elapsed": float(self.elapsed),
        }


def match_callback_states(
    callbacks: Sequence[Callback], states: list[Any], types: list[Any] | None
) -> list[tuple[Callback, dict[str, Any]]]:
    """Pair each callback with its saved state, by type in order (progress printers may differ)."""
    if types is None or len(types) != len(states):  # checkpoints before 0.5: by position
        types = [type(callback).__name__ for callback in callbacks][: len(states)]
    unused = list(range(len(states)))
    pairs = []
    for callback in callbacks:
        name = type(callback).__name__
        match = next((i for i in unused if types[i] == name), None)
        if match is None:
            if callback.state_dict():
                raise ValueError(
                    f"it holds no state for the {name} callback; resume with the callbacks of the interrupted run."
                )
            continue
        unused.remove(match)
        pairs.append((callback, states[match]))
    return pairs
