"""The MLflow callback: a run's parameters and per-epoch metrics in an MLflow tracking store.

Written through MLflow's own client (``MlflowClient``) against an explicit run, so that several
trainers (a cross-fit's members, in threads) can log into one run, each under its own prefix.
"""

from __future__ import annotations

import math
from typing import Any

from ..training.callbacks import Callback


def client(tracking_uri: str | None = None) -> Any:
    """MLflow's client for ``tracking_uri`` (None: MLflow's default, ``MLFLOW_TRACKING_URI`` or its
    local store), with a clear error when MLflow is not installed."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise ImportError("the MLflow callback needs MLflow: pip install 'glassnet[mlflow]'", name="mlflow") from error
    return MlflowClient(tracking_uri)


class MLflowLogger(Callback):
    """Log every epoch's losses, metrics and learning rate to an MLflow run.

    Parameters
    ----------
    run_id : str, optional
        An existing run to log into (the caller ends it). None: a new run in ``experiment`` is
        started when training begins and ended when it ends.
    tracking_uri : str, optional
        Where the tracking store is (None: MLflow's default).
    experiment : str, default="glassnet"
        The experiment of a new run.
    prefix : str, default=""
        Put before every metric's name (``"member1/"`` for one of several trainers in one run).
    params : dict, optional
        Parameters of a new run.
    """

    def __init__(
        self, run_id: str | None = None, tracking_uri: str | None = None, experiment: str = "glassnet",
        prefix: str = "", params: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.client = client(tracking_uri)
        self.run_id, self.experiment, self.prefix, self.params = run_id, experiment, prefix, params or {}
        self._owned = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.run_id is None:
            experiment = self.client.get_experiment_by_name(self.experiment)
            experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(self.experiment)
            self.run_id, self._owned = self.client.create_run(experiment_id).info.run_id, True
            for key, value in self.params.items():
                self.client.log_param(self.run_id, key, value)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        from mlflow.entities import Metric

        stamp = _now_ms()
        metrics = [
            Metric(self.prefix + key, float(value), stamp, epoch)
            for key, value in (logs or {}).items()
            if isinstance(value, (int, float)) and math.isfinite(value)
        ]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._owned:
            status = "KILLED" if self.trainer.history.interrupted else "FINISHED"
            self.client.set_terminated(self.run_id, status)


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
