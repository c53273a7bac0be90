"""The training recipe of ``glassnet train``, in one place: the network, its loss, optimizer and callbacks.

The run with validation, the refit and every member of a cross-fit build from these, so the same
options always mean the same network and training.
"""

from __future__ import annotations

from ..exceptions import DataError
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


#: The job's learning rate for Adam and AdamW when none is given: three times their textbook 1e-3,
#: for the wider, dropout-regularized job network that early stopping on each fold guards (other
#: optimizers: their class's default).
JOB_LEARNING_RATES = {"adam": 3e-3, "adamw": 3e-3}


def learning_rate(optimizer: str, lr: float | None = None) -> float:
    """``lr``, or the job's default for ``optimizer``."""
    from ..optim import default_lr

    if lr is not None:
        return lr
    return JOB_LEARNING_RATES.get(optimizer, default_lr(optimizer))


def build_optimizer(network, options: JobOptions):
    from ..optim import make_optimizer

    sgd = options.optimizer == "sgd"
    return make_optimizer(
        options.optimizer,
        network.parameters(),
        lr=learning_rate(options.optimizer, options.lr),
        momentum=options.momentum if sgd else None,
        nesterov=options.momentum > 0 if sgd else None,
        weight_decay=options.weight_decay,
    )


def build_callbacks(options: JobOptions) -> list:
    """Early stopping (on ``options.monitor``) and the learning-rate schedule."""
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
