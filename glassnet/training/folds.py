"""Cross-fitting's arithmetic: rows dealt into seeded (stratified) folds, and each member's seed."""

from __future__ import annotations

import numpy as np


def fold_assignment(n: int, k: int, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """Fold indices 0..k−1 for ``n`` rows, seeded; with ``labels``, each class is dealt evenly.

    >>> fold_assignment(6, 3, seed=0).tolist().count(0)
    2
    """
    if not 2 <= k <= n:
        raise ValueError(f"folds must be between 2 and the number of rows ({n}); got {k}.")
    order = np.random.default_rng(seed).permutation(n)
    if labels is not None:
        order = order[np.argsort(np.asarray(labels)[order], kind="stable")]
    folds = np.empty(n, dtype=np.int64)
    folds[order] = np.arange(n) % k
    return folds


def member_seed(seed: int, member: int) -> int:
    """Member ``member``'s seed, derived from the run's seed (independent streams, reproducible)."""
    return int(np.random.SeedSequence([seed, member]).generate_state(1)[0])
