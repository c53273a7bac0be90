"""``--tensorboard DIR`` and ``--mlflow [URI]``: the job's runs in TensorBoard and MLflow.

TensorBoard gets one run per network (``DIR/member1`` ... for a cross-fit, ``DIR/network`` and
``DIR/refit`` otherwise). MLflow gets one run for the job: every option that shaped the model as
parameters, each network's curves per epoch (``member1/val_loss``...), the final metrics, and the
model file, ``metrics.json`` and ``report.html`` as artifacts. Without a URI, MLflow's own default
store is used (``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` with artifacts in ``./mlruns``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .options import METRICS_FILE, MODEL_FILE, REPORT_FILE, JobOptions

#: MLflow keeps a parameter's value to this many characters.
PARAM_CHARS = 6000


def callbacks(options: JobOptions, network: str) -> list:
    """The tracking callbacks of one network's trainer: ``network`` is ``"member1"``, ``"network"``
    or ``"refit"`` (its TensorBoard folder, its prefix in the MLflow run)."""
    found: list = []
    if options.tensorboard:
        from ..tracking import TensorBoard

        found.append(TensorBoard(Path(options.tensorboard) / network))
    if options.mlflow_run:
        from ..tracking import MLflowLogger

        found.append(MLflowLogger(run_id=options.mlflow_run, tracking_uri=_uri(options), prefix=f"{network}/"))
    return found


def _uri(options: JobOptions) -> str | None:
    return options.mlflow or None


@contextmanager
def mlflow_run(options: JobOptions, log=print) -> Iterator[JobOptions]:
    """The job's MLflow run (with ``--mlflow``): started here, ``options`` given its id, ended
    FINISHED, KILLED (Ctrl-C) or FAILED with the job."""
    if options.mlflow is None:
        yield options
        return
    from ..exceptions import TrainingInterrupted
    from ..tracking.mlflow import client

    try:
        tracker = client(_uri(options))
        experiment = tracker.get_experiment_by_name("glassnet")
        experiment_id = experiment.experiment_id if experiment else tracker.create_experiment("glassnet")
        run = tracker.create_run(experiment_id, run_name=Path(options.data).stem)
    except ImportError:
        raise
    except Exception as error:  # MLflow's and its database's errors, several lines long: said in one
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = options.mlflow or "MLflow's default store (MLFLOW_TRACKING_URI, else ./mlflow.db)"
        raise ValueError(
            f"--mlflow could not open the tracking store {where}: {reason}; pass another URI, or move away the "
            "file that is not an MLflow store."
        ) from None
    log(f"mlflow: run {run.info.run_id} in {tracker.tracking_uri}")
    status = "FAILED"
    try:
        yield replace(options, mlflow_run=run.info.run_id)
        status = "FINISHED"
    except (TrainingInterrupted, KeyboardInterrupt):
        status = "KILLED"
        raise
    finally:
        tracker.set_terminated(run.info.run_id, status)


def log_outputs(options: JobOptions, metadata: dict, out: Path) -> None:
    """The job's parameters (the options that shaped the model), final metrics and files, into its run."""
    if not options.mlflow_run:
        return
    from mlflow.entities import Metric, Param

    from ..tracking.mlflow import client

    tracker, run = client(_uri(options)), options.mlflow_run
    unused = metadata.get("options_not_applied") or {}
    params = [
        Param(key, str(value)[:PARAM_CHARS])
        for key, value in (metadata.get("options") or {}).items()
        if key not in unused and key not in ("mlflow_run",)
    ]
    estimate = "oof" if (metadata.get("data") or {}).get("estimate") == "out of fold" else "test"
    metrics = [
        Metric(f"{estimate}_{name}", float(value), 0, 0)
        for name, value in (metadata.get("test_metrics") or {}).items()
        if isinstance(value, (int, float))
    ]
    tracker.log_batch(run, metrics=metrics, params=params)
    for name in (MODEL_FILE, METRICS_FILE, REPORT_FILE):
        if (out / name).exists():  # report.html is not written with --no-report
            tracker.log_artifact(run, str(out / name))
