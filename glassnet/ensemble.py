"""Ensemble: networks of one architecture whose predictions are averaged, and their spread.

The members of a K-fold cross-fit (``glassnet train``'s default) each learned from a different
part of the rows; averaging them predicts better than any one of them, and how much they disagree
says how sure the ensemble is about a row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layers import Layer
from .network import Sequential


class Ensemble:
    """Networks with the same inputs and outputs; ``predict`` is the mean of theirs.

    Parameters
    ----------
    members : sequence of Sequential
        Built networks with the same input and output widths.

    Notes
    -----
    For probabilities (softmax or sigmoid outputs) the mean is the mean probability, for regression
    the mean prediction. :meth:`spread` gives, per row, the members' standard deviation
    (regression) or the fraction of members whose class differs from the ensemble's (classes).
    """

    def __init__(self, members: Sequence[Sequential]) -> None:
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member; got none.")
        if not all(isinstance(m, Sequential) and m.built for m in members):
            raise ValueError("every member must be a built Sequential network.")
        shapes = {(m.input_dim, m.output_dim) for m in members}
        if len(shapes) > 1:
            raise ValueError(f"members must share input and output widths; got {sorted(shapes)}.")
        self.members = members

    def __len__(self) -> int:
        return len(self.members)

    @property
    def input_dim(self) -> int:
        return int(self.members[0].input_dim or 0)

    @property
    def output_dim(self) -> int:
        return int(self.members[0].output_dim)

    @property
    def dtype(self) -> np.dtype:
        return self.members[0].dtype

    @property
    def layers(self) -> list[Layer]:
        """The first member's layers (every member has the same architecture)."""
        return list(self.members[0].layers)

    @property
    def n_parameters(self) -> int:
        return sum(m.n_parameters for m in self.members)

    def member_predictions(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Every member's ``predict``, stacked: shape (members, rows, outputs)."""
        return np.stack([m.predict(x, batch_size=batch_size) for m in self.members])

    def predict(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """The members' mean prediction, shape (rows, outputs)."""
        return np.asarray(self.member_predictions(x, batch_size).mean(axis=0))

    @staticmethod
    def spread(predictions: np.ndarray, classes: bool | str) -> np.ndarray:
        """Per-row disagreement of stacked member ``predictions`` (members, rows, outputs).

        ``classes=True``: the fraction of members whose most probable class is not the
        ensemble's (0: unanimous). ``classes="labels"`` (independent labels, probabilities per
        output): the fraction of (member, label) votes that differ from the ensemble's, per row.
        ``False``: the members' standard deviation, per output.
        """
        predictions = np.asarray(predictions, dtype=np.float64)
        if predictions.ndim != 3:
            raise ValueError(f"predictions must have shape (members, rows, outputs); got {predictions.shape}.")
        if classes == "labels":
            chosen = predictions.mean(axis=0) > 0.5
            return np.asarray(np.mean((predictions > 0.5) != chosen, axis=(0, 2)))
        if classes:
            chosen = predictions.mean(axis=0).argmax(axis=1)
            return np.asarray((predictions.argmax(axis=2) != chosen).mean(axis=0))
        return np.asarray(predictions.std(axis=0))

    def __repr__(self) -> str:
        return f"Ensemble({len(self)} members of {self.members[0]!r})"
