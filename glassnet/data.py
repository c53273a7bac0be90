"""Mini-batches: a fresh shuffle of the training set every epoch, from an explicit generator."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .pages import file_rows


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
    """Copies the rows of a batch into reused buffers (``np.take(..., out=)``): no per-step allocation.

    Gathers the inputs, the targets and (when given) the sample weights of the same rows. With
    ``rows``, the training rows are those positions of ``x`` (y and the weights hold one entry per
    position): batch position i is row ``rows[i]`` of x, and x is never copied.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
        *,
        batch_size: int,
        rows: np.ndarray | None = None,
    ) -> None:
        self.x, self.y, self.rows = x, y, rows
        #: A file-mapped x (an out-of-core cache) is read row by row from its file, not its mapping.
        self._file = file_rows(x)
        self._x = np.empty((batch_size,) + x.shape[1:], dtype=x.dtype)
        self._y = np.empty((batch_size,) + y.shape[1:], dtype=y.dtype)
        #: The weights and their batch buffer (None without weights).
        self._weights = None if weights is None else (weights, np.empty(batch_size, dtype=weights.dtype))

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The rows ``indices`` of x, y and the weights (None without weights), in reused buffers."""
        n = len(indices)
        positions = indices if self.rows is None else self.rows[indices]
        if self._file is None:
            x_batch = _take(self.x, positions, self._x, n)
        else:
            x_batch = self._file.take(positions, self._x if n == len(self._x) else self._x[:n])
        y_batch = _take(self.y, indices, self._y, n)
        if self._weights is None:
            return x_batch, y_batch, None
        weights, buffer = self._weights
        return x_batch, y_batch, _take(weights, indices, buffer, n)


def _take(array: np.ndarray, indices: np.ndarray, buffer: np.ndarray, n: int) -> np.ndarray:
    target = buffer if n == len(buffer) else buffer[:n]
    # mode="clip": with the default mode="raise" NumPy buffers `out` (a hidden copy of the whole
    # batch); the indices come from a permutation, so they are valid.
    array.take(indices, axis=0, out=target, mode="clip")  # the method: np.take adds two Python calls
    return target
