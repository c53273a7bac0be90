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
from .executors import get_executor
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


def _train_candidate(job: dict, shared: dict) -> dict:
    """Train one architecture; runs in any executor (a module-level function, so it pickles)."""
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=job["threads"])  # same BLAS threads everywhere: same result
    except ImportError:  # pragma: no cover - threadpoolctl is part of the app extra
        pass
    try:
        started = time.perf_counter()
        network = mlp(
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
    y_array = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if task is None:
        integral = np.issubdtype(y_array.dtype, np.integer) or y_array.dtype == bool
        task = "classification" if integral and y_array.ndim == 1 and len(np.unique(y_array)) <= 100 else "regression"
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression'; got task={task!r}.")
    tolerance = check_fraction(tolerance, "tolerance")
    max_steps = check_positive_int(max_steps, "max_steps")
    start = tuple(check_positive_int(u, "start units") for u in start)
    mode = metric_mode(monitor)

    if task == "classification":
        labels = y_array.astype(np.int64)
        classes = np.unique(labels)
        if not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError(f"classification labels must be 0..k-1; got {classes[:10]}.")
        output_dim, output_activation, loss = len(classes), "softmax", "cross_entropy"
        y_prepared = labels
    else:
        y_prepared = y_array.astype(dtype).reshape(len(y_array), -1)
        output_dim, output_activation, loss = y_prepared.shape[1], "linear", "mse"
    if validation_data is None:
        fraction = check_fraction(validation_split, "validation_split", low_open=True)
        train_idx, val_idx = split_validation(
            len(x), fraction, np.random.default_rng(seed), y_prepared if task == "classification" else None
        )
        x_train, y_train, x_val, y_val = x[train_idx], y_prepared[train_idx], x[val_idx], y_prepared[val_idx]
    else:
        x_train, y_train = x, y_prepared
        x_val = check_features(validation_data[0], "x_val", dtype, x.shape[1])
        y_val = np.asarray(validation_data[1])
        y_val = y_val.astype(np.int64) if task == "classification" else y_val.astype(dtype).reshape(len(y_val), -1)

    shared = {
        "x": x_train,
        "y": y_train,
        "x_val": x_val,
        "y_val": y_val,
        "output_dim": output_dim,
        "output_activation": output_activation,
        "loss": loss,
    }
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
    }
    run = get_executor(executor)

    def better(a: float, b: float, slack: float) -> bool:
        """a beats b by more than a relative ``slack``."""
        return a < b - slack * abs(b) if mode == "min" else a > b + slack * abs(b)

    trail: list[dict] = []
    results: dict[tuple, dict] = {}
    current = start
    step = 0
    outcome = run.map(_train_candidate, [{**settings, "hidden": current}], shared)[0]
    results[current] = outcome
    trail.append(_row(step, outcome, accepted=True))
    best_score = outcome["val_score"]
    while step < max_steps:
        step += 1
        candidates = [c for c in _candidates(current, width_factor, max_units, max_layers) if c not in results]
        if not candidates:
            break
        outcomes = run.map(_train_candidate, [{**settings, "hidden": c} for c in candidates], shared)
        for outcome in outcomes:
            results[outcome["hidden"]] = outcome
            trail.append(_row(step, outcome, accepted=False))
        pick = (
            min(outcomes, key=lambda o: o["val_score"])
            if mode == "min"
            else max(outcomes, key=lambda o: o["val_score"])
        )
        if not better(pick["val_score"], best_score, tolerance):
            break
        best_score = pick["val_score"]
        current = pick["hidden"]
        for row in trail:
            if row["step"] == step and row["hidden"] == current:
                row["accepted"] = True

    finite = [o for o in results.values() if math.isfinite(o["val_score"])]
    overall = min(o["val_score"] for o in finite) if mode == "min" else max(o["val_score"] for o in finite)
    acceptable = [o for o in finite if not better(overall, o["val_score"], tolerance)]
    chosen = min(acceptable, key=lambda o: (o["n_parameters"], o["hidden"]))

    network = mlp(
        chosen["hidden"],
        output_dim,
        activation=activation,
        output_activation=output_activation,
        batch_norm=batch_norm,
        dropout=dropout,
        input_dim=x.shape[1],
        dtype=dtype,
        seed=seed,
    )
    network.load_state_dict(chosen["state"])
    return GrowthResult(chosen["hidden"], network, History.from_dict(chosen["history"]), trail, monitor)


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
