"""``glassnet.fit``: the training loop with its usual company (diagnostics, checkpoints, a warning on Ctrl-C).

This module wires the core loop (:class:`~.loop.Trainer`) to the layers above it: the
:class:`~glassnet.diagnostics.Diagnostics` callback and the checkpoint files of
:mod:`glassnet.io.checkpoint`. The command line, the estimators and ``grow`` build their trainers
through :func:`make_trainer` too.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from .._validation import check_positive_int
from ..losses import Loss
from ..network import Sequential
from ..optim import Optimizer
from .callbacks import Callback
from .history import History
from .loop import Trainer


def make_trainer(
    network: Sequential,
    x: Any,
    y: Any,
    *,
    callbacks: Sequence[Callback] = (),
    checkpoint: str | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    diagnostics: bool = True,
    **settings: Any,
) -> Trainer:
    """A :class:`Trainer` with a Diagnostics callback (unless ``diagnostics=False``) and a checkpointer.

    ``settings`` are the other arguments of :func:`fit`. With ``resume`` and an existing
    ``checkpoint``, the trainer continues from it.
    """
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH (the file to resume from).")
    every = check_positive_int(checkpoint_every, "checkpoint_every")
    callbacks = list(callbacks)
    if diagnostics:
        from ..diagnostics.monitor import Diagnostics

        if not any(isinstance(c, Diagnostics) for c in callbacks):
            callbacks.append(Diagnostics())
    checkpointer = None
    if checkpoint is not None:
        from ..io.checkpoint import Checkpointer

        checkpointer = Checkpointer(checkpoint, every, resume)
    trainer = Trainer(network, x, y, callbacks=callbacks, checkpointer=checkpointer, **settings)
    if checkpointer is not None:
        checkpointer.attach(trainer)
    return trainer


def fit(
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
    validation_data: tuple | None = None,
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    seed: int | None = 0,
    verbose: int = 0,
    sample_weight: Any = None,
    weight_decay: float = 0.0,
    momentum: float | None = None,
    on_divergence: str = "warn",
    checkpoint: str | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    diagnostics: bool = True,
    metrics: Mapping[str, Any] | Sequence[str] = (),
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
    metrics : sequence of str, default=()
        Registered metrics with a score function (``glassnet.training.metrics.register_metric``) to
        compute on the validation rows every epoch (or a mapping of names to ``score(truth, outputs)``
        functions), logged as ``val_<name>`` (so early stopping
        can monitor them); importing ``glassnet.app.scoring`` registers ``roc_auc``, ``pr_auc``,
        ``brier``, ``f1`` and their kin.

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
    trainer = make_trainer(
        network, x, y, loss=loss, optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
        validation_split=validation_split, validation_data=validation_data, callbacks=callbacks, shuffle=shuffle,
        seed=seed, verbose=verbose, sample_weight=sample_weight, weight_decay=weight_decay, momentum=momentum,
        on_divergence=on_divergence, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume,
        diagnostics=diagnostics, metrics=metrics,
    )  # fmt: skip
    history = trainer.run()
    if history.interrupted:  # the loop stopped cleanly; say how to continue
        how = (
            "Resume with the same call plus resume=True."
            if checkpoint is not None
            else "Pass checkpoint=PATH to be able to resume an interrupted run."
        )
        warnings.warn(f"{history.interrupt_message} {how}", RuntimeWarning, stacklevel=2)
    return history
