"""What happened in training, epoch by epoch, and what it means."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class History:
    """Per-epoch record of a training run.

    Attributes
    ----------
    epochs : list of int
        Epoch numbers, counted from 1.
    history : dict of str to list of float
        Keras-style curves by key: ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``, ``lr``,
        ``time``, ... (one value per epoch).
    grad_norms : dict of str to list of float
        Per Dense layer, the mean of ‖dL/dW‖₂ over the epoch (sampled on every 4th step).
    best_epoch, restored_epoch : int or None
        Set by :class:`~glassnet.EarlyStopping`.
    stopped_epoch : int or None
        The epoch after which training stopped early.
    diverged : bool
        True when a non-finite loss stopped training.
    """

    epochs: list[int] = field(default_factory=list)
    history: dict[str, list[float]] = field(default_factory=dict)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    task: str = ""
    patience: int = 5
    best_epoch: int | None = None
    restored_epoch: int | None = None
    stopped_epoch: int | None = None
    diverged: bool = False
    divergence_message: str = ""
    interrupted: bool = False
    interrupt_message: str = ""
    diagnostics: dict = field(default_factory=dict)

    def record(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def overfitting_onset_for(self, patience: int | None = None) -> int | None:
        """The epoch where validation loss bottomed while training loss kept falling, or None.

        The onset is the epoch e* of the lowest validation loss, provided at least ``patience``
        epochs followed it, the training loss fell over those epochs (its value ``patience``
        epochs later and its last value are both below its value at e*), and the validation loss
        never returned to its minimum. ``patience`` defaults to the run's: early stopping's
        patience capped at 10, else 5.
        """
        patience = self.patience if patience is None else patience
        val, train = self.history.get("val_loss"), self.history.get("loss")
        if not val or not train:
            return None
        val_a, train_a = np.asarray(val), np.asarray(train)
        if not np.isfinite(val_a).any():
            return None
        best = int(np.nanargmin(val_a))
        after = len(val_a) - 1 - best
        if after < patience:
            return None
        if not (train_a[best + patience] < train_a[best] and train_a[-1] < train_a[best]):
            return None
        return self.epochs[best]

    @property
    def overfitting_onset(self) -> int | None:
        """:meth:`overfitting_onset_for` with the run's patience."""
        return self.overfitting_onset_for()

    def summary(self) -> str:
        """One or two plain sentences on how training went."""
        if not self.epochs:
            return self.divergence_message or "no epoch was completed."
        parts = []
        if self.diverged:
            parts.append(self.divergence_message)
        onset = self.overfitting_onset
        val = self.history.get("val_loss")
        if onset is not None:
            value = val[self.epochs.index(onset)]
            text = (f"validation loss bottomed at epoch {onset} ({value:.4g}) while training loss kept "
                    f"falling: the model overfits after epoch {onset}")
        elif val:
            best = int(np.nanargmin(val))
            text = (f"validation loss was lowest at epoch {self.epochs[best]} ({val[best]:.4g}) of "
                    f"{len(self.epochs)}; no overfitting detected")
        else:
            text = f"trained {len(self.epochs)} epochs, final training loss {self.history['loss'][-1]:.4g} (no validation data)"
        if self.restored_epoch is not None:
            text += f"; weights from epoch {self.restored_epoch} were restored"
        if self.stopped_epoch is not None:
            text += f"; early stopping ended training after epoch {self.stopped_epoch}"
        parts.append(text + ".")
        return " ".join(parts)

    def to_dict(self) -> dict:
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in self.history.items()},
                "grad_norms": {k: list(v) for k, v in self.grad_norms.items()}, "task": self.task,
                "patience": self.patience, "best_epoch": self.best_epoch,
                "restored_epoch": self.restored_epoch, "stopped_epoch": self.stopped_epoch,
                "diverged": self.diverged, "divergence_message": self.divergence_message,
                "interrupted": self.interrupted, "interrupt_message": self.interrupt_message,
                "diagnostics": self.diagnostics,
                "overfitting_onset": self.overfitting_onset}

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        data = dict(data)
        data.pop("overfitting_onset", None)
        return cls(**data)
