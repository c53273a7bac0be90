"""Start small and grow: the capacity search the seed recommends against overfitting.

Begin with a small network, try the next larger candidates (wider, deeper), keep growing while
validation improves by more than a tolerance, and prefer the smallest model within that tolerance
of the best one seen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_features, check_fraction, check_positive_int
from ..builders import mlp
from ..exceptions import TrainingInterrupted
from ..network import Sequential
from .callbacks import EarlyStopping
from .executors import executor_for, opened, sent_by_path
from .fit import make_trainer
from .history import History
from .targets import split_validation


@dataclass
class GrowthResult:
    """What :func:`grow` found.

    Attributes
    ----------
    architecture : tuple of int
        Hidden-layer widths of the chosen model.
    network : Sequential
        The chosen model, trained (best-validation weights).
    history : History
        Its training history.
    trail : list of dict
        Every candidate tried, in order: ``step``, ``hidden``, ``n_parameters``, ``train_loss``,
        ``val_score``, ``epochs``, ``seconds``, ``accepted`` (became the base for the next step).
    monitor : str
        The validation quantity compared (``"val_loss"`` by default).
    """

    architecture: tuple[int, ...]
    network: Sequential
    history: History
    trail: list[dict] = field(default_factory=list)
    monitor: str = "val_loss"

    def summary(self) -> str:
        lines = [f"{'step':>4} {'hidden':<22}{'params':>9} {'train loss':>11} {self.monitor:>11} {'epochs':>7}"]
        for row in self.trail:
            mark = " <- chosen" if tuple(row["hidden"]) == self.architecture else ""
            lines.append(
                f"{row['step']:>4} {str(tuple(row['hidden'])):<22}{row['n_parameters']:>9,} "
                f"{row['train_loss']:>11.4g} {row['val_score']:>11.4g} {row['epochs']:>7}{mark}"
            )
        return "\n".join(lines)


def _candidates(hidden: tuple[int, ...], width_factor: float, max_units: int, max_layers: int) -> list[tuple[int, ...]]:
    """The next larger networks: every layer wider, and one more layer (as wide as the last)."""
    out = []
    wider = tuple(min(max_units, int(math.ceil(units * width_factor))) for units in hidden)
    if wider != hidden:
        out.append(wider)
    if len(hidden) < max_layers:
        out.append(hidden + (hidden[-1],))
    return out


def _network(job: dict, shared: dict) -> Sequential:
    """The untrained network of a candidate (its weights depend on the seed only)."""
    return mlp(
        job["hidden"],
        shared["output_dim"],
        activation=job["activation"],
        output_activation=shared["output_activation"],
        batch_norm=job["batch_norm"],
        dropout=job["dropout"],
        input_dim=shared["x"].shape[1],
        dtype=shared["x"].dtype,
        seed=job["seed"],
    )


def _train_candidate(job: dict, shared: dict) -> dict:
    """Train one architecture; runs in any executor (a module-level function, so it pickles)."""
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=job["threads"])  # same BLAS threads everywhere: same result
    except ImportError:  # pragma: no cover - threadpoolctl is part of the app extra
        pass
    shared = opened(shared)  # the rows, when they came by path
    try:
        started = time.perf_counter()
        network = _network(job, shared)
        stopper = EarlyStopping(monitor=job["monitor"], patience=job["patience"])
        history = make_trainer(
            network,
            shared["x"],
            shared["y"],
            loss=shared["loss"],
            optimizer=job["optimizer"],
            lr=job["lr"],
            epochs=job["epochs"],
            batch_size=job["batch_size"],
            validation_data=(shared["x_val"], shared["y_val"]),
            callbacks=[stopper],
            seed=job["seed"],
            weight_decay=job["weight_decay"],
            metrics=job.get("metrics", ()),
        ).run()
        if history.interrupted:  # Ctrl-C stops the whole search, not just this candidate
            raise TrainingInterrupted(
                f"{history.interrupt_message.rstrip('.')} (while growing: candidate "
                f"{tuple(job['hidden'])}); nothing was saved."
            )
        best = history.best_epoch or history.epochs[-1]
        index = history.epochs.index(best)
        return {
            "hidden": tuple(job["hidden"]),
            "n_parameters": network.n_parameters,
            "train_loss": history.history["loss"][index],
            "val_score": history.history[job["monitor"]][index],
            "epochs": len(history),
            "seconds": time.perf_counter() - started,
            "state": network.state_dict(),
            "history": history.to_dict(),
        }
    finally:
        if limiter is not None:
            limiter.unregister()


def grow(
    x,
    y,
    *,
    task: str | None = None,
    start: Sequence[int] = (8,),
    width_factor: float = 2.0,
    max_units: int = 512,
    max_layers: int = 4,
    max_steps: int = 8,
    tolerance: float = 0.01,
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
    optimizer: str = "adam",
    lr: float | None = None,
    weight_decay: float = 0.0,
    epochs: int = 200,
    batch_size: int = 32,
    patience: int = 15,
    monitor: str = "val_loss",
    validation_split: float = 0.2,
    validation_data: tuple | None = None,
    dtype=np.float32,
    seed: int = 0,
    executor: Any = None,
    threads_per_candidate: int = 1,
    metrics: Any = (),
) -> GrowthResult:
    """Find a network size by starting small and growing while validation improves.

    Each step trains the candidates one size up from the current network: every hidden layer
    ``width_factor`` times wider, and one more hidden layer. The best candidate becomes the new
    base if it beats the best validation score so far by more than ``tolerance`` (relative);
    otherwise the search stops. Finally the smallest model (fewest parameters) whose score is
    within ``tolerance`` of the best is chosen: the seed's advice to prefer small networks.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
    y : array-like
        Class labels 0..k-1 (classification) or real targets (regression).
    task : "classification", "regression" or None
        Inferred when None: integer labels with few distinct values are classification.
    start : sequence of int
        The first architecture (default one hidden layer of 8 units).
    tolerance : float
        Relative improvement needed to keep growing, and the slack for preferring a smaller model.
    monitor : str
        ``"val_loss"`` (minimized) or a validation metric such as ``"val_accuracy"``.
    metrics : sequence of str or mapping of str to score function
        Extra validation metrics each candidate's trainer computes (``Trainer(metrics=...)``), so
        that ``monitor`` can name one, e.g. ``metrics=["roc_auc"], monitor="val_roc_auc"``.
    executor : None, "joblib", a Dask Client or scheduler address, or an executor object
        Runs the candidates of a step, which are independent. Results are identical across
        executors for the same seed (each candidate uses ``threads_per_candidate`` BLAS threads).

    Returns
    -------
    GrowthResult

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 2)); y = (x[:, 0] * x[:, 1] > 0).astype(int)
    >>> result = gn.grow(x, y, epochs=20, max_steps=1)
    >>> len(result.trail) >= 2
    True
    """
    from .metrics import metric_mode

    x = check_features(x, "x", dtype)
    tolerance = check_fraction(tolerance, "tolerance")
    max_steps = check_positive_int(max_steps, "max_steps")
    start = tuple(check_positive_int(u, "start units") for u in start)
    mode = metric_mode(monitor)
    shared = _shared_data(x, y, task, dtype, validation_data, validation_split, seed)
    settings = {
        "activation": activation,
        "batch_norm": batch_norm,
        "dropout": dropout,
        "optimizer": optimizer,
        "lr": lr,
        "weight_decay": weight_decay,
        "epochs": epochs,
        "batch_size": batch_size,
        "patience": patience,
        "monitor": monitor,
        "seed": seed,
        "threads": threads_per_candidate,
        "metrics": metrics,
    }
    search = _searched(
        executor, settings, shared, mode, tolerance, (start, width_factor, max_units, max_layers, max_steps)
    )
    chosen = search.choice()
    network = _network({**settings, "hidden": chosen["hidden"]}, shared)
    network.load_state_dict(chosen["state"])
    return GrowthResult(chosen["hidden"], network, History.from_dict(chosen["history"]), search.trail, monitor)


def _searched(executor: Any, settings: dict, shared: dict, mode: str, tolerance: float, bounds: tuple) -> _Search:
    """The search run on ``executor``; on a cluster, its candidates read the rows from files."""
    with executor_for(executor) as runner, sent_by_path(runner, shared, ("x", "y", "x_val", "y_val")) as sent:
        search = _Search(runner, settings, sent, mode, tolerance)
        search.run(*bounds)
    return search


def _shared_data(
    x: np.ndarray, y, task: str | None, dtype, validation_data, validation_split: float, seed: int
) -> dict:
    """Training and validation rows and the output layer, the same for every candidate."""
    y_array = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if task is None:
        integral = np.issubdtype(y_array.dtype, np.integer) or y_array.dtype == bool
        task = "classification" if integral and y_array.ndim == 1 and len(np.unique(y_array)) <= 100 else "regression"
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression'; got task={task!r}.")
    classification = task == "classification"
    if classification:
        y_prepared = y_array.astype(np.int64)
        classes = np.unique(y_prepared)
        if not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError(f"classification labels must be 0..k-1; got {classes[:10]}.")
        output = {"output_dim": len(classes), "output_activation": "softmax", "loss": "cross_entropy"}
    else:
        y_prepared = y_array.astype(dtype).reshape(len(y_array), -1)
        output = {"output_dim": y_prepared.shape[1], "output_activation": "linear", "loss": "mse"}
    if validation_data is None:
        fraction = check_fraction(validation_split, "validation_split", low_open=True)
        rng = np.random.default_rng(seed)
        train_idx, val_idx = split_validation(len(x), fraction, rng, y_prepared if classification else None)
        rows = {"x": x[train_idx], "y": y_prepared[train_idx], "x_val": x[val_idx], "y_val": y_prepared[val_idx]}
    else:
        y_val = np.asarray(validation_data[1])
        y_val = y_val.astype(np.int64) if classification else y_val.astype(dtype).reshape(len(y_val), -1)
        x_val = check_features(validation_data[0], "x_val", dtype, x.shape[1])
        rows = {"x": x, "y": y_prepared, "x_val": x_val, "y_val": y_val}
    return {**rows, **output}


class _Search:
    """The growing search: steps of candidates, the trail, and the final choice."""

    def __init__(self, executor: Any, settings: dict, shared: dict, mode: str, tolerance: float) -> None:
        self.executor, self.settings, self.shared = executor, settings, shared
        self.mode, self.tolerance = mode, tolerance
        self.trail: list[dict] = []
        self.results: dict[tuple, dict] = {}

    def better(self, a: float, b: float) -> bool:
        """a beats b by more than the relative tolerance."""
        slack = self.tolerance * abs(b)
        return a < b - slack if self.mode == "min" else a > b + slack

    def _train(self, step: int, candidates: list[tuple[int, ...]], accepted: bool) -> list[dict]:
        jobs = [{**self.settings, "hidden": hidden} for hidden in candidates]
        outcomes = self.executor.map(_train_candidate, jobs, self.shared)
        for outcome in outcomes:
            self.results[outcome["hidden"]] = outcome
            self.trail.append(_row(step, outcome, accepted=accepted))
        return outcomes

    def run(self, start: tuple[int, ...], width_factor: float, max_units: int, max_layers: int, max_steps: int) -> None:
        """Grow from ``start`` while the best candidate of a step beats the best score so far."""
        current = start
        best_score = self._train(0, [current], accepted=True)[0]["val_score"]
        for step in range(1, max_steps + 1):
            candidates = _candidates(current, width_factor, max_units, max_layers)
            candidates = [c for c in candidates if c not in self.results]
            if not candidates:
                break
            outcomes = self._train(step, candidates, accepted=False)
            pick = (min if self.mode == "min" else max)(outcomes, key=lambda o: o["val_score"])
            if not self.better(pick["val_score"], best_score):
                break
            best_score, current = pick["val_score"], pick["hidden"]
            for row in self.trail:
                if row["step"] == step and row["hidden"] == current:
                    row["accepted"] = True

    def choice(self) -> dict:
        """The smallest model (fewest parameters) whose score is within tolerance of the best."""
        finite = [o for o in self.results.values() if math.isfinite(o["val_score"])]
        scores = [o["val_score"] for o in finite]
        overall = min(scores) if self.mode == "min" else max(scores)
        acceptable = [o for o in finite if not self.better(overall, o["val_score"])]
        return min(acceptable, key=lambda o: (o["n_parameters"], o["hidden"]))


def _row(step: int, outcome: dict, accepted: bool) -> dict:
    return {
        "step": step,
        "hidden": tuple(outcome["hidden"]),
        "n_parameters": outcome["n_parameters"],
        "train_loss": outcome["train_loss"],
        "val_score": outcome["val_score"],
        "epochs": outcome["epochs"],
        "seconds": outcome["seconds"],
        "accepted": accepted,
    }
