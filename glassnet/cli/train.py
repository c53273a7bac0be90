"""``glassnet train``: a table or an image folder in; a model, metrics.json and report.html out."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .. import recipe
from ..app.options import OUT_OF_CORE_CELLS, JobOptions
from .common import (
    check_output,
    duration,
    emit_json,
    fraction,
    fraction_or_zero,
    hidden_sizes,
    non_negative_float,
    positive_float,
    positive_int,
)

EXAMPLES = """examples:
  glassnet train houses.csv --target price --out houses-model
  glassnet train churn.parquet --target churned --hidden 256,128,64 --batch-norm --dropout 0.2
  glassnet train photos/ --image-size 32x32 --epochs 50 --out photo-model
  glassnet train digits.idx.gz --labels labels.idx.gz --grow
  glassnet train data.csv --target y --checkpoint run.ckpt     (Ctrl-C, then add --resume)
"""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "train",
        help="train a deep network on a table or an image folder",
        description="Train a deep feed-forward network and write the model, "
        "metrics.json and a self-contained report.html.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data",
        help="CSV, Excel .xlsx (first sheet), Parquet or .npz table, or a folder of Parquet files (one table); "
        "a folder with one sub-folder per class of images (PNG, JPEG, BMP, GIF, WebP, TIFF); or an idx file",
    )
    parser.add_argument("--target", help="target column (comma-separated for several)")
    parser.add_argument("--task", choices=["classification", "regression"], help="override the inferred task")
    parser.add_argument("--labels", help="idx labels file for idx image data")
    parser.add_argument("--test-data", help="a separate test file/folder instead of a held-out split")
    _add_reading_arguments(parser)
    parser.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=JobOptions.hidden,
        help=f"hidden units (default {','.join(map(str, JobOptions.hidden))})",
    )
    from ..layers import activation_names  # the registry's, when the parser is built

    parser.add_argument("--activation", default=JobOptions.activation, choices=activation_names(hidden=True))
    parser.add_argument("--batch-norm", action="store_true", help="batch normalization before each activation")
    parser.add_argument(
        "--dropout", type=float, default=JobOptions.dropout, help="dropout rate after each hidden activation"
    )
    training = parser.add_argument_group("training")
    _add_training_arguments(training)
    _add_execution_arguments(training)
    _add_scale_arguments(parser.add_argument_group("large tables"))
    _add_classification_arguments(parser.add_argument_group("classification: metric, imbalance, threshold"))
    parser.add_argument("--test-fraction", type=fraction, default=JobOptions.test_fraction)
    parser.add_argument("--validation-fraction", type=fraction, default=JobOptions.validation_fraction)
    parser.add_argument("--image-size", help="resize images to WxH, e.g. 28x28")
    parser.add_argument("--grayscale", action="store_true", help="convert images to grayscale")
    parser.add_argument("--seed", type=int, default=JobOptions.seed)
    parser.add_argument("--checkpoint", help="checkpoint file (written every epoch and on Ctrl-C)")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--out", default="glassnet-output", help="output folder (default glassnet-output)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--json", action="store_true", help="print metrics as JSON instead of a summary")
    parser.add_argument(
        "--no-report",
        action="store_true",
        help="write the model and metrics.json without report.html, whose figures take a second or more; "
        "glassnet report MODEL writes it later from the model file",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=run)


def _reading(args) -> dict:
    """The options of how the table is read (:func:`_add_reading_arguments`), for JobOptions."""
    return {
        "delimiter": args.delimiter,
        "encoding": args.encoding,
        "sheet": args.sheet,
        "columns": _declared_columns(args),
    }


def _add_reading_arguments(parser) -> None:
    """How the table is read, and the columns' kinds where the guess is not wanted."""
    parser.add_argument("--delimiter", help="CSV delimiter (sniffed by default)")
    parser.add_argument("--encoding", help="the CSV's text encoding, e.g. latin-1 or cp1252 (default UTF-8)")
    parser.add_argument("--sheet", help="the Excel workbook's sheet to read, by name or number from 1 (default: 1)")
    parser.add_argument("--categorical", metavar="COLUMNS", help="comma-separated columns to treat as categories")
    parser.add_argument("--numeric", metavar="COLUMNS", help="comma-separated columns to treat as numbers")
    parser.add_argument("--ignore", metavar="COLUMNS", help="comma-separated columns to leave out")


def _add_scale_arguments(group) -> None:
    """Out of core: a table streamed through a cache on disk."""
    group.add_argument(
        "--out-of-core",
        choices=("auto", "on", "off"),
        default=JobOptions.out_of_core,
        help="stream the table through a float32 cache on disk instead of reading it into memory: auto (the "
        f"default) when it has more than {OUT_OF_CORE_CELLS:,} cells (rows × columns); one network, the "
        "baselines on samples",
    )
    group.add_argument(
        "--keep-cache",
        action="store_true",
        help="keep the out-of-core cache (OUT.glassnet-cache.npy beside the output folder) after the run",
    )


def _add_training_arguments(group) -> None:
    """Epochs, optimizer, schedule, early stopping, refit and what is compared."""
    group.add_argument("--epochs", type=positive_int, default=JobOptions.epochs)
    group.add_argument("--batch-size", type=positive_int, default=JobOptions.batch_size)
    from ..optim import optimizer_names  # the registry's, when the parser is built

    group.add_argument("--optimizer", default=JobOptions.optimizer, choices=optimizer_names())
    group.add_argument(
        "--lr",
        type=positive_float,
        help="learning rate (default: "
        + ", ".join(f"{name} {recipe.learning_rate(name):g}" for name in optimizer_names())
        + ")",
    )
    group.add_argument("--momentum", type=float, default=JobOptions.momentum, help="SGD momentum (Nesterov)")
    group.add_argument(
        "--weight-decay",
        type=non_negative_float,
        help="L2 coefficient (default: the prior "
        f"{recipe.L2_PRIOR:g} over each network's training rows, e.g. {recipe.weight_decay(1000):g} on 1,000)",
    )
    group.add_argument("--schedule", choices=["cosine", "plateau"], help="learning-rate schedule")
    group.add_argument(
        "--patience", type=positive_int, default=JobOptions.patience, help="early-stopping patience in epochs"
    )
    group.add_argument(
        "--label-smoothing",
        type=fraction_or_zero,
        default=JobOptions.label_smoothing,
        help="label smoothing of the cross-entropy (classification; default 0)",
    )
    group.add_argument("--no-early-stopping", action="store_true", help="train all epochs (best weights not restored)")
    group.add_argument("--grow", action="store_true", help="start small and grow the network while validation improves")
    group.add_argument(
        "--folds",
        type=positive_int,
        default=JobOptions.folds,
        help=f"cross-fit this many networks on a table's rows: the estimate out of fold, their mean as the "
        f"model (default {JobOptions.folds}; 1: one network with a validation split)",
    )
    group.add_argument(
        "--no-refit",
        action="store_true",
        help="with --folds 1: keep the network of the run with validation instead of retraining on all rows",
    )
    group.add_argument(
        "--no-baselines", action="store_true", help="skip the classical models fitted on the same split for comparison"
    )
    group.add_argument(
        "--baseline-budget",
        type=float,
        default=JobOptions.baseline_budget,
        metavar="SECONDS",
        help=f"time each baseline model may take over all its folds; the boosted trees stop adding trees "
        f"when it would run out (default {JobOptions.baseline_budget:g})",
    )


def _add_execution_arguments(group) -> None:
    """Where the cross-fit members, --grow candidates and out-of-core passes run, and how long the job may take."""
    group.add_argument(
        "--max-time",
        type=duration,
        metavar="DURATION",
        help="one deadline for the whole job, e.g. 90s, 10m or 1h30m: the networks stop at the last epoch that "
        "fits and keep their best weights, the baselines and importance get what is left; the output, "
        "metrics.json and the report say what the limit cut (default: none)",
    )
    group.add_argument(
        "--executor",
        default=JobOptions.executor,
        help="where cross-fit members and --grow candidates train (default: side by side in threads on a machine "
        "with several cores): sequential (one after the other), threads, joblib (local processes) or a Dask "
        "scheduler address tcp://HOST:PORT",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask cluster's scheduler (tcp://HOST:PORT): cross-fit members, --grow candidates and the passes "
        "over a Parquet table out of core run there; every worker must see the data's and the output's folders",
    )


def _add_classification_arguments(group) -> None:
    group.add_argument(
        "--metric",
        metavar="NAME",
        help="the headline metric, and what early stopping and --grow judge by on the validation rows. "
        "Binary: roc_auc (default), pr_auc, f1, precision, recall, accuracy, balanced_accuracy, log_loss, brier; "
        "multiclass: accuracy (default), balanced_accuracy, f1_macro, roc_auc_macro, roc_auc_weighted, log_loss, "
        "brier; regression: r2 (default), rmse, mae",
    )
    group.add_argument(
        "--positive-class",
        metavar="LABEL",
        help="a binary task's positive class, the one PR AUC, F1 and the threshold are about (default: a label such "
        "as yes/true/1, else the rarer class)",
    )
    group.add_argument(
        "--class-weight",
        metavar="balanced|none|JSON",
        help="weigh the classes while training: balanced (each class as much in total), none (default), or "
        "a JSON object of label to weight such as '{\"fraud\": 10}'",
    )
    group.add_argument(
        "--threshold",
        metavar="auto|cost:R|P",
        help="a binary task's decision threshold on the positive class's probability: auto (the best for the "
        "headline metric when a threshold changes it, else F1), cost:R (the cheapest when a false negative costs "
        "R false positives), or a probability; chosen on the out-of-fold predictions, recorded in the model "
        "and applied by predict (default: the more probable class)",
    )
    group.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="write each network's curves, gradient flow, unit fractions and histograms for TensorBoard "
        "(tensorboard --logdir DIR; needs the tensorboard extra)",
    )
    group.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        metavar="URI",
        help="log the job to MLflow: its options, each network's curves, the final metrics and the output files "
        "(default store: MLflow's own, MLFLOW_TRACKING_URI or ./mlflow.db with ./mlruns; needs the mlflow extra)",
    )
    group.add_argument(
        "--no-calibration",
        action="store_true",
        help="keep the ensemble's probabilities as they are (default: temperature or Platt scaling when held out it "
        "lowers the out-of-fold log loss)",
    )


def run(args) -> int:
    from ..app.cache import cache_path_for
    from ..app.outputs import check_output_dir
    from ..images import parse_size

    out = Path(args.out)
    _check_combinations(args)
    inputs = [args.data, args.test_data, args.labels]
    check_output_dir(out, args.overwrite, inputs=inputs)  # refuse before any work
    if args.checkpoint:  # and the cross-fit members' files beside it
        check_checkpoint_path(args.checkpoint, out, resume=args.resume, overwrite=args.overwrite, inputs=inputs,
                              folds=args.folds)  # fmt: skip
    # The out-of-core cache's name beside the output is glassnet's: an earlier run's cache is replaced,
    # any other file of that name refused.
    check_output(cache_path_for(out), True, "cache", inputs)
    options = JobOptions(
        data=args.data,
        target=[t.strip() for t in args.target.split(",")] if args.target else [],
        task=args.task,
        labels=args.labels,
        test_data=args.test_data,
        hidden=args.hidden,
        activation=args.activation,
        batch_norm=args.batch_norm,
        dropout=args.dropout,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        early_stopping=not args.no_early_stopping,
        patience=args.patience,
        grow=args.grow,
        seed=args.seed,
        test_fraction=args.test_fraction,
        validation_fraction=args.validation_fraction,
        image_size=parse_size(args.image_size),
        image_mode="L" if args.grayscale else None,
        **_reading(args),
        checkpoint=args.checkpoint,
        resume=args.resume,
        verbose=0 if (args.quiet or args.json) else 1,
        baselines=not args.no_baselines,
        baseline_budget=args.baseline_budget,
        refit=not args.no_refit,
        folds=args.folds,
        executor=args.scheduler or args.executor,
        label_smoothing=args.label_smoothing,
        out_of_core=args.out_of_core,
        cache=str(cache_path_for(out)),
        keep_cache=args.keep_cache,
        max_time=args.max_time,
        **_classification_options(args),
    )
    return train_and_report(options, out, args.overwrite, args.json, report=not args.no_report)


def _classification_options(args) -> dict:
    """--metric, --positive-class, --class-weight, --threshold and --no-calibration as JobOptions fields."""
    from ..app.decision import parse_class_weight, parse_threshold
    from . import UsageError

    try:
        class_weight, threshold = parse_class_weight(args.class_weight), parse_threshold(args.threshold)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return {
        "metric": args.metric, "positive_class": args.positive_class, "class_weight": class_weight,
        "threshold": threshold, "calibration": not args.no_calibration, "tensorboard": args.tensorboard,
        "mlflow": args.mlflow,
    }  # fmt: skip


def _check_combinations(args) -> None:
    """Arguments that are wrong together, or wrong in a way argparse cannot see."""
    from . import UsageError

    if args.resume and not args.checkpoint:
        raise UsageError("--resume needs --checkpoint FILE.")
    for flag, module, extra in (("tensorboard", "tensorboardX", "tensorboard"), ("mlflow", "mlflow", "mlflow")):
        if getattr(args, flag) is not None and importlib.util.find_spec(module) is None:
            raise UsageError(f"--{flag} needs {module}: pip install 'glassnet[{extra}]'.")
    if not args.baseline_budget > 0:
        raise UsageError(f"--baseline-budget must be a positive number of seconds; got {args.baseline_budget}.")
    if args.scheduler and (args.executor or "://" not in args.scheduler):
        raise UsageError(
            f"--scheduler takes a Dask scheduler's address such as tcp://10.0.0.5:8786, instead of --executor; "
            f"got --scheduler {args.scheduler!r}" + (f" and --executor {args.executor!r}." if args.executor else ".")
        )


def _declared_columns(args) -> dict[str, str]:
    """--categorical/--numeric/--ignore as one mapping; a column declared twice is a usage error."""
    from . import UsageError

    kinds: dict[str, str] = {}
    for kind in ("categorical", "numeric", "ignore"):
        for name in filter(None, (part.strip() for part in (getattr(args, kind) or "").split(","))):
            if name in kinds and kinds[name] != kind:
                raise UsageError(f"column {name!r} is given both --{kinds[name]} and --{kind}; choose one.")
            kinds[name] = kind
    return kinds


def check_checkpoint_path(checkpoint: str, out: Path, *, resume: bool, overwrite: bool, inputs, folds: int = 1) -> None:
    """--checkpoint: outside the output folder, never a file glassnet did not write, resumed or replaced
    only when asked."""
    from . import UsageError
    from .common import check_output

    path = Path(checkpoint)
    if out.resolve() in path.resolve().parents:
        raise UsageError(
            f"--checkpoint {checkpoint} is inside the output folder {out}, which is replaced as a "
            "whole at the end; put the checkpoint elsewhere."
        )
    from ..app.options import member_checkpoint

    for each in [path] + [Path(member_checkpoint(checkpoint, k)) for k in range(folds)]:  # cross-fit: one a member
        check_output(
            each, resume or overwrite, "checkpoint", inputs, "--resume to continue from it or --overwrite to start over"
        )


def train_and_report(
    options, out: Path, overwrite: bool, as_json: bool, extra_files: dict[str, str] | None = None, report: bool = True
) -> int:
    import time
    from dataclasses import replace

    from ..app.outputs import metrics_document, write_outputs
    from ..app.run import run_training
    from ..app.tasks import headline
    from ..app.tracking import log_outputs, mlflow_run

    log = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if as_json else print
    with mlflow_run(options, log) as options:  # --mlflow: the job's run, ended with it
        result = run_training(options, log=log)
        # the rows have done their work: the files need the model and its account, so the matrix (by far
        # the largest thing left) is freed before the report's figures add their own memory
        result = replace(result, prepared=result.prepared.without_rows())
        clock = time.perf_counter()
        write_outputs(result, out, overwrite, extra_files, report=report)
        log_outputs(options, result.metadata, out)
    written_in = "report and files" if report else "files"
    phases = {**result.metadata.get("phases", {}), written_in: time.perf_counter() - clock}
    document = metrics_document(result)
    if as_json:
        emit_json({**document, "output": str(out)})
        return 0
    meta = result.metadata
    metric = (meta.get("headline") or {}).get("metric")
    name, value = headline(result.prepared.task, result.metrics, metric)
    estimate = result.prepared.description.get("estimate", "hold-out")
    label = {"out of fold": "out-of-fold", "test file": "test", "hold-out": "test"}.get(estimate, "test")
    interval = meta.get("test_interval")
    around = f" (95 % interval {interval['low']:.4f}–{interval['high']:.4f})" if interval else ""
    print(
        f"\n{label} {name}: {value:.4f}{around}   ({result.prepared.description['test_rows']} rows, {estimate}; "
        f"trained in {meta['train_seconds']:.1f} s)"
    )
    if meta.get("cross_fit"):
        fit = meta["cross_fit"]
        epochs = ", ".join(str(member["best_epoch"]) for member in fit["members"])
        kept = f"best epochs {epochs}" if all(m["best_epoch"] is not None for m in fit["members"]) else "last epochs"
        print(f"model: the mean of {fit['folds']} cross-fit networks ({kept})")
    _print_metrics(result.metrics, name, meta)
    print(f"training: {meta['overfitting']}")
    print(f"gradients: {meta['gradient_verdict']}")
    from ..diagnostics.units import describe_census

    print(f"units: {describe_census(getattr(result.network, 'members', [result.network]))}")
    for statement in meta["linear_blocks"] + meta.get("warnings", []):
        print(f"warning: {statement}")
    _print_baselines(result, name, value, interval)
    _print_ending(meta, out, phases, report)
    return 0


def _print_ending(meta: dict, out: Path, phases: dict, report: bool) -> None:
    """The summary's last lines: the files written, where the time went, and what a time limit cut."""
    from ..app.options import METRICS_FILE, MODEL_FILE, REPORT_FILE

    written = [MODEL_FILE, METRICS_FILE] + ([REPORT_FILE] if report else [])
    print("wrote " + ", ".join(str(out / name) for name in written) + ("" if report else " (--no-report)"))
    print("time: " + " · ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases.items()))
    limit = meta.get("time_limit")
    if limit:
        cut = "; ".join(limit["cut"]) or "nothing was cut"
        used = limit["used"]
        print(
            f"time limit: {limit['seconds']:g} s for the whole job, {used:.0f} s used before writing the files; {cut}"
        )


def _print_metrics(metrics: dict, headline: str, meta: dict) -> None:
    """The metrics after the headline, each with its 95 % interval when it has one; then the decision."""
    intervals = meta.get("test_intervals") or {}
    for metric_name, number in metrics.items():
        if metric_name not in (headline, "confusion_matrix"):
            span = intervals.get(metric_name)
            around = f"  ({span['low']:.4f}–{span['high']:.4f})" if span else ""
            print(f"  {metric_name}: {number:.4f}{around}")
    _print_decision(meta)


def _print_decision(meta: dict) -> None:
    """How probabilities became decisions: the calibration, the threshold, the per-class table."""
    decision = meta.get("decision")
    if not decision:
        return
    print(f"calibration: {decision['calibration_text']}")
    if decision.get("positive_class") is not None:
        print(f"threshold on P({decision['positive_class']}): {decision['threshold_rule']}")
    if decision.get("class_weight") and not decision["class_weight"].startswith("none"):
        print(f"class weights: {decision['class_weight']}")
    per_class = meta.get("per_class") or {}
    if len(per_class) > 2:
        print("per class:" + "".join(
            f"\n  {label}: precision {row['precision']:.3f}, recall {row['recall']:.3f}, F1 {row['f1']:.3f} "
            f"({row['support']} rows)"
            for label, row in per_class.items()
        ))  # fmt: skip


def _print_baselines(result, name: str, value: float, interval: dict | None) -> None:
    """The end of ``train``'s summary: the baselines' scores against the network's, and the best."""
    from ..app.interval import best_baseline, inside, leaders

    meta = result.metadata
    if meta["baselines"]:
        baseline_text = ", ".join(
            f"{model} {scores.get(name, float('nan')):.4f}" for model, scores in meta["baselines"].items()
        )
        top = leaders([("glassnet", value)] + [(m, s.get(name)) for m, s in meta["baselines"].items()], name)
        best = " and ".join(top) + (" (tied)" if len(top) > 1 else "")
        rival = best_baseline(meta, name)
        close = rival is not None and inside(interval, rival[1])
        apart = " (the best baseline is inside the 95 % interval: not clearly apart)" if close else ""
        sampled = (result.prepared.description.get("out_of_core") or {}).get("baseline_rows")
        where = f" (out of core: fitted on {sampled[0]:,} training rows, scored on {sampled[1]:,})" if sampled else ""
        print(f"baselines ({name}){where}: {baseline_text} → best: {best}{apart}")
    else:
        print("baselines: skipped (--no-baselines)")
