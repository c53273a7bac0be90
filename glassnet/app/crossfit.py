"""K-fold cross-fitting: every row trains the final model, and every row gets an honest prediction.

The rows are dealt into K folds (stratified by class for classification). Member k trains on the
other K − 1 folds and stops early on fold k; fold k's rows are then predicted by member k, which
never trained on them: the *out-of-fold* predictions. The K members together are the model (an
:class:`~glassnet.ensemble.Ensemble`, their mean prediction). Members train independently, so they
run on any executor (here, joblib processes, a Dask cluster) with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..ensemble import Ensemble
from ..exceptions import DataError
from ..training.folds import fold_assignment, member_seed
from .options import JobOptions, member_checkpoint
from .phases import JobProgress
from .prepare import Prepared
from .tasks import CLASSIFICATION, predict_outputs, targets_for_network
from .training_setup import (
    build_callbacks,
    build_loss,
    build_network,
    build_optimizer,
    describe_weight_decay,
    n_outputs,
    trainer_extras,
    weighted,
)


@dataclass
class CrossFit:
    """The members, their runs, and the out-of-fold predictions over the pooled rows."""

    ensemble: Ensemble
    histories: list
    folds: np.ndarray  # the fold of each pooled row
    x: np.ndarray  # the pooled rows (training and validation rows of the split)
    y: np.ndarray  # their targets, as loaded (class indices or values)
    out_of_fold: np.ndarray  # each row's prediction by the member that did not train on it

    def member_view(self, prepared: Prepared, member: int = 0, training_rows: bool = True) -> Prepared:
        """``prepared`` with member ``member``'s training and validation rows (for its diagnostics).

        ``training_rows=False`` leaves out the copy of its training rows (none of them: only their
        targets), for an account that needs no more than the validation rows and the pool.
        """
        inside = self.folds != member
        return replace(
            prepared,
            x_train=self.x[inside] if training_rows else self.x[:0],
            y_train=self.y[inside],
            x_val=self.x[~inside],
            y_val=self.y[~inside],
            x_pooled=None,
        )

    def summary(self) -> dict:
        """What the report and metrics.json say about the members."""
        return {
            "folds": len(self.ensemble),
            "rows": int(len(self.x)),
            "members": [
                {
                    "fold": k,
                    "training_rows": int(np.sum(self.folds != k)),
                    "validation_rows": int(np.sum(self.folds == k)),
                    "epochs": len(history),
                    "best_epoch": history.best_epoch,
                }
                for k, history in enumerate(self.histories)
            ],
        }


def cross_fit(
    prepared: Prepared, options: JobOptions, log=print, executor: Any = None, progress: JobProgress | None = None
) -> CrossFit:
    """Train ``options.folds`` members on the pooled training and validation rows of ``prepared``.

    With a ``progress`` drawing bars, the members' bar counts them (one at a time here; all at
    once from a parallel executor) and each member's epoch bar is nested under it.
    """
    from ..training.executors import SequentialExecutor, ThreadExecutor, executor_for, sent_by_path
    from .threads import blas_threads, member_executor, threads_for

    # the training and validation rows as one array: already so in memory (no copy), else joined
    pooled = prepared.x_pooled
    x = np.concatenate([prepared.x_train, prepared.x_val]) if pooled is None else pooled
    y = np.concatenate([prepared.y_train, prepared.y_val])
    if options.folds > len(x) // 2:
        raise DataError(
            f"--folds {options.folds} needs at least {2 * options.folds} rows (two per fold); the data has "
            f"{len(x)}. Pass fewer folds, or --folds 1 for one network."
        )
    labels = y if prepared.task in CLASSIFICATION else None
    folds = fold_assignment(len(x), options.folds, options.seed, labels)
    shared = _shared(prepared, options, x, y, folds)
    log(build_network(prepared.task, x.shape[1], shared["outputs"], options).summary())
    log(f"weight decay (L2): {describe_weight_decay(options, int(np.sum(folds != 0)))}")
    log(f"cross-fitting: {options.folds} members, each trained on {options.folds - 1} of {options.folds} folds ...")
    progress = progress or JobProgress([], verbose=0)
    # On a cluster the workers read the rows from files beside the output.
    with executor_for(member_executor(executor), shared_folder(options)) as runner:
        in_process = isinstance(runner, (SequentialExecutor, ThreadExecutor))
        nested = progress.active and in_process
        shared["nested_bar"] = progress.stream if nested else None  # where each member's epoch bar draws
        # members side by side: a bar row each (one per thread), and no interleaved epoch lines off a terminal
        shared["bar_rows"] = runner.n_threads if isinstance(runner, ThreadExecutor) else 1
        shared["quiet"] = isinstance(runner, ThreadExecutor)
        with (
            sent_by_path(runner, shared, ("x", "y", "folds")) as sent,
            progress.phase("training", options.folds, unit="network") as bar,
            blas_threads(threads_for(runner, options, x.shape[1], shared["outputs"])),
        ):
            if nested and isinstance(runner, SequentialExecutor):  # here, one member after the other
                trained = []
                for fold in range(options.folds):
                    trained.append(train_member(fold, sent))
                    bar.advance()
            elif isinstance(runner, ThreadExecutor):  # in this process: the bar counts members as they end
                runner.warm_up = warm_up
                trained = runner.map(_counted(train_member, bar), list(range(options.folds)), sent)
            else:
                trained = runner.map(train_member, list(range(options.folds)), sent)
                bar.advance(options.folds)
    members, histories = [network for network, _ in trained], [history for _, history in trained]
    out_of_fold = np.empty((len(x), members[0].output_dim))
    for k, (member, history) in enumerate(zip(members, histories)):
        rows = folds == k
        out_of_fold[rows] = predict_outputs(member, prepared.task, x[rows], prepared.preprocessing_arrays)
        log(
            f"  member {k + 1}/{options.folds}: {len(history)} epoch(s), "
            + (f"best epoch {history.best_epoch}, " if history.best_epoch is not None else "its last epoch kept, ")
            + f"validation on its {int(rows.sum())} held-out row(s)"
        )
    return CrossFit(Ensemble(members), histories, folds, x, y, out_of_fold)


def _shared(prepared: Prepared, options: JobOptions, x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> dict:
    """What every member's task gets: the pooled rows, their targets in the network's form, the folds."""
    y_net = targets_for_network(prepared.task, prepared.preprocessing_arrays, y)
    return {
        "x": x,
        "y": y_net,
        "folds": folds,
        "task": prepared.task,
        "outputs": n_outputs(prepared.task, prepared.classes, y_net),
        "options": replace(options, frame=None),
        # --metric's validation score and --class-weight's weights (balanced over all the pooled rows)
        "extras": trainer_extras(options, prepared.task, prepared.classes, y, prepared.description),
    }


def train_member(fold: int, shared: dict):
    """Member ``fold``: trained on every other fold, stopped early on its own (runs in any executor)."""
    from ..exceptions import TrainingInterrupted
    from ..training.executors import opened
    from ..training.fit import make_trainer
    from ..training.progress import ProgressBar

    shared = opened(shared)  # the rows, when they came by path
    options: JobOptions = shared["options"]
    x, y, inside = shared["x"], shared["y"], shared["folds"] != fold
    seed = member_seed(options.seed, fold)
    network = build_network(shared["task"], x.shape[1], shared["outputs"], options, seed=seed)
    callbacks = build_callbacks(options, int(inside.sum()), f"member{fold + 1}")
    stream = shared.get("nested_bar")
    if stream is not None and options.verbose:  # under the job's bar of members, in a terminal
        row = 1 + fold % shared.get("bar_rows", 1)  # members side by side: one row each under the job's bar
        bar = ProgressBar(verbose=1, stream=stream, force=True, position=row, leave=False, desc=f"network {fold + 1}")
        callbacks.append(bar)
    extras = shared["extras"]
    weights = extras["class_weights"]
    checkpoint = None if options.checkpoint is None else member_checkpoint(options.checkpoint, fold)
    trainer = make_trainer(
        network,
        x,  # the pool: the member's rows are gathered from it batch by batch, never copied
        y[inside],
        rows=np.flatnonzero(inside),
        checkpoint=checkpoint,  # each member its own file: resumed member by member
        resume=options.resume,
        optimizer=build_optimizer(network, options, int(inside.sum())),
        loss=build_loss(shared["task"], options),
        epochs=options.epochs,
        batch_size=options.batch_size,
        validation_data=(x[~inside], y[~inside], weighted(y[~inside], weights)),
        sample_weight=weighted(y[inside], weights),
        metrics=extras["metrics"],
        callbacks=callbacks,
        seed=seed,
        verbose=0 if stream is not None or shared.get("quiet") else options.verbose,
        diagnostics=fold == 0,  # the report's gradient story is told on the first member
    )
    history = trainer.run()
    trainer.release_data()  # its validation rows and batch buffers go now, not at the next garbage collection
    if history.interrupted:
        where = None if checkpoint is None else member_checkpoint(options.checkpoint, None)
        raise TrainingInterrupted(history.interrupt_message, where)
    return network, history


def warm_up(shared: dict) -> None:
    """One short epoch of a member's training on a few rows, here, before members train in threads.

    The compiled kernels (numba) compile on their first call for each type; two threads compiling
    at once on a fresh install failed inside numba ("generator already executing", "Unknown
    attribute 'shape'"). After this epoch, the threads find every kernel a member uses compiled.
    """
    from ..training.fit import make_trainer

    options: JobOptions = shared["options"]
    x, y = shared["x"], shared["y"]
    rows = min(len(x) - 1, 2 * options.batch_size)
    network = build_network(shared["task"], x.shape[1], shared["outputs"], options)
    history = make_trainer(
        network, x[:rows], y[:rows], optimizer=build_optimizer(network, options, rows),
        loss=build_loss(shared["task"], options), epochs=1, batch_size=options.batch_size,
        validation_data=(x[rows:][: options.batch_size], y[rows:][: options.batch_size]), verbose=0,
    ).run()  # fmt: skip
    if history.interrupted:  # Ctrl-C before the members started: none of them starts
        from ..exceptions import TrainingInterrupted

        raise TrainingInterrupted("training was interrupted (Ctrl-C) before the members started")


def _counted(function, bar):
    """``function`` that advances ``bar`` when a call ends (members in threads of this process)."""

    def counted(item, shared):
        result = function(item, shared)
        bar.advance()
        return result

    return counted


def shared_folder(options: JobOptions):
    """Where a cluster's tasks read the run's arrays from: beside the output (None: a temporary folder)."""
    from pathlib import Path

    return None if options.cache is None else Path(options.cache).resolve().parent
