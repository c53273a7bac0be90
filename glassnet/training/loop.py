"""The training loop: mini-batch SGD over reshuffled epochs, validation and callbacks.

Around the loop, each concern has one owner: :mod:`.targets` prepares the rows, the
:class:`~.divergence.DivergenceGuard` keeps finite weights, the :class:`~.interrupts.InterruptFlag`
turns Ctrl-C into a clean stop, and a checkpointer (``glassnet.io.checkpoint.Checkpointer``, or
any object with ``due``/``save``) writes :meth:`Trainer.state_dict` to disk. Diagnostics, progress,
schedules and early stopping are callbacks.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_positive_int
from ..data import BatchGatherer, epoch_order
from ..exceptions import DivergenceError, DivergenceWarning, ModelFileError
from ..floats import flush_to_zero
from ..losses import Loss, MeanSquaredError, SoftmaxCrossEntropy, get_loss
from ..network import Sequential
from ..optim import Optimizer, make_optimizer
from ..pages import row_blocks, take_rows
from .callbacks import Callback
from .divergence import DIVERGENCE_PROBE_ROWS, DivergenceGuard
from .evaluation import evaluate
from .history import History
from .interrupts import InterruptFlag
from .metrics import Score, metric_score
from .progress import EpochPrinter, ProgressBar
from .state import Checkpointer, EpochProgress, match_callback_states
from .targets import default_loss, task_of, training_rows

#: Rows hashed at a time for the checkpoint's data fingerprint (bounded memory for a cache on disk).
HASH_ROWS = 65_536

__all__ = ["Checkpointer", "EpochProgress", "Trainer", "evaluate"]


class Trainer:
    """State of one training run; :func:`glassnet.fit` creates and runs it.

    The arguments are those of :func:`glassnet.fit` except ``checkpoint``, ``resume`` and
    ``diagnostics``, which ``fit`` turns into a ``checkpointer`` and a Diagnostics callback, and
    ``rows``: positions of ``x`` to train on (``y`` and ``sample_weight`` then hold one entry per
    position), gathered batch by batch, so that x is never copied (a cross-fit member trains on
    some folds of the shared pool).

    Attributes
    ----------
    network, optimizer, loss, history, epochs, start_epoch
    stop_training : bool
        Set by a callback to end training after the current epoch.
    """

    def __init__(
        self,
        network: Sequential,
        x: Any,
        y: Any,
        *,
        loss: str | Loss | None = None,
        optimizer: str | Optimizer = "sgd",
        lr: float | None = None,
        epochs: int = 10,
        batch_size: int = 32,
        validation_split: float | None = None,
        validation_data: tuple[Any, ...] | None = None,
        callbacks: Sequence[Callback] = (),
        shuffle: bool = True,
        seed: int | None = 0,
        verbose: int = 0,
        sample_weight: Any = None,
        weight_decay: float = 0.0,
        momentum: float | None = None,
        on_divergence: str = "warn",
        checkpointer: Checkpointer | None = None,
        metrics: Mapping[str, Score] | Sequence[str] = (),
        rows: Any = None,
    ) -> None:
        if not isinstance(network, Sequential):
            raise TypeError(f"network must be a glassnet Sequential; got {type(network).__name__}.")
        if on_divergence not in ("warn", "raise"):
            raise ValueError(f"on_divergence must be 'warn' or 'raise'; got {on_divergence!r}.")
        self.network, self.on_divergence, self.checkpointer = network, on_divergence, checkpointer
        # extra validation metrics: names looked up now (a clear error, not at the first epoch's end)
        self.metrics = dict(metrics) if isinstance(metrics, Mapping) else {name: metric_score(name) for name in metrics}
        self.epochs = check_positive_int(epochs, "epochs")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.shuffle, self.verbose = bool(shuffle), verbose
        self.loss = default_loss(network) if loss is None else get_loss(loss)
        network.fused_output(self.loss)  # validates the output/loss pairing early
        rng, split_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.rng = rng
        # rows: train on those rows of x, with no copy of them (a cross-fit member's folds of the pool)
        self.x, self.rows, self.y, self.sample_weight, self.validation = training_rows(
            network, self.loss, x, y, sample_weight, validation_data, validation_split, split_rng, rows
        )
        if isinstance(optimizer, Optimizer):
            self.optimizer = optimizer
            if lr is not None:
                self.optimizer.lr = lr
        else:
            self.optimizer = make_optimizer(
                optimizer, network.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
            )
        self.callbacks = _with_printer(callbacks, verbose)
        for callback in self.callbacks:
            callback.set_trainer(self)
        self.history = History(task=task_of(self.loss))
        self.start_epoch = 1
        self.stop_training = False
        self._resume: dict[str, Any] | None = None
        self._fingerprint: dict[str, Any] | None = None

    def release_data(self) -> None:
        """Drop the trainer's references to its rows (and its batch buffers) once it has run.

        The trainer and its callbacks refer to each other, so a trainer is freed by the garbage
        collector, not when its last name goes: a cross-fit member's copy of its rows stayed in memory
        until then (two members later, three were). The network and the History are kept.
        """
        released: Any = None
        self.x = self.rows = self.y = self.sample_weight = self.validation = released
        self.__dict__.pop("_gatherer", None)

    @property
    def n_samples(self) -> int:
        """How many training rows there are (``rows``'s length when training on some rows of x)."""
        return len(self.x) if self.rows is None else len(self.rows)

    def training_x(self, positions: Any) -> np.ndarray:
        """The inputs of training rows ``positions`` (an index array, or a slice: a view of x when it is
        all training rows)."""
        if self.rows is None:
            return self.x[positions] if isinstance(positions, slice) else take_rows(self.x, positions)
        return take_rows(self.x, self.rows[positions])

    def sample_rows(self, size: int, seed: int | None) -> np.ndarray:
        """The inputs of a seeded sample of up to ``size`` training rows, in row order (the probes' rows)."""
        n = self.n_samples
        chosen = np.random.default_rng(seed).choice(n, size=min(size, n), replace=False)
        return self.training_x(np.sort(chosen))

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C asked the running loop to stop after the current batch."""
        return self._interrupt.requested if hasattr(self, "_interrupt") else False

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> History:
        """Train; return the History (``interrupted``/``diverged`` say when it ended early)."""
        self._step_rows = min(self.batch_size, self.n_samples)
        self._gatherer = BatchGatherer(self.x, self.y, self.sample_weight, batch_size=self._step_rows, rows=self.rows)
        self._guard = DivergenceGuard(self.network, self.optimizer, self.history, self.callbacks)
        self._batch_callbacks = [c for c in self.callbacks if c.wants_batch_end]
        self._gradient_callbacks = [c for c in self.callbacks if c.wants_gradients]
        for callback in self.callbacks:
            callback.on_train_begin({})
        self._load_callback_states()
        # Overflow on the way to a non-finite loss is expected and reported by the divergence guard.
        # Subnormal results are flushed to zero while training (glassnet.floats: they take the slow path).
        with np.errstate(over="ignore", invalid="ignore"), flush_to_zero(), InterruptFlag() as self._interrupt:
            try:
                for epoch in range(self.start_epoch, self.epochs + 1):
                    if not self._run_epoch(epoch):
                        break
            finally:
                for callback in self.callbacks:
                    callback.on_train_end({})
        if self.history.diverged:
            if self.on_divergence == "raise":
                raise DivergenceError(self.history.divergence_message)
            warnings.warn(self.history.divergence_message, DivergenceWarning, stacklevel=3)
        return self.history

    def _run_epoch(self, epoch: int) -> bool:
        """One epoch: batches, then validation, records and callbacks. False ends training."""
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, {})
        progress = self._epoch_progress()
        started = time.perf_counter() - progress.elapsed
        if not self._train_batches(epoch, progress, started):
            return False
        logs = self._epoch_logs(progress)
        if not self._check_finite(epoch, progress.steps, logs):
            return False
        logs["lr"] = self.optimizer.lr
        logs["time"] = time.perf_counter() - started
        self.history.record(epoch, logs)
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)
        self._guard.epoch_end(epoch)
        if self.interrupted:  # Ctrl-C arrived during validation or the epoch-end callbacks
            self._stop_interrupted(epoch, None)
            return False
        last = self.stop_training or epoch == self.epochs
        if self.checkpointer is not None and self.checkpointer.due(epoch, last):
            self.checkpointer.save(self, epoch, None)
        return not self.stop_training

    def _epoch_progress(self) -> EpochProgress:
        """A fresh shuffle, or the position a mid-epoch checkpoint saved."""
        position = self._resume.pop("position", None) if self._resume else None
        if position is None:
            return EpochProgress(order=epoch_order(self.n_samples, self.rng, self.shuffle))
        return EpochProgress(
            order=position["order"],
            next_start=int(position["next_start"]),
            total_loss=float(position["total_loss"]),
            correct=int(position["correct"]),
            steps=int(position["steps"]),
            elapsed=float(position["elapsed"]),
        )

    def _train_batches(self, epoch: int, progress: EpochProgress, started: float) -> bool:
        """The epoch's optimizer steps from ``progress.next_start``. False ends training.

        The hot loop keeps its counters in locals and writes them back to ``progress`` when it
        ends (Python attribute updates on every step would cost more than the bookkeeping).
        """
        network, loss, optimizer, gather = self.network, self.loss, self.optimizer, self._gatherer.gather
        batch_size, order, n = self._step_rows, progress.order, self.n_samples
        gradient_callbacks, batch_callbacks, interrupt = (
            self._gradient_callbacks,
            self._batch_callbacks,
            self._interrupt,
        )
        total_loss, correct_rows, steps = progress.total_loss, progress.correct, progress.steps
        finished = True
        for start in range(progress.next_start, n, batch_size):
            x_batch, y_batch, w_batch = gather(order[start : start + batch_size])
            value, correct = network.train_step(x_batch, y_batch, loss, w_batch)
            if not math.isfinite(value):
                self._guard.diverged(epoch, steps + 1, value)
                finished = False
                break
            for callback in gradient_callbacks:
                callback.on_gradients(steps)
            optimizer.step()
            total_loss += value * (float(w_batch.sum()) if w_batch is not None else len(x_batch))
            if correct is not None:
                correct_rows += correct
            steps += 1
            if batch_callbacks:
                logs = {"loss": value, "size": len(x_batch)}
                for callback in batch_callbacks:
                    callback.on_batch_end(steps, logs)
            if interrupt.requested:  # Ctrl-C arrived during this batch: stop after it, resumably
                progress.next_start, progress.elapsed = start + batch_size, time.perf_counter() - started
                finished = False
                break
        progress.total_loss, progress.correct, progress.steps = total_loss, correct_rows, steps
        if not finished and interrupt.requested and not self.history.diverged:
            self._stop_interrupted(epoch, progress)
        return finished

    def _epoch_logs(self, progress: EpochProgress) -> dict[str, Any]:
        """The epoch's training loss and metric, and the validation ones."""
        n = self.n_samples
        total_weight = float(self.sample_weight.sum()) if self.sample_weight is not None else float(n)
        logs: dict[str, Any] = {"loss": progress.total_loss / (total_weight if total_weight > 0 else n)}
        if isinstance(self.loss, SoftmaxCrossEntropy) and self.y.ndim == 1:
            logs["accuracy"] = progress.correct / n
        elif isinstance(self.loss, MeanSquaredError):
            logs["rmse"] = math.sqrt(logs["loss"] * self.y.shape[1])
        if self.validation is not None:
            x_val, y_val, w_val = self.validation
            val_logs = evaluate(self.network, x_val, y_val, self.loss, w_val, self.metrics)
            logs.update({f"val_{key}": value for key, value in val_logs.items()})
        return logs

    def _check_finite(self, epoch: int, steps: int, logs: dict[str, Any]) -> bool:
        """The epoch-end divergence checks: validation loss, or outputs on training rows."""
        if self.validation is not None:
            if not math.isfinite(logs["val_loss"]):
                self._guard.diverged(epoch, steps, logs["val_loss"])
                return False
        elif self._guard.outputs_overflow(self.training_x(slice(0, DIVERGENCE_PROBE_ROWS))):
            # No validation to notice it: the last step left weights whose outputs overflow.
            self._guard.diverged(epoch, steps, math.nan, "the network's outputs became non-finite")
            return False
        return True

    def _stop_interrupted(self, epoch: int, progress: EpochProgress | None) -> None:
        """The one place an interrupt ends training: checkpoint (when configured) and record it.

        The message is the same for every caller; :func:`glassnet.fit` and the command line add
        how to resume in their own terms.
        """
        history = self.history
        history.interrupted = True
        if progress is None:
            where = f"after epoch {epoch}"
        else:
            batches = -(-self.n_samples // self._step_rows)
            where = f"in epoch {epoch} after {progress.steps} of {batches} batches"
        if self.checkpointer is None:
            history.interrupt_message = f"training was interrupted {where}; no checkpoint was configured."
            history.interrupt_checkpoint = None
            return
        position = None if progress is None else progress.position()
        self.checkpointer.save(self, epoch if position is None else epoch - 1, position)
        path = self.checkpointer.path
        history.interrupt_message = f"training was interrupted {where}; its state was saved to {path}."
        history.interrupt_checkpoint = str(path)

    # -- state for checkpoints ----------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """What a resumed run must share with the saved one: data, network and settings."""
        if self._fingerprint is None:  # computed once: it hashes the training data
            hasher = hashlib.sha256()
            # block by block: an out-of-core cache is read in bounded memory; some rows of x are hashed
            # as gathered (the same bytes as a copy of them)
            if self.rows is None:
                inputs = (block for _, block in row_blocks(np.ascontiguousarray(self.x), HASH_ROWS))
            else:
                inputs = (self.training_x(slice(s, s + HASH_ROWS)) for s in range(0, self.n_samples, HASH_ROWS))
            for block in inputs:
                hasher.update(block.data)
            for array in (self.y, self.sample_weight):
                if array is not None:
                    for _, block in row_blocks(np.ascontiguousarray(array), HASH_ROWS):
                        hasher.update(block.data)
            self._fingerprint = {
                "data_sha256": hasher.hexdigest(),
                "n_samples": self.n_samples,
                "batch_size": self.batch_size,
                "architecture": self.network.config(),
                "optimizer": type(self.optimizer).__name__,
                "loss": type(self.loss).__name__,
                "shuffle": self.shuffle,
            }
        return self._fingerprint

    def state_dict(self, epoch: int, position: dict[str, Any] | None = None) -> dict[str, Any]:
        """The full training state after ``epoch`` (and ``position`` inside the next one)."""
        return {
            "fingerprint": self.fingerprint(),
            "epoch": epoch,
            "position": position,
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "noise_rng": self.network.noise_rng.bit_generator.state,
            "history": self.history.to_dict(),
            "callbacks": [callback.state_dict() for callback in self.callbacks],
            "callback_types": [type(callback).__name__ for callback in self.callbacks],
            # a callback ended the run (early stopping): resuming it trains no further epoch
            "stopped": bool(self.stop_training),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of the same run (ValueError names what differs).

        Callback states are matched to this trainer's callbacks by type, in order, and loaded
        when :meth:`run` starts (after ``on_train_begin``).
        """
        expected = self.fingerprint()
        saved = state.get("fingerprint", {})
        for key in expected:
            if saved.get(key) != expected[key]:
                raise ValueError(
                    f"it was written for a different run ({key} differs); resume needs the same data, "
                    "network and settings."
                )
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.network.noise_rng.bit_generator.state = state["noise_rng"]
        history = History.from_dict(state["history"])
        history.interrupted, history.interrupt_message, history.interrupt_checkpoint = False, "", None
        self.history = history
        self.start_epoch = int(state["epoch"]) + 1
        if state.get("stopped") and state.get("position") is None:
            self.start_epoch = self.epochs + 1  # the run had ended: the callbacks' end (best weights) only
        self._resume = {
            "position": state["position"],
            "callbacks": match_callback_states(self.callbacks, state["callbacks"], state.get("callback_types")),
        }

    def _load_callback_states(self) -> None:
        pairs = self._resume.pop("callbacks", []) if self._resume else []
        for callback, saved in pairs:
            try:
                callback.load_state_dict(saved)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                source = "the saved state" if self.checkpointer is None else f"checkpoint {self.checkpointer.path}"
                raise ModelFileError(
                    f"{source} holds a state that {type(callback).__name__} cannot load: {type(exc).__name__}: {exc}"
                ) from None


def _with_printer(callbacks: Sequence[Callback], verbose: int) -> list[Callback]:
    """The user's callbacks, checked, plus the progress printer ``verbose`` asks for."""
    chosen = list(callbacks)
    for callback in chosen:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be glassnet Callback objects; got {type(callback).__name__}.")
    if verbose == 1:
        chosen.append(ProgressBar(verbose=1))
    elif verbose and verbose >= 2:
        chosen.append(EpochPrinter())
    return chosen
