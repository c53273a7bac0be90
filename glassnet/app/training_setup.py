"""The training recipe of ``glassnet train``, in one place: the network, its loss, optimizer and callbacks.

The run with validation, the refit and every member of a cross-fit build from these, so the same
options always mean the same network and training.
"""

from __future__ import annotations

import numpy as np

from .. import recipe
from ..exceptions import DataError
from ..recipe import learning_rate
from .options import JobOptions
from .tasks import LABELLED, output_spec


def n_outputs(task: str, classes: list | None, y) -> int:
    """The network's output width for ``task``: one per class, else one per target column."""
    return len(classes or []) if task in LABELLED else int(y.reshape(len(y), -1).shape[1])


def build_network(task: str, n_inputs: int, outputs: int, options: JobOptions, seed: int | None = None):
    """The MLP of ``options`` for ``task`` (``seed`` defaults to the options' seed)."""
    from ..builders import mlp

    output_dim, output_activation = output_spec(task, outputs)
    return mlp(
        list(options.hidden),
        output_dim,
        activation=options.activation,
        init=options.init,
        output_activation=output_activation,
        batch_norm=options.batch_norm,
        dropout=options.dropout,
        input_dim=n_inputs,
        seed=options.seed if seed is None else seed,
    )


def build_loss(task: str, options: JobOptions):
    """Cross-entropy with the options' label smoothing for single-label classes; else the default."""
    from ..losses import SoftmaxCrossEntropy

    if task in ("binary", "multiclass") and options.label_smoothing:
        return SoftmaxCrossEntropy(label_smoothing=options.label_smoothing)
    return None


def weight_decay(options: JobOptions, rows: int) -> float:
    """The L2 coefficient for a network trained on ``rows`` rows: the options', else the recipe's prior."""
    return recipe.weight_decay(rows) if options.weight_decay is None else float(options.weight_decay)


def describe_weight_decay(options: JobOptions, rows: int) -> str:
    """The L2 coefficient of a network trained on ``rows`` rows and where it came from, for the log and
    the recorded options."""
    if options.weight_decay is not None:
        return f"{options.weight_decay:g}, as given"
    return (
        f"the prior {recipe.L2_PRIOR:g} over each network's training rows "
        f"({recipe.L2_PRIOR:g} / {rows} = {recipe.weight_decay(rows):.3g}); it fades as rows grow"
    )


def build_optimizer(network, options: JobOptions, rows: int):
    """The optimizer of ``options`` for ``network``, trained on ``rows`` rows (which set the L2)."""
    from ..optim import make_optimizer, optimizer_class

    momentum = optimizer_class(options.optimizer).takes_momentum  # SGD's Nesterov momentum
    return make_optimizer(
        options.optimizer,
        network.parameters(),
        lr=learning_rate(options.optimizer, options.lr),
        momentum=options.momentum if momentum else None,
        nesterov=options.momentum > 0 if momentum else None,
        weight_decay=weight_decay(options, rows),
    )


def build_callbacks(options: JobOptions, rows: int, network: str = "network") -> list:
    """Early stopping (on ``options.monitor``), the learning-rate schedule and the time limit (when the job
    has a deadline), for ``rows`` training rows.

    The patience is ``options.patience`` epochs, or more when the rows make few steps an epoch
    (``glassnet.recipe.patience``). ``--tensorboard`` and ``--mlflow`` add their callbacks, the
    network named ``network`` there (``"member1"``, ``"network"``, ``"refit"``: app/tracking.py).
    """
    from ..training.callbacks import CosineDecay, EarlyStopping, ReduceLROnPlateau, TimeLimit
    from .tracking import callbacks as tracking_callbacks

    patience = recipe.patience(options.patience, rows, options.batch_size)
    stopper = EarlyStopping(
        monitor=monitor_for(options), patience=patience, min_relative_improvement=options.min_relative_improvement
    )
    callbacks: list = [stopper] if options.early_stopping else []
    if options.schedule == "cosine":
        callbacks.append(CosineDecay(options.epochs))
    elif options.schedule == "plateau":
        callbacks.append(ReduceLROnPlateau(patience=max(2, options.patience // 3), factor=0.3))
    elif options.schedule is not None:
        raise DataError(f"--schedule must be cosine or plateau; got {options.schedule!r}.")
    if options.deadline is not None:  # after early stopping: the best weights are still restored
        callbacks.append(TimeLimit(options.deadline))
    return callbacks + tracking_callbacks(options, network)


def trainer_extras(options: JobOptions, task: str, classes: list | None, y_rows, description: dict) -> dict:
    """What a member's (or the network's) trainer needs beyond the recipe: the validation metric
    ``--metric`` asks for (when the loop does not log it already), and the class weights
    (``--class-weight``) as a per-class array (index by the rows' class to weigh them).

    ``y_rows`` are the rows the weights are balanced over; ``description`` holds the positive class.
    """
    from .decision import class_weights

    extras: dict = {"metrics": {}, "class_weights": None}
    if task in ("binary", "multiclass"):
        extras["class_weights"] = class_weights(options.class_weight, classes or [], y_rows)
        name = options.metric
        if name is not None and name not in ("accuracy", "balanced_accuracy", "log_loss"):
            from .scoring import MonitoredScore

            positive = (description.get("positive_class") or {}).get("index")
            extras["metrics"] = {name: MonitoredScore(name, positive)}
    return extras


def weighted(rows_y, class_weights):
    """The rows' weights from their classes, or None for equal weights."""
    return None if class_weights is None else class_weights[rows_y].astype(np.float64)


def monitor_for(options: JobOptions) -> str:
    """What early stopping and ``--grow`` judge by: ``--metric`` on the validation rows, else the monitor."""
    if options.metric is None:
        return options.monitor
    return "val_" + {"subset_accuracy": "accuracy"}.get(options.metric, options.metric)
