"""What happened in training, epoch by epoch, and what it means."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

#: The overfitting-onset rule's settings (see :meth:`History.overfitting_onset_for`).
ONSET_MIN_EPOCHS_AFTER = 5
ONSET_WINDOW = 5
ONSET_MIN_RISE = 0.02
ONSET_NOISE_LEVELS = 3.0
ONSET_CRITERION = (
    f"an overfitting onset is the epoch of lowest validation loss when at least "
    f"{ONSET_MIN_EPOCHS_AFTER} epochs followed it, the validation loss over the last {ONSET_WINDOW} "
    f"epochs (their median) stayed at least {ONSET_MIN_RISE:.0%} and {ONSET_NOISE_LEVELS:g} noise "
    "levels above that minimum (taken as the median of it and its two neighbouring epochs), and the "
    "training loss kept falling"
)


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
    best_epoch: int | None = None
    restored_epoch: int | None = None
    stopped_epoch: int | None = None
    diverged: bool = False
    divergence_message: str = ""
    interrupted: bool = False
    interrupt_message: str = ""
    interrupt_checkpoint: str | None = None
    time_limited_epoch: int | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def record(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        return f"History({len(self)} epoch(s), best epoch {self.best_epoch})"

    def _repr_html_(self) -> str | None:
        """Jupyter's display: the curves, the onset and the restored epoch inline (glassnet.notebook,
        which draws with matplotlib); None (the text below) where it cannot draw."""
        try:
            from ..notebook import history_html

            return history_html(self)
        except ImportError:  # a core-only install: no matplotlib
            return None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text display: the summary sentences."""
        printer.text(f"{self!r}: {self.summary()}")

    def overfitting_onset_for(self, patience: int | None = None) -> int | None:
        """The epoch after which the model overfits, or None; the rule is :data:`ONSET_CRITERION`.

        Let e* be the epoch of the lowest validation loss, and m the median of the validation
        loss at e* and its two neighbouring epochs (so that one lucky epoch does not set the bar).
        The onset is e* when at least ``patience`` epochs (default :data:`ONSET_MIN_EPOCHS_AFTER`)
        followed it; the median validation loss of the last :data:`ONSET_WINDOW` epochs exceeds m by at least
        :data:`ONSET_MIN_RISE` of m and by at least :data:`ONSET_NOISE_LEVELS` times the curve's
        epoch-to-epoch noise (:meth:`validation_noise`); and the training loss kept falling (its
        median after e* is below its value at e*). A noisy plateau, a rise of a few tenths of a
        percent, or a blip of one or two epochs is no onset.
        """
        after_needed = ONSET_MIN_EPOCHS_AFTER if patience is None else max(1, int(patience))
        val, train = self.history.get("val_loss"), self.history.get("loss")
        if not val or not train or len(val) != len(train):
            return None
        val_a, train_a = np.asarray(val, dtype=float), np.asarray(train, dtype=float)
        if not np.isfinite(val_a).all() or not np.isfinite(train_a).all():
            return None
        best = int(np.argmin(val_a))
        after = val_a[best + 1 :]
        if len(after) < after_needed:
            return None
        # The bar is the median of the minimum and its two neighbours: one lucky epoch does not set it.
        minimum = float(np.median(val_a[max(0, best - 1) : best + 2]))
        rise = float(np.median(after[-ONSET_WINDOW:])) - minimum
        if rise <= 0 or rise < ONSET_MIN_RISE * abs(minimum) or rise < ONSET_NOISE_LEVELS * self.validation_noise():
            return None
        if not np.median(train_a[best + 1 :]) < train_a[best]:
            return None
        return self.epochs[best]

    def validation_noise(self) -> float:
        """Robust epoch-to-epoch noise of the validation loss: 1.4826·MAD(first differences)/√2."""
        val = np.asarray(self.history.get("val_loss", []), dtype=float)
        if len(val) < 3 or not np.isfinite(val).all():
            return 0.0
        steps = np.diff(val)
        return float(1.4826 * np.median(np.abs(steps - np.median(steps))) / np.sqrt(2.0))

    @property
    def overfitting_onset(self) -> int | None:
        """:meth:`overfitting_onset_for` with the default settings."""
        return self.overfitting_onset_for()

    def generalization_gap(self) -> str | None:
        """The train/validation gap at the best (else last) epoch on the metric's own scale, or None.

        Accuracy in points for classification, the RMSE ratio for regression; the training
        figure is the epoch's running average over its batches (training mode).
        """
        if not self.epochs:
            return None
        val = self.history.get("val_loss")
        index = int(np.nanargmin(val)) if val and np.isfinite(val).any() else len(self.epochs) - 1
        if self.restored_epoch in self.epochs:
            index = self.epochs.index(self.restored_epoch)
        epoch = self.epochs[index]
        if "accuracy" in self.history and "val_accuracy" in self.history:
            train, held = self.history["accuracy"][index], self.history["val_accuracy"][index]
            return (
                f"at epoch {epoch} training accuracy {train:.3f} vs validation {held:.3f} "
                f"(gap {100 * (train - held):.1f} points)"
            )
        if "rmse" in self.history and "val_rmse" in self.history:
            train, held = self.history["rmse"][index], self.history["val_rmse"][index]
            if train > 0:
                return f"at epoch {epoch} validation RMSE {held:.4g} vs training {train:.4g} ({held / train:.2f}x)"
        return None

    def summary(self) -> str:
        """Plain sentences on how training went: the onset verdict, its criterion and the gap."""
        if not self.epochs:
            return self.divergence_message or "no epoch was completed."
        parts = []
        if self.diverged:
            parts.append(self.divergence_message)
        if self.interrupted:
            parts.append(self.interrupt_message)
        onset = self.overfitting_onset
        val = self.history.get("val_loss")
        if onset is not None and val is not None:
            value = val[self.epochs.index(onset)]
            text = (
                f"validation loss bottomed at epoch {onset} ({value:.4g}) and stayed above it while training "
                f"loss kept falling: the model overfits after epoch {onset}"
            )
        elif val:
            best = int(np.nanargmin(val))
            text = (
                f"validation loss was lowest at epoch {self.epochs[best]} ({val[best]:.4g}) of "
                f"{len(self.epochs)}; no overfitting detected"
            )
        else:
            text = (
                f"trained {len(self.epochs)} epochs, final training loss {self.history['loss'][-1]:.4g} "
                "(no validation data)"
            )
        if self.restored_epoch is not None:
            text += f"; weights from epoch {self.restored_epoch} were restored"
        if self.stopped_epoch is not None:
            text += f"; early stopping ended training after epoch {self.stopped_epoch}"
        if self.time_limited_epoch is not None:
            text += f"; the time limit ended training after epoch {self.time_limited_epoch}"
        parts.append(text + ".")
        gap = self.generalization_gap() if val else None
        if gap:
            parts.append(f"Generalization gap: {gap}.")
        if val:
            parts.append(f"Criterion: {ONSET_CRITERION}.")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": list(self.epochs),
            "history": {k: list(v) for k, v in self.history.items()},
            "grad_norms": {k: list(v) for k, v in self.grad_norms.items()},
            "task": self.task,
            "best_epoch": self.best_epoch,
            "restored_epoch": self.restored_epoch,
            "stopped_epoch": self.stopped_epoch,
            "diverged": self.diverged,
            "divergence_message": self.divergence_message,
            "interrupted": self.interrupted,
            "interrupt_message": self.interrupt_message,
            "interrupt_checkpoint": self.interrupt_checkpoint,
            "time_limited_epoch": self.time_limited_epoch,
            "diagnostics": self.diagnostics,
            "overfitting_onset": self.overfitting_onset,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        data = dict(data)
        data.pop("overfitting_onset", None)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
