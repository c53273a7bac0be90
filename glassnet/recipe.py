"""The tabular recipe's defaults, owned here: ``glassnet train`` and the estimators both read them.

What each contributes was measured on the 12 tables of ``docs/tabular.md`` (its ablations) and on
scikit-learn's bundled sets (``docs/estimators.md``); change a value here and both users of it move.
"""

from __future__ import annotations

#: Hidden layer widths: 256 then 128 units.
HIDDEN: tuple[int, ...] = (256, 128)
#: The weights' initialization: Glorot's uniform, U(±√(6 / (fan_in + fan_out))), smaller than the He
#: initialization ReLU layers get by default (``glassnet.init``). With two hidden layers the variance
#: He preserves matters little, and starting smaller regularizes: on the 12 tables +0.001 on average
#: (hpc_jobs +0.016, chile_vote +0.016, pima −0.026: one seed), and on scikit-learn's diabetes R²
#: 0.365 → 0.416, iris 0.953 → 0.958, wine 0.996 → 1.000 (five splits; docs/estimators.md).
INIT: str | None = "glorot_uniform"
#: Dropout after each hidden activation.
DROPOUT = 0.1
#: Rows per mini-batch (fewer when the data has fewer rows).
BATCH_SIZE = 64
#: Epochs without improvement of the validation loss before training stops (the best epoch's
#: weights are kept), and at least this many optimizer steps: a small table makes few steps an
#: epoch (150 rows at batch 64: 2), and ten of its epochs are too few for a noisy validation loss.
PATIENCE = 10
PATIENCE_STEPS = 100
#: What counts as an improvement for the patience: the validation loss must fall by 0.1 % of its value
#: below the epoch that last reset it (``EarlyStopping(min_relative_improvement=...)``). Smaller gains
#: still make the best epoch, whose weights are kept, but do not keep training going: on a 46,400-row
#: table members ran 40–100 epochs while the loss improved by hundredths of a percent.
MIN_RELATIVE_IMPROVEMENT = 1e-3
#: Networks averaged. With early stopping they are cross-fitted: the rows are dealt into this many
#: folds, and network k trains on the others and stops early on fold k.
FOLDS = 5
#: The L2 penalty on the weights, as a prior: each network minimizes its mean loss plus
#: ½ · L2_PRIOR · ‖W‖² / n over its n training rows (a Gaussian prior on the weights), so the penalty's
#: gradient is (L2_PRIOR / n) · W. It holds a network on a few hundred rows close to small weights and
#: fades as rows grow, where a fixed coefficient either does nothing on small tables or holds back
#: large ones (0.0156 on every table: hpc_jobs −0.077, txhousing −0.025). Measured against no L2: on
#: the 12 tables of docs/tabular.md +0.0005 on average (penguins +0.010, pima +0.004, nmes1988
#: −0.004; three seeds), and by benchmarks/estimators.py on scikit-learn's bundled sets (20 splits, one
#: fit each): iris 0.946 → 0.961, digits 0.980 → 0.981, breast cancer, wine and diabetes unchanged.
#: The value 2 was chosen between the two tried, 2 and 8, on those same sets.
L2_PRIOR = 2.0
#: The learning rate for Adam and AdamW when none is given: three times their textbook 1e-3, for
#: the wider, dropout-regularized network that early stopping on each fold guards. Other
#: optimizers: their class's own default (``glassnet.optim.default_lr``).
LEARNING_RATES: dict[str, float] = {"adam": 3e-3, "adamw": 3e-3}


def patience(epochs: int, rows: int, batch_size: int) -> int:
    """Early stopping's patience in epochs: ``epochs``, raised so that it spans at least
    :data:`PATIENCE_STEPS` optimizer steps on ``rows`` training rows.

    >>> patience(10, rows=120, batch_size=64), patience(10, rows=50_000, batch_size=64)
    (50, 10)
    """
    steps_per_epoch = max(1, -(-rows // max(1, batch_size)))
    return max(int(epochs), -(-PATIENCE_STEPS // steps_per_epoch))


def weight_decay(rows: int, prior: float = L2_PRIOR) -> float:
    """The L2 coefficient of a network trained on ``rows`` rows: ``prior / rows`` (see :data:`L2_PRIOR`).

    >>> weight_decay(200), weight_decay(50_000)
    (0.01, 4e-05)
    """
    return float(prior) / max(int(rows), 1)


def learning_rate(optimizer: str, lr: float | None = None) -> float:
    """``lr``, or the recipe's rate for ``optimizer`` when ``lr`` is None.

    >>> learning_rate("adam"), learning_rate("sgd"), learning_rate("adam", 0.1)
    (0.003, 0.01, 0.1)
    """
    from .optim import default_lr

    if lr is not None:
        return float(lr)
    return LEARNING_RATES.get(optimizer, default_lr(optimizer))
