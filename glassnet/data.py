"""Mini-batches: a fresh shuffle of the training set every epoch, from an explicit generator."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def epoch_order(n_samples: int, rng: np.random.Generator | None, shuffle: bool = True) -> np.ndarray:
    """The order in which one epoch visits the samples: a new permutation each call."""
    if shuffle:
        if rng is None:
            raise ValueError("shuffle=True needs a numpy Generator (rng).")
        return rng.permutation(n_samples)
    return np.arange(n_samples)


def minibatch_indices(
    n_samples: int, batch_size: int, rng: np.random.Generator | None, shuffle: bool = True
) -> Iterator[np.ndarray]:
    """Yield index arrays covering every sample once (the last batch may be shorter).

    Examples
    --------
    >>> import numpy as np
    >>> [len(b) for b in minibatch_indices(10, 4, np.random.default_rng(0))]
    [4, 4, 2]
    """
    order = epoch_order(n_samples, rng, shuffle)
    for start in range(0, n_samples, batch_size):
        yield order[start : start + batch_size]


class BatchGatherer:
    """Copies the rows of a batch into reused buffers (``np.take(..., out=)``): no per-step allocation."""

    def __init__(self, *arrays: np.ndarray | None, batch_size: int) -> None:
        self.arrays = arrays
        self.buffers = [None if a is None else np.empty((batch_size,) + a.shape[1:], dtype=a.dtype) for a in arrays]

    def gather(self, indices: np.ndarray) -> list[np.ndarray | None]:
        n = len(indices)
        out = []
        for array, buffer in zip(self.arrays, self.buffers):
            if array is None:
                out.append(None)
            else:
                target = buffer if n == len(buffer) else buffer[:n]
                # mode="clip": with the default mode="raise" NumPy buffers `out` (a hidden copy
                # of the whole batch); the indices come from a permutation, so they are valid.
                np.take(array, indices, axis=0, out=target, mode="clip")
                out.append(target)
        return out
