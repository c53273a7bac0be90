"""The run: prepare the data, train (or grow) the network, evaluate it, and gather the account.

``run_training(options)`` does the work of ``glassnet train`` and ``glassnet demo`` and returns a
:class:`JobResult`, which :func:`glassnet.app.outputs.write_outputs` writes out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..tabular import DataError
from .evaluate import compute_importance, run_baselines, sample_predictions
from .options import JobOptions
from .prepare import Prepared, prepare
from .tasks import CLASSIFICATION, LABELLED, evaluate_network, output_spec, targets_for_network


@dataclass
class JobResult:
    network: Any
    history: Any
    prepared: Prepared
    metrics: dict
    metadata: dict


def run_training(options: JobOptions, log=print) -> JobResult:
    """Prepare the data, train (or grow) the network, evaluate it and gather the account."""
    started = time.perf_counter()
    prepared = prepare(options)
    _log_data(prepared, log)
    y_train = targets_for_network(prepared.task, prepared.preprocessing_arrays, prepared.y_train)
    y_val = targets_for_network(prepared.task, prepared.preprocessing_arrays, prepared.y_val)
    if options.grow:
        growth = _grow(prepared, y_train, y_val, options, log)
        network, history = growth.network, growth.history
    else:
        growth = None
        network, history = _train(prepared, y_train, y_val, options, log)
    selected, refit = network, None
    if options.refit and growth is None and options.early_stopping and not history.diverged:
        network, refit = _refit(prepared, y_train, y_val, history, options, log)
    metadata = _account(network, selected, history, prepared, options, growth, time.perf_counter() - started)
    metadata["refit"] = refit
    return JobResult(network, history, prepared, metadata["test_metrics"], metadata)


def _log_data(prepared: Prepared, log) -> None:
    description = prepared.description
    log(
        f"data: {description['rows']} rows → {prepared.x_train.shape[1]} features; task {prepared.task}; "
        f"{len(prepared.x_train)} train / {len(prepared.x_val)} validation / {len(prepared.x_test)} test"
    )
    for line in description.get("preprocessing", []):
        log(f"  {line}")
    if description.get("rows_dropped_missing_target"):
        log(f"  dropped {description['rows_dropped_missing_target']} row(s) with a missing target")


def _grow(prepared: Prepared, y_train, y_val, options: JobOptions, log):
    from ..training.grow import grow

    if prepared.task == "multilabel":
        raise DataError("--grow supports classification and regression targets, not multilabel.")
    log("growing: start small, widen or deepen while validation improves ...")
    growth = grow(
        prepared.x_train,
        y_train,
        task="classification" if prepared.task in CLASSIFICATION else "regression",
        validation_data=(prepared.x_val, y_val),
        activation=options.activation,
        batch_norm=options.batch_norm,
        dropout=options.dropout,
        epochs=options.epochs,
        batch_size=options.batch_size,
        patience=options.patience,
        lr=options.lr,
        seed=options.seed,
    )
    log(growth.summary())
    return growth


def _callbacks(options: JobOptions) -> list:
    from ..training.callbacks import CosineDecay, EarlyStopping, ReduceLROnPlateau

    callbacks: list = (
        [EarlyStopping(monitor=options.monitor, patience=options.patience)] if options.early_stopping else []
    )
    if options.schedule == "cosine":
        callbacks.append(CosineDecay(options.epochs))
    elif options.schedule == "plateau":
        callbacks.append(ReduceLROnPlateau(patience=max(2, options.patience // 3), factor=0.3))
    elif options.schedule is not None:
        raise DataError(f"--schedule must be cosine or plateau; got {options.schedule!r}.")
    return callbacks


def _network(prepared: Prepared, y_train, options: JobOptions):
    from ..builders import mlp

    n_outputs = len(prepared.classes) if prepared.task in LABELLED else y_train.reshape(len(y_train), -1).shape[1]
    output_dim, output_activation = output_spec(prepared.task, n_outputs)
    return mlp(
        list(options.hidden),
        output_dim,
        activation=options.activation,
        output_activation=output_activation,
        batch_norm=options.batch_norm,
        dropout=options.dropout,
        input_dim=prepared.x_train.shape[1],
        seed=options.seed,
    )


def _loss(prepared: Prepared, options: JobOptions):
    """Cross-entropy with the options' label smoothing for single-label classes; else the default."""
    from ..losses import SoftmaxCrossEntropy

    if prepared.task in ("binary", "multiclass") and options.label_smoothing:
        return SoftmaxCrossEntropy(label_smoothing=options.label_smoothing)
    return None


def _optimizer(network, options: JobOptions):
    from ..optim import make_optimizer

    sgd = options.optimizer == "sgd"
    return make_optimizer(
        options.optimizer,
        network.parameters(),
        lr=options.lr,
        momentum=options.momentum if sgd else None,
        nesterov=options.momentum > 0 if sgd else None,
        weight_decay=options.weight_decay,
    )


def _train(prepared: Prepared, y_train, y_val, options: JobOptions, log):
    from ..exceptions import TrainingInterrupted
    from ..training.fit import make_trainer

    network = _network(prepared, y_train, options)
    log(network.summary())
    optimizer = _optimizer(network, options)
    history = make_trainer(
        network,
        prepared.x_train,
        y_train,
        optimizer=optimizer,
        loss=_loss(prepared, options),
        epochs=options.epochs,
        batch_size=options.batch_size,
        validation_data=(prepared.x_val, y_val),
        callbacks=_callbacks(options),
        seed=options.seed,
        verbose=options.verbose,
        checkpoint=options.checkpoint,
        resume=options.resume,
    ).run()
    if history.interrupted:
        raise TrainingInterrupted(history.interrupt_message, history.interrupt_checkpoint)
    return network, history


def _refit(prepared: Prepared, y_train, y_val, history, options: JobOptions, log):
    """A fresh network trained on the training and validation rows together, for the best epoch count.

    The validation rows chose the number of epochs; the final network then learns from them too,
    so that no row the user gave (except the test rows) is left out of the model.
    """
    import numpy as np

    from ..exceptions import TrainingInterrupted
    from ..training.callbacks import CosineDecay
    from ..training.fit import make_trainer

    epochs = history.best_epoch or len(history)
    x = np.concatenate([prepared.x_train, prepared.x_val])
    y = np.concatenate([y_train, y_val])
    log(f"refit: a fresh network on all {len(x)} training rows for {epochs} epoch(s), the best epoch with validation")
    network = _network(prepared, y_train, options)
    schedule = [CosineDecay(epochs)] if options.schedule == "cosine" else []
    refit_history = make_trainer(
        network,
        x,
        y,
        optimizer=_optimizer(network, options),
        loss=_loss(prepared, options),
        epochs=epochs,
        batch_size=options.batch_size,
        callbacks=schedule,
        seed=options.seed,
        verbose=options.verbose,
        diagnostics=False,
    ).run()
    if refit_history.interrupted:
        raise TrainingInterrupted(refit_history.interrupt_message, None)
    return network, {"rows": int(len(x)), "epochs": int(epochs), "diverged": bool(refit_history.diverged)}


def _account(network, selected, history, prepared: Prepared, options: JobOptions, growth, train_seconds: float) -> dict:
    """Everything the model file, metrics.json and the report say about the run.

    ``selected`` is the network of the run with validation (``network`` itself without a refit):
    what is measured on the validation rows is measured on it.
    """
    from ..diagnostics import gradient_verdict, linear_block_report

    verdict = gradient_verdict(history, network)
    task, arrays, classes = prepared.task, prepared.preprocessing_arrays, prepared.classes
    trail = None if growth is None else [{**row, "hidden": list(row["hidden"])} for row in growth.trail]
    return {
        "data": prepared.description,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.__dict__.items() if k != "frame"},
        "test_metrics": evaluate_network(network, task, prepared.x_test, prepared.y_test, arrays, classes),
        "validation_metrics": evaluate_network(selected, task, prepared.x_val, prepared.y_val, arrays, classes),
        "baselines": run_baselines(prepared) if options.baselines else {},
        "overfitting": history.summary(),
        "overfitting_onset": history.overfitting_onset,
        "gradient_verdict": verdict.summary(),
        "vanishing": verdict.vanishing,
        "exploding": verdict.exploding,
        "linear_blocks": [block.statement() for block in linear_block_report(network) if block.redundant],
        "importance": compute_importance(selected, prepared) if options.importance else None,
        "train_seconds": train_seconds,
        "growth_trail": trail,
        "test_sample": sample_predictions(network, prepared),
    }
