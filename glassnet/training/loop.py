"""The training loop: mini-batch SGD over reshuffled epochs, validation, callbacks, divergence guard."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence

import numpy as np

from .._validation import (
    all_finite,
    check_class_labels,
    check_consistent_length,
    check_features,
    check_fraction,
    check_positive_int,
    check_targets,
)
from ..data import BatchGatherer, epoch_order
from ..exceptions import DivergenceError, DivergenceWarning
from ..layers import Dense, Sigmoid, Softmax
from ..losses import BinaryCrossEntropy, Loss, MeanSquaredError, SoftmaxCrossEntropy, get_loss
from ..network import Sequential
from ..optim import Optimizer, make_optimizer
from .callbacks import Callback, EarlyStopping, EpochPrinter, ProgressBar
from .history import History
from .metrics import accuracy, balanced_accuracy, regression_metrics

#: Gradient norms are accumulated on every GRAD_NORM_EVERY-th step (steps 1, 5, 9, ...); their
#: mean estimates the epoch's mean gradient norm at a quarter of the cost.
GRAD_NORM_EVERY = 4
#: Without validation data, the outputs on this many training rows are checked at each epoch's end:
#: weights that are finite but huge would otherwise be kept as "the last finite weights".
DIVERGENCE_PROBE_ROWS = 256


def default_loss(network: Sequential) -> Loss:
    """Cross-entropy after softmax, binary cross-entropy after sigmoid, mean squared error otherwise."""
    last = network.layers[-1]
    if isinstance(last, Softmax):
        return SoftmaxCrossEntropy()
    if isinstance(last, Sigmoid):
        return BinaryCrossEntropy()
    return MeanSquaredError()


def task_of(loss: Loss) -> str:
    if isinstance(loss, SoftmaxCrossEntropy):
        return "multiclass"
    if isinstance(loss, BinaryCrossEntropy):
        return "binary"
    return "regression"


def prepare_targets(y, loss: Loss, output_dim: int, dtype: np.dtype, name: str = "y") -> np.ndarray:
    """Class indices (int64) for cross-entropy with 1-D labels, float (n, k) targets otherwise."""
    if isinstance(loss, SoftmaxCrossEntropy):
        array = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if array.ndim == 2 and array.shape[1] == output_dim and output_dim > 1:
            targets = check_targets(array, name, dtype)  # rows of class probabilities
            return targets
        return check_class_labels(array, output_dim, name)
    targets = check_targets(y, name, dtype)
    if targets.ndim == 1:
        targets = targets.reshape(-1, 1)
    if targets.shape[1] != output_dim:
        raise ValueError(
            f"{name} has {targets.shape[1]} column(s) but the network has {output_dim} "
            f"output(s); got {name} of shape {targets.shape}."
        )
    if isinstance(loss, BinaryCrossEntropy) and (targets.min() < 0 or targets.max() > 1):
        raise ValueError(
            f"{name} must be in [0, 1] for binary cross-entropy; got values in [{targets.min():g}, {targets.max():g}]."
        )
    return targets


def split_validation(
    n: int, fraction: float, rng: np.random.Generator, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (and, given labels, stratified) train/validation index split.

    Never "the last rows": a sorted dataset would otherwise validate on classes it never trains on.
    """
    if labels is None or labels.ndim != 1:
        order = rng.permutation(n)
        n_val = max(1, int(round(fraction * n)))
        if n_val >= n:
            raise ValueError(f"validation_split={fraction} leaves no training data for {n} samples.")
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    val_parts, train_parts = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = int(round(fraction * len(members)))
        if len(members) > 1:
            n_val = min(max(n_val, 1), len(members) - 1)
        else:
            n_val = 0
        val_parts.append(members[:n_val])
        train_parts.append(members[n_val:])
    val_idx, train_idx = np.sort(np.concatenate(val_parts)), np.sort(np.concatenate(train_parts))
    if len(val_idx) == 0:
        raise ValueError(f"validation_split={fraction} selects no validation sample from {n} samples.")
    return train_idx, val_idx


def evaluate(
    network: Sequential, x: np.ndarray, y: np.ndarray, loss: Loss, sample_weight: np.ndarray | None = None
) -> dict[str, float]:
    """Loss and task metrics of ``network`` (inference mode) on prepared ``x``, ``y``."""
    eval_loss = type(loss)()
    stop = network.fused_output(loss)
    outputs = network._infer(x, stop)
    logs = {"loss": eval_loss.forward(outputs, y, sample_weight)}
    if isinstance(loss, SoftmaxCrossEntropy):
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        predicted = outputs.argmax(axis=1)
        logs["accuracy"] = accuracy(labels, predicted)
        logs["balanced_accuracy"] = balanced_accuracy(labels, predicted)
        logs["log_loss"] = logs["loss"]
    elif isinstance(loss, BinaryCrossEntropy):
        predicted = (outputs > 0) if stop is not None else (outputs > 0.5)
        truth = y > 0.5
        logs["accuracy"] = float(np.mean(np.all(predicted == truth, axis=1)))
        if truth.shape[1] == 1:
            logs["balanced_accuracy"] = balanced_accuracy(truth.ravel(), predicted.ravel())
        logs["log_loss"] = logs["loss"]
    else:
        logs.update(regression_metrics(y, outputs))
    return logs


class Trainer:
    """State of one training run; :func:`fit` creates and runs it.

    Attributes
    ----------
    network, optimizer, loss, history, epochs, start_epoch
    stop_training : bool
        Set by a callback to end training after the current epoch.
    """

    def __init__(
        self,
        network: Sequential,
        x,
        y,
        *,
        loss: str | Loss | None = None,
        optimizer: str | Optimizer = "sgd",
        lr: float | None = None,
        epochs: int = 10,
        batch_size: int = 32,
        validation_split: float | None = None,
        validation_data: tuple | None = None,
        callbacks: Sequence[Callback] = (),
        shuffle: bool = True,
        seed: int | None = 0,
        verbose: int = 0,
        sample_weight=None,
        weight_decay: float = 0.0,
        momentum: float | None = None,
        on_divergence: str = "warn",
        checkpoint: str | None = None,
        checkpoint_every: int = 1,
        resume: bool = False,
        diagnostics: bool = True,
    ) -> None:
        if not isinstance(network, Sequential):
            raise TypeError(f"network must be a glassnet Sequential; got {type(network).__name__}.")
        self.network = network
        self.epochs = check_positive_int(epochs, "epochs")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if on_divergence not in ("warn", "raise"):
            raise ValueError(f"on_divergence must be 'warn' or 'raise'; got {on_divergence!r}.")
        self.on_divergence = on_divergence
        self.shuffle = bool(shuffle)
        self.verbose = verbose
        x = check_features(x, "x", network.dtype, network.input_dim if network.built else None)
        if not network.built:
            network.build(x.shape[1])
        self.loss = default_loss(network) if loss is None else get_loss(loss)
        network.fused_output(self.loss)  # validates the output/loss pairing early
        y = prepare_targets(y, self.loss, network.output_dim, network.dtype)
        check_consistent_length(x, y)
        if sample_weight is not None:
            sample_weight = check_targets(sample_weight, "sample_weight", network.dtype).ravel()
            check_consistent_length(x, sample_weight, "x", "sample_weight")
            if sample_weight.min() < 0:
                raise ValueError("sample_weight must be non-negative.")

        seeds = np.random.SeedSequence(seed).spawn(2)
        self.rng = np.random.default_rng(seeds[0])
        split_rng = np.random.default_rng(seeds[1])
        self.validation: tuple | None = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, weights).")
            x_val = check_features(validation_data[0], "x_val", network.dtype, network.input_dim)
            y_val = prepare_targets(validation_data[1], self.loss, network.output_dim, network.dtype, "y_val")
            check_consistent_length(x_val, y_val, "x_val", "y_val")
            w_val = (
                None
                if len(validation_data) == 2 or validation_data[2] is None
                else check_targets(validation_data[2], "sample_weight_val", network.dtype).ravel()
            )
            self.validation = (x_val, y_val, w_val)
        elif validation_split:
            fraction = check_fraction(validation_split, "validation_split", low_open=True)
            stratify = y if y.ndim == 1 else None
            train_idx, val_idx = split_validation(len(x), fraction, split_rng, stratify)
            w_val = None if sample_weight is None else sample_weight[val_idx]
            self.validation = (x[val_idx], y[val_idx], w_val)
            x, y = x[train_idx], y[train_idx]
            sample_weight = None if sample_weight is None else sample_weight[train_idx]
        self.x, self.y, self.sample_weight = x, y, sample_weight

        if isinstance(optimizer, Optimizer):
            self.optimizer = optimizer
            if lr is not None:
                self.optimizer.lr = lr
        else:
            self.optimizer = make_optimizer(
                optimizer, network.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
            )

        self.callbacks = list(callbacks)
        self.diagnostics = bool(diagnostics)
        if self.diagnostics:
            from ..diagnostics.monitor import Diagnostics

            if not any(isinstance(c, Diagnostics) for c in self.callbacks):
                self.callbacks.append(Diagnostics())
        if verbose == 1:
            self.callbacks.append(ProgressBar(verbose=1))
        elif verbose and verbose >= 2:
            self.callbacks.append(EpochPrinter())
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be glassnet Callback objects; got {type(callback).__name__}.")
            callback.set_trainer(self)
        self.history = History(task=task_of(self.loss))
        self.start_epoch = 1
        self.stop_training = False
        self.interrupted = False
        self.checkpoint = checkpoint
        self.checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
        self._resume_state: dict | None = None
        self._fingerprint_cache: dict | None = None  # computed once (it hashes the training data)
        if resume and checkpoint is None:
            raise ValueError("resume=True needs checkpoint=PATH (the file to resume from).")
        if checkpoint is not None:
            from pathlib import Path

            from ..exceptions import OutputError
            from ..io.outputs import is_glassnet_checkpoint

            path = Path(checkpoint)
            if resume and path.is_file():
                self._load_checkpoint(checkpoint)  # a file that is no checkpoint: ModelFileError
            elif path.is_dir() or path.exists() and not is_glassnet_checkpoint(path):
                raise OutputError(
                    f"checkpoint={str(checkpoint)!r} exists and is not a glassnet checkpoint; it would "
                    "be overwritten. Choose another path."
                )

    # ------------------------------------------------------------------------------------
    def run(self) -> History:
        """Train; return the History (``interrupted``/``diverged`` say when it ended early)."""
        network, loss, optimizer = self.network, self.loss, self.optimizer
        n = len(self.x)
        batch_size = min(self.batch_size, n)
        gatherer = BatchGatherer(self.x, self.y, self.sample_weight, batch_size=batch_size)
        dense_layers = [layer for layer in network.layers if isinstance(layer, Dense)] if self.diagnostics else []
        classification = isinstance(loss, SoftmaxCrossEntropy) and self.y.ndim == 1
        weighted = self.sample_weight is not None
        total_weight = float(self.sample_weight.sum()) if weighted else float(n)
        batch_callbacks = [c for c in self.callbacks if c.wants_batch_end]
        self._last_finite = network.state_dict()
        batch_logs: dict = {}

        for callback in self.callbacks:
            callback.on_train_begin({})
        resume = self._resume_state
        if resume is not None:
            self._load_callback_states(resume["callbacks"], resume["callback_types"])
        # Overflow on the way to a non-finite loss is expected and reported by the divergence guard.
        errstate = np.errstate(over="ignore", invalid="ignore")
        errstate.__enter__()
        restore_signal = self._catch_interrupts()
        try:
            for epoch in range(self.start_epoch, self.epochs + 1):
                for callback in self.callbacks:
                    callback.on_epoch_begin(epoch, {})
                started = time.perf_counter()
                if resume is not None and resume["position"] is not None:
                    # Continue inside the epoch the checkpoint was taken in.
                    position = resume["position"]
                    order, first = position["order"], int(position["next_start"])
                    grad_norm_sums = np.array(position["grad_norm_sums"], dtype=np.float64)
                    total_loss, correct, steps = position["total_loss"], position["correct"], position["steps"]
                    started -= position["elapsed"]
                else:
                    order, first = epoch_order(n, self.rng, self.shuffle), 0
                    grad_norm_sums = np.zeros(len(dense_layers))
                    total_loss, correct, steps = 0.0, 0, 0
                resume = None
                diverged = False
                for start in range(first, n, batch_size):
                    x_batch, y_batch, w_batch = gatherer.gather(order[start : start + batch_size])
                    batch_loss = network.train_step(x_batch, y_batch, loss, w_batch)
                    if not math.isfinite(batch_loss):
                        self._diverged(epoch, steps + 1, batch_loss)
                        diverged = True
                        break
                    if steps % GRAD_NORM_EVERY == 0:  # a sample of the steps keeps the cost small
                        for i, layer in enumerate(dense_layers):
                            grad = layer.W.grad.reshape(-1)
                            grad_norm_sums[i] += math.sqrt(float(np.dot(grad, grad)))
                    optimizer.step()
                    total_loss += batch_loss * (float(w_batch.sum()) if weighted else len(x_batch))
                    if classification:
                        counted = loss.n_correct  # the compiled loss kernel counts them on the way
                        correct += (
                            counted
                            if counted is not None
                            else int(np.count_nonzero(network.last_output.argmax(axis=1) == y_batch))
                        )
                    steps += 1
                    if batch_callbacks:
                        batch_logs["loss"], batch_logs["size"] = batch_loss, len(x_batch)
                        for callback in batch_callbacks:
                            callback.on_batch_end(steps, batch_logs)
                    if self.interrupted:  # Ctrl-C arrived during this batch: stop after it, resumably
                        position = {
                            "order": np.asarray(order),
                            "next_start": start + batch_size,
                            "grad_norm_sums": grad_norm_sums.copy(),
                            "total_loss": float(total_loss),
                            "correct": int(correct),
                            "steps": int(steps),
                            "elapsed": time.perf_counter() - started,
                        }
                        self._stop_interrupted(epoch, steps, -(-n // batch_size), position)
                        break
                if diverged or self.history.interrupted:
                    break
                logs = {"loss": total_loss / total_weight if total_weight > 0 else total_loss / n}
                if classification:
                    logs["accuracy"] = correct / n
                elif isinstance(loss, MeanSquaredError):
                    logs["rmse"] = math.sqrt(logs["loss"] * self.y.shape[1])
                if self.validation is not None:
                    x_val, y_val, w_val = self.validation
                    val_logs = evaluate(network, x_val, y_val, loss, w_val)
                    logs.update({f"val_{key}": value for key, value in val_logs.items()})
                    if not math.isfinite(val_logs["loss"]):
                        self._diverged(epoch, steps, val_logs["loss"])
                        break
                elif not all_finite(network._infer(self.x[:DIVERGENCE_PROBE_ROWS])):
                    # No validation to notice it: the last step left weights whose outputs overflow.
                    self._diverged(epoch, steps, math.nan, "the network's outputs became non-finite")
                    break
                logs["lr"] = optimizer.lr
                logs["time"] = time.perf_counter() - started
                sampled = max((steps + GRAD_NORM_EVERY - 1) // GRAD_NORM_EVERY, 1)
                for i, layer in enumerate(dense_layers):
                    self.history.grad_norms.setdefault(layer.name, []).append(grad_norm_sums[i] / sampled)
                self.history.record(epoch, logs)
                for callback in self.callbacks:
                    callback.on_epoch_end(epoch, logs)
                snapshot = network.state_dict()
                if all(all_finite(value) for value in snapshot.values()):
                    self._last_finite, self._last_finite_epoch = snapshot, epoch
                if self.interrupted:  # Ctrl-C arrived during validation or the epoch-end callbacks
                    self._stop_interrupted(epoch, None, None, None)
                    break
                if self.checkpoint is not None and (
                    epoch % self.checkpoint_every == 0 or self.stop_training or epoch == self.epochs
                ):
                    self.save_checkpoint(self.checkpoint, epoch, None)
                if self.stop_training:
                    break
        finally:
            restore_signal()
            errstate.__exit__(None, None, None)
            for callback in self.callbacks:
                callback.on_train_end({})
        if self.history.diverged and self.on_divergence == "raise":
            raise DivergenceError(self.history.divergence_message)
        return self.history

    # -- interrupts and checkpoints ----------------------------------------------------------
    def _catch_interrupts(self):
        """First Ctrl-C: finish the current batch, checkpoint, stop. A second one aborts at once."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            if self.interrupted:
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            self.interrupted = True

        signal.signal(signal.SIGINT, handler)
        return lambda: signal.signal(signal.SIGINT, previous)

    def _stop_interrupted(self, epoch: int, steps: int | None, batches: int | None, position: dict | None) -> None:
        """The one place an interrupt ends training: checkpoint (when configured) and record it.

        ``position`` is where to continue inside ``epoch`` (None when the epoch was complete).
        The message is the same for every caller; :func:`fit` and the command line add how to
        resume in their own terms.
        """
        history = self.history
        history.interrupted = True
        if position is None:
            where = f"after epoch {epoch}"
        else:
            where = f"in epoch {epoch} after {steps} of {batches} batches"
        if self.checkpoint is None:
            history.interrupt_message = f"training was interrupted {where}; no checkpoint was configured."
            history.interrupt_checkpoint = None
        else:
            self.save_checkpoint(self.checkpoint, epoch if position is None else epoch - 1, position)
            history.interrupt_message = f"training was interrupted {where}; its state was saved to {self.checkpoint}."
            history.interrupt_checkpoint = str(self.checkpoint)

    def _fingerprint(self) -> dict:
        import hashlib

        hasher = hashlib.sha256()
        for array in (self.x, self.y, self.sample_weight):
            if array is not None:
                hasher.update(memoryview(np.ascontiguousarray(array)).cast("B"))
        return {
            "data_sha256": hasher.hexdigest(),
            "n_samples": len(self.x),
            "batch_size": self.batch_size,
            "architecture": self.network.config(),
            "optimizer": type(self.optimizer).__name__,
            "loss": type(self.loss).__name__,
            "shuffle": self.shuffle,
        }

    def save_checkpoint(self, path, epoch: int, position: dict | None) -> None:
        """Write the full training state after ``epoch`` (and ``position`` inside the next one)."""
        from ..io.checkpoint import write_checkpoint

        if self._fingerprint_cache is None:
            self._fingerprint_cache = self._fingerprint()
        state = {
            "fingerprint": self._fingerprint_cache,
            "epoch": epoch,
            "position": position,
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "noise_rng": self.network.noise_rng.bit_generator.state,
            "history": self.history.to_dict(),
            "callbacks": [callback.state_dict() for callback in self.callbacks],
            "callback_types": [type(callback).__name__ for callback in self.callbacks],
        }
        write_checkpoint(path, state)

    def _load_checkpoint(self, path) -> None:
        from ..io.checkpoint import read_checkpoint
        from ..io.modelfile import ModelFileError

        state = read_checkpoint(path)
        expected = self._fingerprint()
        self._fingerprint_cache = expected
        saved = state.get("fingerprint", {})
        for key in expected:
            if saved.get(key) != expected[key]:
                raise ModelFileError(
                    f"checkpoint {path} was written for a different run ({key} differs); "
                    "resume needs the same data, network and settings."
                )
        try:  # the schema checked the structure; values a hostile file could still get wrong end here
            self.network.load_state_dict(state["network"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.rng.bit_generator.state = state["rng"]
            self.network.noise_rng.bit_generator.state = state["noise_rng"]
            history = History.from_dict(state["history"])
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise ModelFileError(f"checkpoint {path} cannot be resumed from: {type(exc).__name__}: {exc}") from None
        history.interrupted, history.interrupt_message, history.interrupt_checkpoint = False, "", None
        self.history = history
        self.start_epoch = int(state["epoch"]) + 1
        # Callback states pair up by position: pass the same callbacks, in the same order.
        self._resume_state = {
            "position": state["position"],
            "callbacks": state["callbacks"],
            "callback_types": state.get("callback_types"),
        }

    def _load_callback_states(self, states: list, types: list | None) -> None:
        """Give each callback its saved state, matched by type in order (progress printers may differ)."""
        from ..io.modelfile import ModelFileError

        if types is None or len(types) != len(states):  # checkpoints before 0.5: by position
            types = [type(callback).__name__ for callback in self.callbacks][: len(states)]
        unused = list(range(len(states)))
        for callback in self.callbacks:
            name = type(callback).__name__
            match = next((i for i in unused if types[i] == name), None)
            if match is None:
                if callback.state_dict():
                    raise ModelFileError(
                        f"checkpoint {self.checkpoint} holds no state for the {name} callback; "
                        "resume with the callbacks of the interrupted run."
                    )
                continue
            unused.remove(match)
            try:
                callback.load_state_dict(states[match])
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ModelFileError(
                    f"checkpoint {self.checkpoint} holds a state that {name} cannot load: {type(exc).__name__}: {exc}"
                ) from None

    def _best_weights(self) -> tuple[dict, int] | None:
        """The best weights early stopping kept (finite, from a completed epoch), if any."""
        for callback in self.callbacks:
            if (
                isinstance(callback, EarlyStopping)
                and callback.restore_best_weights
                and callback.best_state is not None
                and callback.best_epoch is not None
            ):
                return callback.best_state, callback.best_epoch
        return None

    def _diverged(self, epoch: int, step: int, value: float, what: str | None = None) -> None:
        """Restore finite weights after a non-finite loss: the best ones when early stopping kept them."""
        best = self._best_weights()
        if best is not None:
            self.network.load_state_dict(best[0])
            restored = f"the best weights seen (epoch {best[1]}, by {self._monitor_name()}) were restored"
            self.history.restored_epoch = best[1]
        else:
            self.network.load_state_dict(self._last_finite)
            last = getattr(self, "_last_finite_epoch", None)
            restored = (
                "the last finite weights (the initial ones) were restored"
                if last is None
                else f"the last finite weights (from the end of epoch {last}) were restored"
            )
        self.optimizer.reset_state()  # moments may hold inf/nan as well
        what = what or f"the loss became {value}"
        message = (
            f"training diverged at epoch {epoch}, step {step}: {what}; {restored}. "
            f"Lower the learning rate (it is {self.optimizer.lr:g}; try {self.optimizer.lr / 10:g}), "
            "add batch normalization, or scale the inputs."
        )
        self.history.diverged = True
        self.history.divergence_message = message
        if self.on_divergence == "warn":
            warnings.warn(message, DivergenceWarning, stacklevel=4)

    def _monitor_name(self) -> str:
        return next(c.monitor for c in self.callbacks if isinstance(c, EarlyStopping))


def fit(
    network: Sequential,
    x,
    y,
    *,
    loss: str | Loss | None = None,
    optimizer: str | Optimizer = "sgd",
    lr: float | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    validation_split: float | None = None,
    validation_data: tuple | None = None,
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    seed: int | None = 0,
    verbose: int = 0,
    sample_weight=None,
    weight_decay: float = 0.0,
    momentum: float | None = None,
    on_divergence: str = "warn",
    checkpoint: str | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    diagnostics: bool = True,
) -> History:
    """Train ``network`` on ``(x, y)`` by mini-batch gradient descent and return its History.

    Every epoch visits the training set in a fresh random order (from ``seed``); each mini-batch
    runs the forward flow, the loss, the backward flow and one optimizer step.

    Parameters
    ----------
    network : Sequential
    x : array-like of shape (n_samples, n_features)
    y : array-like
        Class indices (n,) for a softmax output, 0/1 targets (n,) or (n, k) for a sigmoid output,
        real targets (n,) or (n, k) for regression.
    loss : str or Loss, optional
        Defaults from the output layer: cross-entropy (softmax), binary cross-entropy (sigmoid),
        mean squared error (otherwise).
    optimizer : "sgd", "adam", "adamw" or an Optimizer
        A string creates one over ``network.parameters()`` with ``lr``, ``momentum`` and
        ``weight_decay``; an Optimizer instance is used as it is (and keeps its state).
    epochs, batch_size : int
    validation_split : float in (0, 1), optional
        Fraction held out at random (stratified by class for classification), never the last rows.
    validation_data : (x_val, y_val) or (x_val, y_val, sample_weight_val), optional
        Explicit validation set (for example the most recent rows of time-ordered data).
    callbacks : sequence of Callback
    shuffle : bool, default=True
    seed : int, default=0
        Seeds the epoch shuffles and the validation split: same seed, same weights.
    verbose : 0, 1 or 2
        0 silent; 1 a progress bar when attached to a terminal; 2 a line per epoch.
    sample_weight : array-like of shape (n_samples,), optional
    on_divergence : "warn" or "raise"
        When the loss becomes non-finite, training stops, the last finite weights are restored and
        a DivergenceWarning (or DivergenceError) explains what to try.
    checkpoint : path, optional
        Write the full training state there (atomically) every ``checkpoint_every`` epochs, at
        the end, and when Ctrl-C interrupts training (after the current batch).
    resume : bool, default=False
        Continue from ``checkpoint`` when it exists (same data, network and settings), giving the
        same weights as an uninterrupted run.
    diagnostics : bool, default=True
        Record per-layer gradient norms (every 4th step) and a :class:`~glassnet.diagnostics.Diagnostics`
        probe every epoch (saturation, dead units, pre-activation percentiles, update ratios,
        batch-norm statistics) into ``history.grad_norms`` and ``history.diagnostics``.

    Returns
    -------
    History

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 2)); y = (x[:, 0] * x[:, 1] > 0).astype(int)
    >>> net = gn.mlp([16, 16], 2, output_activation="softmax")
    >>> history = gn.fit(net, x, y, epochs=5, lr=0.1, validation_split=0.2)
    >>> len(history)
    5
    """
    trainer = Trainer(
        network,
        x,
        y,
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        validation_data=validation_data,
        callbacks=callbacks,
        shuffle=shuffle,
        seed=seed,
        verbose=verbose,
        sample_weight=sample_weight,
        weight_decay=weight_decay,
        momentum=momentum,
        on_divergence=on_divergence,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
        diagnostics=diagnostics,
    )
    history = trainer.run()
    if history.interrupted:
        how = (
            "Resume with the same call plus resume=True."
            if checkpoint is not None
            else "Pass checkpoint=PATH to be able to resume an interrupted run."
        )
        warnings.warn(f"{history.interrupt_message} {how}", RuntimeWarning, stacklevel=2)
    return history
