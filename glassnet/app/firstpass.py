"""The first pass over a table larger than memory: its targets, and a seeded uniform sample of its rows.

Each chunk's share (:func:`scan`) is a pure function, so it runs here or as a task on a Dask worker
(:mod:`glassnet.app.partitions`); :class:`Scanned` gathers the chunks' shares in the table's order.
Every row draws a seeded random key from its row number (:func:`row_keys`), and the rows with the
smallest keys are kept (bottom-k sampling): the sample does not depend on how the table is cut.
"""

from __future__ import annotations

import numpy as np

from ..io.tables import iter_table
from ..tabular import DataError
from .options import JobOptions
from .prepare import check_target_columns, class_order, table_task, target_words_as_missing

#: The preprocessing statistics are computed on a uniform sample of at most this many rows.
SAMPLE_ROWS = 100_000


class Targets:
    """The target column(s) gathered chunk by chunk: class codes in order of first sight, or numbers."""

    def __init__(self, task: str, names: list[str]) -> None:
        self.task, self.names = task, names
        self.parts: list[np.ndarray] = []
        self.levels: dict = {}
        #: A regression's target columns whose words are missing targets (prepare.target_words_as_missing),
        #: decided on the first chunk, with the line that says so.
        self.words_as_missing: dict[str, str] = {}

    def for_test_file(self) -> Targets:
        """The targets as a ``--test-data`` file is read: a regression's words are missing targets in every
        target column, as ``evaluate`` reads them (the training file's, where its first chunk said so)."""
        test = Targets(self.task, self.names)
        regression = self.task == "regression"
        test.words_as_missing = {name: "" for name in self.names} if regression else dict(self.words_as_missing)
        return test

    def read_words_as_missing(self, chunk) -> None:
        """A chunk's target words read as missing in the columns :attr:`words_as_missing` names."""
        import pandas as pd

        for name in self.words_as_missing:
            chunk[name] = pd.to_numeric(chunk[name], errors="coerce")

    def part(self, values) -> tuple:
        """A chunk's targets (rows that have one), as numbers or as (codes, levels) of the chunk alone."""
        import pandas as pd

        if self.task == "regression":
            try:
                return (values.apply(pd.to_numeric).to_numpy(dtype=np.float64),)
            except (ValueError, TypeError):
                raise DataError(f"regression target(s) {self.names} must be numeric.") from None
        if len(self.names) > 1:
            return (values.to_numpy().astype(np.float32),)
        codes, uniques = pd.factorize(values[self.names[0]])
        return codes.astype(np.int64), uniques.tolist()

    def add(self, part: tuple) -> None:
        """Append a chunk's :meth:`part` (in the table's order): its codes become codes of all levels seen."""
        if len(part) == 1:
            self.parts.append(part[0])
            return
        codes, uniques = part
        lookup = np.array([self.levels.setdefault(v, len(self.levels)) for v in uniques], np.int64)
        self.parts.append(lookup[codes] if len(codes) else codes)

    def result(self) -> tuple[str, np.ndarray, list | None]:
        """(task, y, classes) as :func:`glassnet.app.prepare` gives them for a table in memory."""
        if self.task == "regression":
            return "regression", np.concatenate(self.parts), None
        if len(self.names) > 1:
            y = np.concatenate(self.parts)
            if not set(np.unique(y)) <= {0.0, 1.0}:
                raise DataError("several classification targets must each be 0/1 (multilabel).")
            return "multilabel", y, list(self.names)
        classes = class_order(list(self.levels))
        if len(classes) < 2:
            raise DataError(f"target {self.names[0]!r} has a single class; classification needs at least two.")
        order = np.empty(len(classes), np.int64)
        order[[self.levels[c] for c in classes]] = np.arange(len(classes))
        return ("binary" if len(classes) == 2 else "multiclass"), order[np.concatenate(self.parts)], classes


def row_keys(seed: int, start: int, n: int) -> np.ndarray:
    """The sampling keys of rows ``start, ..., start + n - 1``: a hash (SplitMix64) of the seed and the
    row's number, so that a row's key does not depend on how the table is cut into chunks."""
    mix = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]
    z = np.arange(start, start + n, dtype=np.uint64) + mix
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """The positions of the ``k`` smallest keys, in increasing position (the rows' order)."""
    return np.sort(np.argpartition(keys, k)[:k])


def scan(chunk, start: int, targets: Targets, seed: int, sample_rows: int, below: int | None = None) -> tuple:
    """One chunk's share of the first pass (a pure function: it runs here or on a Dask worker).

    Returns which rows have a target, their :meth:`Targets.part`, and the chunk's sample candidates
    (the rows with the smallest keys, and only keys under ``below`` when given, indexed by their
    row numbers in the table) with their keys.
    """
    import pandas as pd

    chunk.columns = [str(c) for c in chunk.columns]
    targets.read_words_as_missing(chunk)
    present = chunk[targets.names].notna().all(axis=1).to_numpy()
    rows = chunk[present]
    rows.index = pd.Index(np.flatnonzero(present) + start)
    keys = row_keys(seed, start, len(chunk))[present]
    if below is not None:
        rows, keys = rows[keys < below], keys[keys < below]
    if len(rows) > sample_rows:
        chosen = smallest(keys, sample_rows)
        rows, keys = rows.iloc[chosen], keys[chosen]
    return present, targets.part(chunk.loc[present, targets.names]), rows, keys


class Scanned:
    """The first pass's result, gathered from the chunks' :func:`scan` in the table's order."""

    def __init__(self, targets: Targets, columns: list[str], sample_rows: int) -> None:
        self.targets, self.columns, self.sample_rows = targets, columns, sample_rows
        self.present: list[np.ndarray] = []
        self.sample, self.keys = None, np.empty(0, np.uint64)
        self.numbers_read: dict[str, list] = {}  # column → [cells, forms] of written numbers read as numbers
        self.delimiter = ","  # the CSV's, as its chunks were read

    def note_numbers(self, attrs: dict) -> None:
        """Add a chunk's written numbers read as numbers (``attrs`` set by io/tables.local_numbers)."""
        self.delimiter = attrs.get("delimiter", self.delimiter)
        for column, (count, forms) in attrs.get("numbers_read", {}).items():
            seen = self.numbers_read.setdefault(column, [0, []])
            seen[0] += count
            seen[1] += [form for form in forms if form not in seen[1]]

    def numbers_in_sample(self):
        """The sample with the written numbers of every column that any chunk read as numbers read so in
        all its rows: a chunk decides by its own cells (at least 80 % of them numbers), the table by all."""
        from ..io.tables import local_numbers

        if self.numbers_read and self.sample is not None:
            self.sample = local_numbers(self.sample, self.delimiter, numeric=list(self.numbers_read))
        return self.sample

    def reading_lines(self) -> list[str]:
        """The reading notes of the whole table, as a table read in memory says them, and the target's."""
        from ..io.tables import numbers_note

        read = [numbers_note(column, count, forms) for column, (count, forms) in self.numbers_read.items()]
        return read + list(self.targets.words_as_missing.values())

    def add(self, scanned: tuple) -> None:
        import pandas as pd

        present, part, rows, keys = scanned
        self.present.append(present)
        self.targets.add(part)
        combined = rows if self.sample is None else pd.concat([self.sample, rows])
        keys = np.concatenate([self.keys, keys])
        if len(combined) > self.sample_rows:  # the smallest keys of all, still in the table's order
            chosen = smallest(keys, self.sample_rows)
            combined, keys = combined.iloc[chosen], keys[chosen]
        self.sample, self.keys = combined, keys

    def finish(self, source: str):
        """(targets, sample indexed by position among the rows with a target, rows, columns, dropped)."""
        present = np.concatenate(self.present) if self.present else np.zeros(0, bool)
        rows = int(present.sum())
        if rows < 10:
            raise DataError(f"{source} has {rows} data rows with a target; at least 10 are needed.")
        sample = self.numbers_in_sample()
        sample.index = (np.cumsum(present) - 1)[sample.index.to_numpy()]
        return self.targets, sample, rows, self.columns, int(len(present) - rows)


def first_look(options: JobOptions, chunk) -> Targets:
    """The task and the target column(s), checked on the table's first chunk."""
    chunk.columns = [str(c) for c in chunk.columns]
    check_target_columns(list(chunk.columns), options)
    said = {name: target_words_as_missing(chunk, name, options) for name in options.target}
    targets = Targets(table_task(chunk, options), list(options.target))  # the task inferred on the first chunk
    targets.words_as_missing = {name: f"{line}; counted in the first chunk" for name, line in said.items() if line}
    return targets


def first_pass(options: JobOptions) -> Scanned:
    """The first pass over the whole table, chunk by chunk, here (``Scanned.finish`` gives its result)."""
    scanned, start = None, 0
    for chunk in iter_table(options.data, **options.reading(options.data), numeric=options.declared_numeric):
        if scanned is None:
            scanned = Scanned(first_look(options, chunk), list(chunk.columns), SAMPLE_ROWS)
        elif [str(c) for c in chunk.columns] != scanned.columns:
            raise DataError(f"{options.data}: the columns change at row {start + 1}: {list(chunk.columns)[:20]}.")
        scanned.add(scan(chunk, start, scanned.targets, options.seed, SAMPLE_ROWS))
        scanned.note_numbers(chunk.attrs)
        start += len(chunk)
    if scanned is None:
        raise DataError(f"{options.data} has no rows.")
    return scanned
