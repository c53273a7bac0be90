"""Callbacks: everything around the training loop (stopping, schedules, progress, logging).

A callback sees the trainer (``self.trainer``: network, optimizer, history, ``stop_training``)
and gets ``on_train_begin``, ``on_epoch_begin``, ``on_gradients`` (between the backward flow and
the optimizer step), ``on_batch_end``, ``on_epoch_end`` and ``on_train_end``. Epochs are counted
from 1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_fraction, check_positive_float
from .metrics import metric_mode

if TYPE_CHECKING:
    from .loop import Trainer


class Callback:
    """Base class; override the hooks you need."""

    trainer: Trainer

    @property
    def wants_batch_end(self) -> bool:
        """Whether the loop must call ``on_batch_end`` (skipped when not overridden: it is hot)."""
        return type(self).on_batch_end is not Callback.on_batch_end

    @property
    def wants_gradients(self) -> bool:
        """Whether the loop must call ``on_gradients`` (skipped when not overridden: it is hot)."""
        return type(self).on_gradients is not Callback.on_gradients

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_gradients(self, step: int) -> None:
        """Called after the backward flow of the epoch's ``step``-th batch (from 0), before the update."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None: ...

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """State needed to resume (checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class _Monitor:
    """Tracks the best value of a logged quantity with a declared direction."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; got mode={mode!r}.")
        self.monitor = monitor
        self.mode = metric_mode(monitor) if mode == "auto" else mode
        self.min_delta = abs(min_delta)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict[str, Any] | None) -> float:
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(
                f"monitor={self.monitor!r} is not logged; available: {sorted(logs)}. "
                "Monitoring a 'val_' quantity needs validation_split or validation_data."
            )
        return float(logs[self.monitor])

    def improved(self, current: float) -> bool:
        if not math.isfinite(current):
            return False
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when the monitored quantity stops improving, and keep the best weights.

    Parameters
    ----------
    monitor : str, default="val_loss"
    patience : int, default=10
        Epochs without improvement before stopping.
    min_delta : float, default=0
        Smallest change that counts as an improvement.
    min_relative_improvement : float, default=0
        How far, as a fraction of its value, the monitored quantity must move past the value of the
        last epoch that reset the patience for the patience to start again. Smaller gains still make
        an epoch the best one (its weights are kept), but a run of them does not keep training going:
        0.001 stops a validation loss that creeps down by hundredths of a percent an epoch, while a
        steady 0.05 % an epoch resets the patience every second epoch.
    restore_best_weights : bool, default=True
        Restore the weights (and batch-norm statistics) of the best epoch at the end of
        training, whether training stopped early or ran to the last epoch.
    mode : "auto", "min" or "max"
        Direction; "auto" takes it from the metric's declared direction.

    Examples
    --------
    >>> import glassnet as gn
    >>> stop = gn.EarlyStopping(patience=5)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        mode: str = "auto",
        min_relative_improvement: float = 0.0,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer; got patience={patience!r}.")
        if not 0 <= min_relative_improvement < 1:
            raise ValueError(
                "min_relative_improvement must be in [0, 1); "
                f"got min_relative_improvement={min_relative_improvement!r}."
            )
        self.patience = patience
        self.min_relative_improvement = float(min_relative_improvement)
        self.restore_best_weights = restore_best_weights
        self._monitor = _Monitor(monitor, mode, min_delta)
        self.monitor = monitor
        self.on_train_begin()  # the state is defined before training too (checkpoints read it)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Reset on every fit so that a second fit does not inherit the first one's best value.
        self._monitor.reset()
        self.wait = 0
        self.reference = self._monitor.best  # the value at the last epoch that reset the patience
        self.best_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        current = self._monitor.value(logs)
        better = self._monitor.improved(current)
        clearly = better and self._clearly_improved(current)
        if better:
            self._monitor.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_state = self.trainer.network.state_dict()
        if clearly:
            self.reference = current
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.trainer.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        history = self.trainer.history
        history.best_epoch = self.best_epoch
        history.stopped_epoch = self.stopped_epoch
        if self.restore_best_weights and self.best_state is not None:  # after a divergence too
            self.trainer.network.load_state_dict(self.best_state)
            history.restored_epoch = self.best_epoch

    def _clearly_improved(self, current: float) -> bool:
        """Whether ``current`` moved past the reference by ``min_relative_improvement`` of its size."""
        if not math.isfinite(self.reference):
            return True
        margin = self.min_relative_improvement * abs(self.reference)
        return current < self.reference - margin if self._monitor.mode == "min" else current > self.reference + margin

    @property
    def best(self) -> float:
        return self._monitor.best

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self._monitor.best,
            "reference": self.reference,
            "wait": self.wait,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._monitor.best = float(state["best"])  # float("inf") also reads checkpoints that stored "inf"
        self.reference = float(state.get("reference", state["best"]))  # checkpoints before 0.7: the best
        self.wait = int(state["wait"])
        self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])
        self.stopped_epoch = None if state["stopped_epoch"] is None else int(state["stopped_epoch"])
        best_state = state["best_state"]
        trainer = getattr(self, "trainer", None)
        if best_state is not None and trainer is not None:  # checked now, not when it is restored at the end
            expected = {p.name: p.value for p in trainer.network.parameters()} | trainer.network.buffers()
            if (
                not isinstance(best_state, dict)
                or set(best_state) != set(expected)
                or any(np.shape(best_state[name]) != value.shape for name, value in expected.items())
                or any(np.asarray(best_state[name]).dtype.kind not in "fiu" for name in expected)
            ):
                raise ValueError("the saved best weights do not match this network")
        self.best_state = best_state


class TimeLimit(Callback):
    """Stop training before a deadline, at the end of the last epoch that fits.

    After each epoch, training stops when one more epoch as long as the longest so far would end past
    ``deadline``. The epoch's weights stay as they are; with :class:`EarlyStopping` before it in the
    callbacks, the best epoch's weights are restored as usual. ``history.time_limited_epoch`` records
    the epoch after which the limit stopped training.

    Parameters
    ----------
    deadline : float
        Wall-clock time, in seconds since the Unix epoch (``time.time()``): the same clock in every
        thread and process of the machine.

    Examples
    --------
    >>> import time, glassnet as gn
    >>> limit = gn.TimeLimit(time.time() + 60)
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = float(deadline)
        self.longest = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.longest = 0.0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.longest = max(self.longest, float((logs or {}).get("time", 0.0)))
        if not self.trainer.stop_training and time.time() + self.longest > self.deadline:
            self.trainer.stop_training = True
            self.trainer.history.time_limited_epoch = epoch


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, initial_lr)``."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        self.schedule = schedule

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not hasattr(self, "initial_lr"):
            self.initial_lr = self.trainer.optimizer.lr

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        lr = float(self.schedule(epoch, self.initial_lr))
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"the schedule returned lr={lr!r} at epoch {epoch}; it must be positive.")
        self.trainer.optimizer.lr = lr

    def state_dict(self) -> dict[str, Any]:
        return {"initial_lr": getattr(self, "initial_lr", None)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("initial_lr") is not None:
            self.initial_lr = state["initial_lr"]


class StepDecay(LearningRateScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size: int = 10, gamma: float = 0.1) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer; got step_size={step_size!r}.")
        gamma = check_positive_float(gamma, "gamma")
        super().__init__(lambda epoch, lr0: lr0 * gamma ** ((epoch - 1) // step_size))


class ExponentialDecay(LearningRateScheduler):
    """``lr = lr₀ · gamma^(epoch − 1)``."""

    def __init__(self, gamma: float = 0.95) -> None:
        gamma = check_positive_float(gamma, "gamma")
        super().__init__(lambda epoch, lr0: lr0 * gamma ** (epoch - 1))


class CosineDecay(LearningRateScheduler):
    """Cosine annealing from lr₀ to ``min_lr`` over ``total_epochs``."""

    def __init__(self, total_epochs: int, min_lr: float = 0.0) -> None:
        if not isinstance(total_epochs, int) or total_epochs < 1:
            raise ValueError(f"total_epochs must be a positive integer; got {total_epochs!r}.")
        min_lr = check_positive_float(min_lr, "min_lr", allow_zero=True)

        def schedule(epoch: int, lr0: float) -> float:
            progress = min(epoch - 1, total_epochs) / total_epochs
            return max(min_lr + 0.5 * (lr0 - min_lr) * (1 + math.cos(math.pi * progress)), 1e-12)

        super().__init__(schedule)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 5,
        min_delta: float = 0.0,
        min_lr: float = 0.0,
        mode: str = "auto",
    ) -> None:
        self.factor = check_fraction(factor, "factor", low_open=True)
        self.patience = patience
        self.min_lr = min_lr
        self._monitor = _Monitor(monitor, mode, min_delta)
        self.on_train_begin()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._monitor.reset()
        self.wait = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        current = self._monitor.value(logs)
        if self._monitor.improved(current):
            self._monitor.best = current
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            optimizer = self.trainer.optimizer
            optimizer.lr = max(optimizer.lr * self.factor, self.min_lr, 1e-12)
            self.wait = 0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self._monitor.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._monitor.best, self.wait = float(state["best"]), int(state["wait"])
