"""Callbacks that show or record progress: a progress bar, a line per epoch, a CSV log."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .callbacks import Callback

#: The keys a progress line shows, when logged.
SHOWN = ("loss", "accuracy", "rmse", "val_loss", "val_accuracy", "val_rmse")


class ProgressBar(Callback):
    """A tqdm progress bar over epochs showing the latest losses, in a terminal.

    When the stream is not a terminal (a log file, CI, a notebook's captured output) it prints a
    plain line instead, at most one every ``interval`` seconds plus the first and the last epoch, as
    Keras and LightGBM do. Silent with ``verbose=0``. ``force=True`` draws the bar anyway.
    ``position``, ``leave`` and ``desc`` are tqdm's: a bar nested under a job's phase bar sits at
    line 1, is labelled, and is cleared when training ends.
    """

    def __init__(
        self, verbose: int = 1, stream: TextIO | None = None, force: bool = False, interval: float = 10.0,
        position: int | None = None, leave: bool = True, desc: str | None = None,
    ) -> None:  # fmt: skip
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.force = force
        self.interval = interval
        self.position, self.leave, self.desc = position, leave, desc
        self._bar: Any = None  # a tqdm bar while training in a terminal
        self._lines = False  # plain lines instead (not a terminal)
        self._last_line = 0.0
        self._pending: str | None = None  # the latest epoch's line, when it was not printed

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        interactive = self.force or (hasattr(self.stream, "isatty") and self.stream.isatty())
        self._lines = bool(self.verbose) and not interactive
        self._last_line, self._pending = 0.0, None
        if self.verbose and interactive:
            from tqdm.auto import tqdm  # imported lazily: the core import stays light

            self._bar = tqdm(
                total=self.trainer.epochs,
                initial=self.trainer.start_epoch - 1,
                unit="epoch",
                file=self.stream,
                position=self.position,
                desc=self.desc,
                leave=self.leave,
                dynamic_ncols=True,
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._lines:
            import time

            line = epoch_line(epoch, self.trainer.epochs, logs or {})
            now = time.monotonic()
            if (
                epoch == self.trainer.start_epoch
                or epoch == self.trainer.epochs
                or now - self._last_line >= self.interval
            ):
                print(line, file=self.stream, flush=True)
                self._last_line, self._pending = now, None
            else:
                self._pending = line
        if self._bar is not None:
            shown = {
                k: f"{v:.4g}"
                for k, v in (logs or {}).items()
                if k in ("loss", "val_loss", "accuracy", "val_accuracy", "val_rmse")
            }
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(1)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._pending is not None:  # stopped early: the last epoch is always shown
            print(self._pending, file=self.stream, flush=True)
            self._pending = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def epoch_line(epoch: int, epochs: int, logs: dict[str, Any]) -> str:
    """``epoch  12/100  loss 0.4213  val_loss 0.4511 ...``: one epoch's logged losses and metrics."""
    text = "  ".join(f"{k} {logs[k]:.4f}" for k in SHOWN if k in logs)
    return f"epoch {epoch:>3}/{epochs}  {text}"


class EpochPrinter(Callback):
    """Print one line per epoch (train and validation loss and metric) to a stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        print(epoch_line(epoch, self.trainer.epochs, logs or {}), file=self.stream or sys.stdout, flush=True)


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file (written and flushed as training goes)."""

    def __init__(self, path: str | Path, append: bool = False) -> None:
        self.path = Path(path)
        self.append = append
        self._file: TextIO | None = None
        self._writer: csv.DictWriter[str] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # A resumed run appends to the rows already written.
        append = self.append or getattr(self, "trainer", None) is not None and self.trainer.start_epoch > 1
        self._file = open(self.path, "a" if append else "w", newline="", encoding="utf-8")
        self._writer = None
        self._has_header = append and self.path.stat().st_size > 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        row = {
            "epoch": epoch,
            **{k: (float(v) if isinstance(v, (int, float, np.floating)) else v) for k, v in (logs or {}).items()},
        }
        if self._file is None:
            raise RuntimeError("CSVLogger: on_epoch_end was called before on_train_begin.")
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=list(row), extrasaction="ignore")
            if not self._has_header:
                self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
