"""File-mapped arrays: their resident pages kept bounded while they are read.

An out-of-core training cache is a float32 ``.npy`` file opened with ``np.load(mmap_mode="r")``.
Reading it maps its pages into the process, and the operating system counts every mapped page
that was read in the resident set until the mapping is closed, so a pass over a 5 GB cache
would show a 5 GB resident set.

- Passes in row order (validation, prediction, the finite check) read through the mapping, and
  :class:`PageBudget` counts the bytes read and, past a budget, tells the kernel the process no
  longer needs the pages (``madvise(MADV_DONTNEED)``). The pages stay in the page cache: reading
  them again is a minor fault, not a disk read.
- Rows read at random (the mini-batches) are read with ``pread`` by :class:`FileRows`, not
  through the mapping: a kernel that caches files in large folios maps a whole folio (up to
  2 MB) for each row touched, so 256 random rows of a mapping made 370 MB resident (Linux 6.18).

For an array in memory every function here does nothing, or returns None.
"""

from __future__ import annotations

import mmap
import os
import weakref
from collections.abc import Iterator
from typing import Any, cast

import numpy as np

#: Bytes read through a file-mapped array after which its pages are released.
RESIDENT_BYTES = 128 * 2**20


def mapping_of(array: np.ndarray) -> mmap.mmap | None:
    """The ``mmap`` an array (or a view of one) reads from, or None for an array in memory."""
    base: Any = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        base = getattr(base, "base", None)
    return None


def release(array: np.ndarray) -> None:
    """Drop the resident pages of the file mapping behind ``array`` (nothing for an array in memory)."""
    mapping = mapping_of(array)
    if mapping is not None and hasattr(mapping, "madvise") and not mapping.closed:
        mapping.madvise(mmap.MADV_DONTNEED)


class PageBudget:
    """Counts bytes read through ``array`` and releases its pages each time they pass ``budget``."""

    def __init__(self, array: np.ndarray, budget: int = RESIDENT_BYTES) -> None:
        self.array = array
        self.mapped = mapping_of(array) is not None
        self.budget = budget
        self.row_bytes = int(array.strides[0]) if array.ndim else 0
        self._read = 0

    def read_rows(self, n: int) -> None:
        """Count ``n`` rows read in order."""
        if not self.mapped:
            return
        self._read += n * self.row_bytes
        if self._read >= self.budget:
            release(self.array)
            self._read = 0


def row_blocks(array: np.ndarray, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, array[start:start + rows])`` over the array, its pages released as the budget asks."""
    budget = PageBudget(array)
    for start in range(0, len(array), rows):
        block = array[start : start + rows]
        yield start, block
        budget.read_rows(len(block))


def _root_map(array: np.ndarray) -> np.memmap | None:
    """The ``np.memmap`` that maps the file directly (the last one before the ``mmap`` in the bases)."""
    root, base = None, cast(Any, array)
    while base is not None and not isinstance(base, mmap.mmap):
        if isinstance(base, np.memmap):
            root = base
        base = getattr(base, "base", None)
    return root if isinstance(base, mmap.mmap) else None


class FileRows:
    """Rows of a C-contiguous file-mapped 2-D array, read with ``pread`` into a caller's buffer."""

    def __init__(self, array: np.ndarray, root: np.memmap) -> None:
        self.row_bytes = int(array.strides[0])
        #: Where ``array[0]`` starts in the file: the root's offset plus the view's distance from it.
        self.offset = int(root.offset) + (array.ctypes.data - root.ctypes.data)
        self._fd = os.open(str(root.filename), os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def take(self, indices: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out[i] = array[indices[i]]`` for each i; returns ``out``."""
        rows = memoryview(cast(Any, out)).cast("B")
        size, fd, start = self.row_bytes, self._fd, self.offset
        for i, index in enumerate(indices.tolist()):
            if os.preadv(fd, [rows[i * size : (i + 1) * size]], start + index * size) != size:
                raise OSError(f"the cache file ended before row {index}: was it truncated?")
        return out


def file_rows(array: np.ndarray) -> FileRows | None:
    """A :class:`FileRows` for a C-contiguous 2-D file-mapped array, None for anything else."""
    root = _root_map(array)
    if root is None or array.ndim != 2 or not array.flags.c_contiguous or root.filename is None:
        return None
    return FileRows(array, root)


def take_rows(array: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``array[indices]`` as a new array; a file-mapped array's rows are read from its file."""
    rows = file_rows(array)
    if rows is None:
        return np.ascontiguousarray(array[indices])
    return rows.take(np.asarray(indices), np.empty((len(indices),) + array.shape[1:], dtype=array.dtype))
