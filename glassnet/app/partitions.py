"""The out-of-core passes over a Parquet table as independent tasks: here, or on a Dask cluster.

The table's files are cut into *parts* of whole row groups (about ``CHUNK_ROWS`` rows each), each
with the number of its first row, from the files' metadata alone. A task gets a part **by path**
(the file's name and its row groups, never the rows), reads it, and either scans it (the first
pass: targets and sample candidates) or transforms it and writes its rows into the cache file,
which every worker opens by its name. Tasks run on any executor (:mod:`glassnet.training.executors`);
on a Dask cluster the paths must name a filesystem every worker sees. A row's sampling key and
its place in the cache depend on its number in the table only, so the result is the same as the
sequential passes', byte for byte, whatever ran the tasks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..io.tables import CHUNK_ROWS, PARQUET_BUFFER
from .cache import write_regions


@dataclass(frozen=True)
class Part:
    """Row groups ``groups`` of the Parquet file ``file``, whose first row is row ``start`` of the table."""

    file: str
    groups: tuple[int, ...]
    start: int
    rows: int

    def read(self):
        """The part's rows as a DataFrame (read by path, here or on a worker)."""
        import pyarrow.parquet as pq

        from ..tabular import DataError

        try:
            reader = pq.ParquetFile(self.file, pre_buffer=False, buffer_size=PARQUET_BUFFER)
            return reader.read_row_groups(list(self.groups)).to_pandas()
        except Exception as exc:
            raise DataError(f"cannot read {self.file}: {exc}".splitlines()[0]) from None


def parquet_parts(path: str | os.PathLike, rows: int = CHUNK_ROWS) -> list[Part]:
    """The parts of a Parquet file or folder, in the order the sequential reading visits its rows."""
    import pyarrow.parquet as pq

    from ..io.tables import iter_table, parquet_files

    next(iter(iter_table(path, chunk_rows=1)), None)  # the folder's files checked as one table first
    parts, start = [], 0
    for file in parquet_files(path) or []:
        metadata = pq.ParquetFile(file).metadata
        groups: list[int] = []
        count = 0
        for group in range(metadata.num_row_groups):
            groups.append(group)
            count += metadata.row_group(group).num_rows
            if count >= rows or group == metadata.num_row_groups - 1:
                parts.append(Part(str(file), tuple(groups), start, count))
                start, groups, count = start + count, [], 0
    return parts


def scan_part(part: Part, shared: dict) -> tuple:
    """The first pass on one part (see :func:`glassnet.app.firstpass.scan`)."""
    from .firstpass import scan

    return scan(part.read(), part.start, shared["targets"], shared["seed"], shared["sample_rows"], shared["below"])


def write_part(job: tuple[Part, np.ndarray, np.ndarray], shared: dict) -> int:
    """The second pass on one part: its rows with a target transformed and written at ``places``."""
    part, present, places = job
    chunk = part.read()
    chunk.columns = [str(c) for c in chunk.columns]
    x = shared["pre"].transform(chunk[present].drop(columns=shared["target"]))
    descriptor = os.open(shared["file"], os.O_WRONLY)
    try:
        write_regions(descriptor, shared["offset"], x, places, shared["bounds"])
    finally:
        os.close(descriptor)
    return len(places)


def below(total: int, sample_rows: int) -> int | None:
    """A key bound that at least ``sample_rows`` of ``total`` rows pass but few more (None: keep all).

    The number of keys under it is binomial with mean ``sample_rows + 6·√sample_rows + 100``: fewer
    than ``sample_rows`` has a probability below 10⁻⁹, and :func:`first_pass` then scans again
    without the bound, so the sample is always the sequential pass's.
    """
    wanted = sample_rows + 6 * sample_rows**0.5 + 100
    return None if wanted >= total else int(wanted / total * 2.0**64)


def first_pass(options, runner, parts: list[Part]):
    """The first pass, a task per part on ``runner``; the :class:`~glassnet.app.firstpass.Scanned` result."""
    from ..io.tables import iter_table
    from .firstpass import SAMPLE_ROWS, Scanned, Targets, first_look

    first = next(iter(iter_table(options.data)))  # the chunk the sequential pass decides the task on
    targets = first_look(options, first)
    total = sum(part.rows for part in parts)
    for bound in (below(total, SAMPLE_ROWS), None):
        shared = {"targets": targets, "seed": options.seed, "sample_rows": SAMPLE_ROWS, "below": bound}
        scanned = Scanned(Targets(targets.task, targets.names), list(first.columns), SAMPLE_ROWS)
        scanned.targets.words_as_missing = targets.words_as_missing
        for result in runner.map(scan_part, parts, shared):
            scanned.add(result)
        kept = 0 if scanned.sample is None else len(scanned.sample)
        if bound is None or kept >= min(SAMPLE_ROWS, int(sum(map(np.sum, scanned.present)))):
            return scanned
    raise AssertionError("unreachable")


def write_rows(options, pre, slot: np.ndarray, bounds, writer, scanned, runner, parts: list[Part]) -> None:
    """The second pass, a task per part on ``runner``, each writing its rows into the cache by its name."""
    present = np.concatenate(scanned.present)
    kept = np.concatenate([[0], np.cumsum(present)])
    jobs = [
        (part, present[part.start : part.start + part.rows], slot[kept[part.start] : kept[part.start + part.rows]])
        for part in parts
    ]
    shared = {"pre": pre, "target": list(options.target), "file": str(writer.partial), "offset": writer.offset,
              "bounds": bounds}  # fmt: skip
    runner.map(write_part, jobs, shared)
