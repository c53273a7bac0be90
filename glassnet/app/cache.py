"""The out-of-core training cache: preprocessed rows as a float32 ``.npy`` file on disk.

The file is written once, region by region (training rows, then validation rows, then test
rows, each in the table's order), under a temporary name beside its final one, with its whole
size reserved first: a disk that cannot hold it is an error before any row is written, not a
crash in the middle. It is renamed into place only when complete, and opened read-only as a
memory map, so that the training, validation and test rows are views of it and nothing is
copied into memory. :mod:`glassnet.pages` keeps what reading it makes resident bounded.

Not :func:`glassnet.io.atomic.atomic_writer`: the cache is disposable, so it skips that writer's
fsync of gigabytes; Dask workers open the temporary file by its name, which must be known; and a
killed run's temporary has a fixed name, so the next run to the same output reuses it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from ..tabular import DataError

#: The name a cache gets beside the output folder OUT: ``OUT.glassnet-cache.npy``.
CACHE_SUFFIX = ".glassnet-cache.npy"


def cache_path_for(output: str | os.PathLike) -> Path:
    """Where the cache of a run writing to the folder ``output`` lives: beside it, named after it."""
    out = Path(output)
    return out.with_name(out.name + CACHE_SUFFIX)


class CacheWriter:
    """Writes rows of a ``(rows, features)`` float32 array into a new ``.npy`` file at given row positions.

    Use it as a context manager: on an error inside the block, the partial file is removed.
    """

    def __init__(self, path: str | os.PathLike, rows: int, features: int) -> None:
        self.path = Path(path)
        self.shape = (int(rows), int(features))
        self.nbytes = self.shape[0] * self.shape[1] * 4
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self._file = None

    def __enter__(self) -> CacheWriter:
        free = shutil.disk_usage(self.path.parent).free
        if free < self.nbytes:
            raise DataError(
                f"the out-of-core cache needs {self.nbytes / 1e6:,.0f} MB at {self.path.parent}, which has "
                f"{free / 1e6:,.0f} MB free; free some space or write the output elsewhere (--out)."
            )
        self._file = open(self.partial, "wb")  # our own name: a leftover of a killed run is replaced
        header = {"descr": "<f4", "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_1_0(self._file, header)
        self._file.flush()
        self.offset = self._file.tell()
        try:
            if hasattr(os, "posix_fallocate") and self.nbytes:
                os.posix_fallocate(self._file.fileno(), self.offset, self.nbytes)
            else:
                self._file.truncate(self.offset + self.nbytes)
        except OSError as exc:
            self.__exit__(type(exc), exc, None)
            raise DataError(
                f"could not reserve {self.nbytes / 1e6:,.0f} MB for the out-of-core cache at {self.partial}: "
                f"{exc.strerror or exc}; free some space or write the output elsewhere (--out)."
            ) from None
        return self

    def write_rows(self, x: np.ndarray, places: np.ndarray, bounds) -> None:
        """Rows ``x`` at rows ``places`` of the cache (see :func:`write_regions`)."""
        assert self._file is not None
        try:
            write_regions(self._file.fileno(), self.offset, x, places, bounds)
        except OSError as exc:
            raise DataError(f"could not write the out-of-core cache {self.partial}: {exc.strerror or exc}.") from None

    def __exit__(self, kind, error, trace) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if kind is not None:
            self.partial.unlink(missing_ok=True)

    def finish(self) -> np.ndarray:
        """Close the file, rename it into place and open it read-only as a memory map."""
        self.__exit__(None, None, None)
        os.replace(self.partial, self.path)
        return np.load(self.path, mmap_mode="r")


def write_regions(descriptor: int, offset: int, x: np.ndarray, places: np.ndarray, bounds) -> None:
    """Write rows ``x`` at rows ``places`` of a float32 file whose row 0 starts at byte ``offset``.

    ``bounds`` are the regions' ``(first, end)`` rows (training, validation, test). A region's rows
    of one chunk are consecutive in the cache (both keep the table's order), so each region takes
    one write.
    """
    row_bytes = x.shape[1] * 4
    for low, high in bounds:
        inside = (places >= low) & (places < high)
        if inside.any():
            data = memoryview(np.ascontiguousarray(x[inside], dtype=np.float32)).cast("B")
            position = offset + int(places[inside][0]) * row_bytes
            while len(data):
                written = os.pwrite(descriptor, data, position)
                data, position = data[written:], position + written
