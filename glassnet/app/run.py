"""The run: prepare the data, train (or grow) the network, evaluate it, and gather the account.

``run_training(options)`` does the work of ``glassnet train`` and ``glassnet demo`` and returns a
:class:`JobResult`, which :func:`glassnet.app.outputs.write_outputs` writes out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..recipe import learning_rate
from ..tabular import DataError
from .advice import advice
from .budget import JobClock
from .decision import plan, settle
from .evaluate import baseline_fits, run_baselines, sample_predictions
from .importance import compute_importance
from .interval import headline_interval
from .options import JobOptions, cross_fitting, not_applied
from .phases import JobProgress
from .prepare import Prepared, prepare, release_unused_memory
from .tasks import CLASSIFICATION, metrics_of_outputs, predict_outputs, targets_for_network
from .threads import blas_threads, network_threads
from .training_setup import (
    build_callbacks,
    build_loss,
    build_network,
    build_optimizer,
    describe_weight_decay,
    monitor_for,
    n_outputs,
    trainer_extras,
    weight_decay,
    weighted,
)


@dataclass
class JobResult:
    network: Any
    history: Any
    prepared: Prepared
    metrics: dict
    metadata: dict


def run_training(options: JobOptions, log=print) -> JobResult:
    """Prepare the data, train (or grow, or cross-fit) the network, evaluate it and gather the account.

    A large table (or ``out_of_core="on"``) is streamed through an on-disk cache instead of being
    read into memory (:mod:`glassnet.app.outofcore`).
    """
    from .outofcore import wants_out_of_core

    if wants_out_of_core(options):
        return _out_of_core_run(options, log)
    return _run(options, prepare, log)


def _run(options: JobOptions, prepare_data, log) -> JobResult:
    started = time.perf_counter()
    clock = JobClock(options.max_time)  # --max-time counts from here (app/budget.py)
    prepared = prepare_data(options)
    prepare_seconds = time.perf_counter() - started
    _log_data(prepared, options, log)
    for line in plan(prepared, options):  # the headline metric, a binary task's positive class, class weights
        log(line)
    crossing = cross_fitting(options, prepared.preprocessing.get("kind", "table"))
    if clock.limit is not None:
        log(f"time limit: {clock.limit:g} s for the whole job; {clock.left():.0f} s left after reading the data")
    phases = ["training"] * crossing + ["baselines"] * options.baselines + ["importance"] * options.importance
    progress = JobProgress(phases, verbose=options.verbose, log=log, clock=clock)
    run = _cross_fit_run if crossing else _one_network_run
    result = run(prepared, options, log, time.perf_counter(), progress)  # the training clock starts here
    result.metadata["phases"] = {"prepare": prepare_seconds, **result.metadata["phases"]}
    result.metadata["time_limit"] = clock.summary()
    return result


def _out_of_core_run(options: JobOptions, log) -> JobResult:
    """One network on a table streamed through a float32 cache on disk, removed at the end unless kept."""
    import os
    import tempfile
    from contextlib import nullcontext
    from pathlib import Path

    from ..training.executors import executor_for
    from .cache import CACHE_SUFFIX
    from .outofcore import is_parquet, prepare_out_of_core

    cache = Path(options.cache or Path(tempfile.gettempdir()) / f"glassnet-{os.getpid()}{CACHE_SUFFIX}")
    log(f"out of core: {options.data} is streamed in chunks through a cache on disk, {cache}")
    if options.folds >= 2:
        log(f"  one network with a validation split (not {options.folds} cross-fit members)")
    if options.baselines:
        log("  the classical baselines on uniform samples of the training and test rows (up to 100,000 each)")
    options = replace(options, folds=1)
    on_tasks = options.executor is not None and is_parquet(options.data)
    try:
        with executor_for(options.executor) if on_tasks else nullcontext() as runner:
            if runner is not None:
                log(f"  the passes over the table run as tasks on {runner!r}, each reading its part by path")
            return _run(options, lambda told: prepare_out_of_core(told, cache, runner), log)
    finally:
        if options.keep_cache and cache.exists():
            log(f"kept the cache {cache} (np.load(path, mmap_mode='r') opens it)")
        else:
            cache.unlink(missing_ok=True)


def _one_network_run(prepared: Prepared, options: JobOptions, log, started: float, progress: JobProgress) -> JobResult:
    """One network (or a grown one) on a validation split, retrained on all training rows unless told not to."""
    y_train = targets_for_network(prepared.task, prepared.preprocessing_arrays, prepared.y_train)
    y_val = targets_for_network(prepared.task, prepared.preprocessing_arrays, prepared.y_val)
    if options.grow:
        growth = _grow(prepared, y_train, y_val, options, log)
        network, history = growth.network, growth.history
    else:
        growth = None
        outputs = n_outputs(prepared.task, prepared.classes, y_train)
        threads = network_threads(options, prepared.x_train.shape[1], outputs)
        refitting = options.refit and options.early_stopping
        clock = progress.clock
        end = clock.validation_deadline(options.baselines) if refitting else clock.training_deadline(options.baselines)
        with blas_threads(threads):  # one BLAS thread for a small network's products (app/threads.py)
            network, history = _train(prepared, y_train, y_val, replace(options, deadline=end), log)
        _say_cut(clock, "the network", history)
    selected, refit = network, None
    if options.refit and growth is None and options.early_stopping and not history.diverged:
        refit_options = replace(options, deadline=progress.clock.training_deadline(options.baselines))
        with blas_threads(threads):
            network, refit = _refit(prepared, y_train, y_val, history, refit_options, log)
        if refit["time_limited_epoch"] is not None:
            progress.clock.cut.append(
                f"the refit stopped after epoch {refit['time_limited_epoch']} of {refit['epochs']}"
            )
    metadata = _account(
        network, selected, history, prepared, options, growth, time.perf_counter() - started, log=log, progress=progress
    )
    metadata["refit"] = refit
    rows = refit["rows"] if refit else len(prepared.x_train)  # the final network's
    metadata["options"]["weight_decay"] = describe_weight_decay(options, rows)  # the L2 used, and why
    return JobResult(network, history, prepared, metadata["test_metrics"], metadata)


def _cross_fit_run(prepared: Prepared, options: JobOptions, log, started: float, progress: JobProgress) -> JobResult:
    """K members on all the rows; the estimate out of fold (or on --test-data), member 1's story told."""
    from .crossfit import cross_fit

    end = progress.clock.training_deadline(options.baselines)
    fit = cross_fit(prepared, replace(options, deadline=end), log, executor=options.executor, progress=progress)
    for k, history in enumerate(fit.histories):
        _say_cut(progress.clock, f"network {k + 1}", history)
    out_of_fold = prepared.description.get("estimate") == "out of fold"
    # out of fold, the baselines are cross-validated on the pool: member 1's training rows are not copied again
    view = fit.member_view(prepared, 0, training_rows=not out_of_fold)
    outputs = None
    if out_of_fold:  # the pooled rows are the test rows, each predicted honestly
        view = replace(view, x_test=fit.x, y_test=fit.y)
        outputs = fit.out_of_fold
    summary = fit.summary()
    member = summary["members"][0]
    view.description = {
        **prepared.description,
        "train_rows": member["training_rows"],  # each member's (the first member's) split
        "validation_rows": member["validation_rows"],
        "test_rows": int(len(view.x_test)),
    }
    seconds = time.perf_counter() - started
    folds = fit.folds if outputs is not None else None  # out of fold, the baselines are cross-validated too
    evidence = (fit.out_of_fold, fit.y, fit.folds, outputs is not None)  # calibration and threshold chosen on
    metadata = _account(
        fit.ensemble, fit.ensemble.members[0], fit.histories[0], view, options, None, seconds, outputs, folds, log,
        progress, evidence,
    )  # fmt: skip
    metadata["refit"] = None
    metadata["cross_fit"] = summary
    metadata["options"]["weight_decay"] = describe_weight_decay(options, member["training_rows"])  # member 1's
    return JobResult(fit.ensemble, fit.histories[0], view, metadata["test_metrics"], metadata)


def _say_cut(clock: JobClock, what: str, history) -> None:
    """Record on the job's clock that the time limit stopped ``what`` early (when it did)."""
    if history.time_limited_epoch is not None:
        clock.cut.append(f"{what} stopped after epoch {history.time_limited_epoch} (best epoch {history.best_epoch})")


def _log_data(prepared: Prepared, options: JobOptions, log) -> None:
    description = prepared.description
    pooled = len(prepared.x_train) + len(prepared.x_val)
    if cross_fitting(options, prepared.preprocessing.get("kind", "table")):
        rows = f"{pooled} rows in {options.folds} folds; " + (
            f"{len(prepared.x_test)} test rows from {options.test_data}"
            if options.test_data
            else "the estimate out of fold"
        )
    else:
        rows = f"{len(prepared.x_train)} train / {len(prepared.x_val)} validation / {len(prepared.x_test)} test"
    log(f"data: {description['rows']} rows → {prepared.x_train.shape[1]} features; task {prepared.task}; {rows}")
    for line in description.get("preprocessing", []):
        log(f"  {line}")
    if description.get("rows_dropped_missing_target"):
        log(f"  dropped {description['rows_dropped_missing_target']} row(s) with a missing target")


def _grow(prepared: Prepared, y_train, y_val, options: JobOptions, log):
    from ..training.executors import executor_for
    from .crossfit import shared_folder

    if prepared.task == "multilabel":
        raise DataError("--grow supports classification and regression targets, not multilabel.")
    log("growing: start small, widen or deepen while validation improves ...")
    with executor_for(options.executor, shared_folder(options)) as runner:
        growth = _grow_on(prepared, y_train, y_val, options, runner)
    log(growth.summary())
    return growth


def _grow_on(prepared: Prepared, y_train, y_val, options: JobOptions, runner):
    from ..training.grow import grow

    return grow(
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
        weight_decay=weight_decay(options, len(prepared.x_train)),
        seed=options.seed,
        executor=runner,
        monitor=monitor_for(options),  # --metric judges the candidates too
        metrics=_extras(prepared, options)["metrics"],
    )


def _extras(prepared: Prepared, options: JobOptions) -> dict:
    """--metric's validation score and --class-weight's weights (balanced over the training and validation rows)."""
    y = np.concatenate([prepared.y_train, prepared.y_val])
    return trainer_extras(options, prepared.task, prepared.classes, y, prepared.description)


def _network(prepared: Prepared, y_train, options: JobOptions):
    outputs = n_outputs(prepared.task, prepared.classes, y_train)
    return build_network(prepared.task, prepared.x_train.shape[1], outputs, options)


def _train(prepared: Prepared, y_train, y_val, options: JobOptions, log):
    from ..exceptions import TrainingInterrupted
    from ..training.fit import make_trainer

    network = _network(prepared, y_train, options)
    log(network.summary())
    log(f"weight decay (L2): {describe_weight_decay(options, len(prepared.x_train))}")
    optimizer = build_optimizer(network, options, len(prepared.x_train))
    extras = _extras(prepared, options)
    weights = extras["class_weights"]
    history = make_trainer(
        network,
        prepared.x_train,
        y_train,
        optimizer=optimizer,
        loss=build_loss(prepared.task, options),
        epochs=options.epochs,
        batch_size=options.batch_size,
        validation_data=(prepared.x_val, y_val, weighted(y_val, weights)),
        sample_weight=weighted(y_train, weights),
        metrics=extras["metrics"],
        callbacks=build_callbacks(options, len(prepared.x_train)),
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
    from ..exceptions import TrainingInterrupted
    from ..training.callbacks import CosineDecay, TimeLimit
    from ..training.fit import make_trainer

    epochs = history.best_epoch or len(history)
    pooled = prepared.x_pooled
    x = np.concatenate([prepared.x_train, prepared.x_val]) if pooled is None else pooled
    y = np.concatenate([y_train, y_val])
    log(
        f"refit: a fresh network on all {len(x)} training rows for {epochs} epoch(s), the best epoch with validation "
        f"(weight decay {weight_decay(options, len(x)):.3g})"
    )
    network = _network(prepared, y_train, options)
    from .tracking import callbacks as tracking_callbacks

    schedule = [CosineDecay(epochs)] if options.schedule == "cosine" else []
    if options.deadline is not None:
        schedule.append(TimeLimit(options.deadline))
    schedule += tracking_callbacks(options, "refit")
    refit_history = make_trainer(
        network,
        x,
        y,
        sample_weight=weighted(y, _extras(prepared, options)["class_weights"]),
        optimizer=build_optimizer(network, options, len(x)),
        loss=build_loss(prepared.task, options),
        epochs=epochs,
        batch_size=options.batch_size,
        callbacks=schedule,
        seed=options.seed,
        verbose=options.verbose,
        diagnostics=False,
    ).run()
    if refit_history.interrupted:
        raise TrainingInterrupted(refit_history.interrupt_message, None)
    cut = refit_history.time_limited_epoch
    return network, {
        "rows": int(len(x)), "epochs": int(epochs), "diverged": bool(refit_history.diverged), "time_limited_epoch": cut,
    }  # fmt: skip


def _account(
    network, selected, history, prepared: Prepared, options: JobOptions, growth, train_seconds: float,
    outputs=None, folds=None, log=print, progress: JobProgress | None = None, evidence: tuple | None = None,
) -> dict:  # fmt: skip
    """Everything the model file, metrics.json and the report say about the run.

    ``selected`` is the network of the run with validation (``network`` itself without a refit;
    the first member of a cross-fit): what is measured on the validation rows is measured on it.
    ``outputs`` are the test rows' predictions when they are already known (out of fold), and
    ``folds`` the folds the baselines are then cross-validated on. ``evidence`` is what calibration and
    the threshold are chosen on (app/decision.settle): the out-of-fold predictions of a cross-fit; else
    the validation rows' predictions of ``selected``.
    """
    from ..diagnostics import gradient_verdict, linear_block_report

    # training's threads have freed their buffers: give that memory back before the evaluation adds its own
    release_unused_memory()
    verdict = gradient_verdict(history, selected)
    task, arrays, classes = prepared.task, prepared.preprocessing_arrays, prepared.classes
    trail = None if growth is None else [{**row, "hidden": list(row["hidden"])} for row in growth.trail]
    if outputs is None:
        outputs = predict_outputs(network, task, prepared.x_test, arrays)
    validation = predict_outputs(selected, task, prepared.x_val, arrays)  # once: its metrics, and the evidence
    outputs, scores = _test_scores(validation, prepared, options, outputs, evidence)
    decision, test_metrics = scores["decision"], scores["test_metrics"]
    phases = {"training": train_seconds}
    baselines, importance = _baselines_and_importance(selected, prepared, options, folds, log, progress, phases)
    pictures = _pictures(task, outputs, prepared.y_test, decision, baselines)
    for result in baselines.values():
        result.pop("probabilities", None)
    return {
        **scores,
        "data": prepared.description,
        "options": {
            **{
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in options.__dict__.items()
                if k not in ("frame", "deadline", "mlflow_run")
            },
            "lr": learning_rate(options.optimizer, options.lr),  # the rate used, also when the recipe chose it
        },
        # the options recorded above that did not shape this model, and why
        "options_not_applied": not_applied(options, task, prepared.preprocessing.get("kind", "table")),
        "curves": pictures,
        "warnings": advice(prepared, options, test_metrics),
        "validation_metrics": metrics_of_outputs(
            task, validation, prepared.y_val, classes, None if decision is None else {"positive": decision["positive"]}
        ),
        "baselines": baselines,
        "overfitting": history.summary(),
        "overfitting_onset": history.overfitting_onset,
        "gradient_verdict": verdict.summary(),
        "vanishing": verdict.vanishing,
        "exploding": verdict.exploding,
        "linear_blocks": [block.statement() for block in linear_block_report(selected) if block.redundant],
        "importance": importance,
        "phases": phases,
        "train_seconds": train_seconds,
        "growth_trail": trail,
        "test_sample": sample_predictions(network, prepared, outputs),
    }


def _test_scores(validation, prepared: Prepared, options: JobOptions, outputs, evidence) -> tuple:
    """(the test rows' outputs as scored, the account's scores): the decision (calibration and threshold,
    app/decision.settle), the test metrics with their intervals, the per-class table, the headline.
    ``validation`` are the selected network's outputs on the validation rows: the evidence without
    out-of-fold predictions."""
    task, classes = prepared.task, prepared.classes
    if evidence is None and task in CLASSIFICATION and len(prepared.y_val):
        evidence = (validation, prepared.y_val, None, False)
    decision, outputs, thresholds = settle(task, options, prepared.description, outputs, evidence)
    scoring = None if decision is None else {**decision, "threshold": thresholds}
    test_metrics = metrics_of_outputs(task, outputs, prepared.y_test, classes, scoring)
    metric = prepared.description.get("headline", {}).get("metric")
    intervals = _intervals(task, outputs, prepared.y_test, test_metrics, scoring, options.seed, metric)
    classifying = task in CLASSIFICATION
    return outputs, {
        "test_metrics": test_metrics,
        "test_interval": (
            intervals.get(metric)
            if classifying
            else headline_interval(task, outputs, prepared.y_test, options.seed, metric)
        ),
        "test_intervals": intervals,
        "per_class": _per_class(outputs, prepared.y_test, classes, scoring) if classifying else None,
        "headline": prepared.description.get("headline"),
        "decision": None if decision is None else _recorded(decision),
    }


def _intervals(task: str, outputs, y, metrics: dict, scoring: dict | None, seed: int, headline: str | None) -> dict:
    """A 95 % interval of each classification metric (app/scoring.metric_intervals; a multiclass ROC
    AUC's only when it is the headline); none otherwise."""
    if task not in CLASSIFICATION:
        return {}
    from .scoring import metric_intervals

    scoring = scoring or {}
    names = tuple(m for m in metrics if m in (headline,) or not m.startswith("roc_auc_"))
    return metric_intervals(outputs, y, metrics, scoring.get("positive"), scoring.get("threshold"), seed, names)


def _per_class(outputs, y, classes, scoring: dict | None) -> dict:
    from .scoring import per_class

    scoring = scoring or {}
    return per_class(outputs, y, classes, scoring.get("threshold"), scoring.get("positive"))


def _recorded(decision: dict) -> dict:
    """The decision as the model file keeps it (plain JSON)."""
    return {key: value for key, value in decision.items() if not isinstance(value, np.ndarray)}


def _pictures(task: str, outputs, y, decision: dict | None, baselines: dict) -> dict | None:
    """The report's curves: ROC, precision-recall and reliability (binary) for the network and each
    baseline on the same rows; the reliability of the top class (multiclass)."""
    from .scoring import calibration_of, curves

    if task not in CLASSIFICATION or len(y) == 0:
        return None
    if task == "multiclass":
        return {"glassnet": calibration_of(outputs, y)}
    positive = decision["positive"] if decision else 1
    drawn = {"glassnet": curves(outputs, y, positive)}
    for name, result in baselines.items():
        if result.get("probabilities") is not None and len(result["probabilities"]) == len(y):
            drawn[name] = curves(result["probabilities"], y, positive)
    return drawn


def _baselines_and_importance(selected, prepared: Prepared, options: JobOptions, folds, log, progress, phases: dict):
    """The classical baselines and the importance, as options ask, each a phase with its bar and time."""
    progress = progress or JobProgress([], verbose=0, log=log)
    baselines, importance = {}, None
    if options.baselines:
        log(
            f"baselines: fitting the classical models on the same rows, within {options.baseline_budget:g} s each "
            "(--no-baselines skips them, --baseline-budget bounds them) ..."
        )
        clock = time.perf_counter()
        with progress.phase("baselines", baseline_fits(prepared, folds), unit="fit") as bar:
            rows = prepared
            if "out_of_core" in prepared.description:  # samples of the rows, in memory
                from .evaluate import baseline_rows

                rows = baseline_rows(prepared, options.seed)
                prepared.description["out_of_core"]["baseline_rows"] = [len(rows.y_train), len(rows.y_test)]
            budget = (
                progress.clock.baseline_budget(options.baseline_budget) if progress.clock else options.baseline_budget
            )
            positive = (prepared.description.get("positive_class") or {}).get("index")
            baselines = run_baselines(rows, budget, folds, bar.log, bar.advance, positive)
        phases["baselines"] = time.perf_counter() - clock
    if options.importance and (progress.clock is None or progress.clock.importance_fits()):
        clock = time.perf_counter()
        with progress.phase("importance", unit="column") as bar:
            importance = compute_importance(selected, prepared, progress=bar.reach)
        phases["importance"] = time.perf_counter() - clock
    return baselines, importance
