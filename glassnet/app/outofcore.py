"""Tables larger than memory: two streaming passes, a sampled preprocessing fit, rows cached on disk.

1. The first pass reads the table chunk by chunk and keeps the targets (as numbers or class
   codes: one value a row) and a **uniform sample** of at most :data:`SAMPLE_ROWS` whole rows:
   every row draws a seeded random key and the rows with the smallest keys are kept (bottom-k
   sampling), in the table's order.
2. The split is made as in memory (the same seeded, stratified test split, then the validation
   split), and the preprocessing (medians and quantiles, category levels, date and heavy-tail
   decisions) is fitted on the sampled rows that are training rows. A table of at most
   SAMPLE_ROWS rows is sampled whole, so it gets the statistics the in-memory path computes; on a
   larger one, a category level absent from the sample is encoded as an unseen level.
3. The second pass transforms each chunk and writes its rows into the float32 cache
   (:mod:`glassnet.app.cache`): training rows, then validation rows, then test rows. The
   training, validation and test arrays are views of the file, in the order the in-memory path
   has them, so the same seed trains the same network on both paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.tables import iter_table
from ..tabular import DataError, TablePreprocessor, infer_task
from .cache import CacheWriter
from .options import OUT_OF_CORE_CELLS, JobOptions
from .prepare import Prepared, column_hints
from .tasks import CLASSIFICATION, labels_to_json

#: The preprocessing statistics are computed on a uniform sample of at most this many rows.
SAMPLE_ROWS = 100_000


def table_cells(path: str, delimiter: str | None = None) -> int:
    """Rows × columns of a CSV or Parquet table, from Parquet's metadata or a CSV's size and first lines."""
    source = Path(path)
    if source.is_dir() or source.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(source, format="parquet")
            return int(dataset.count_rows()) * len(dataset.schema.names)
        except Exception:  # unreadable: the reading reports it, with the file's name
            return 0
    if source.suffix.lower() == ".npz" or not source.is_file():
        return 0
    with open(source, "rb") as handle:
        head = handle.read(1 << 16)
    lines = head.count(b"\n") or 1
    separator = max(b",;\t|", key=head.split(b"\n", 1)[0].count)
    columns = head.split(b"\n", 1)[0].count(bytes([separator])) + 1
    return int(source.stat().st_size / (len(head) / lines)) * columns


def wants_out_of_core(options: JobOptions) -> bool:
    """Whether the run streams its table through a cache: as told, or (auto) by the table's size."""
    if options.out_of_core == "off" or options.frame is not None:
        return False
    source = Path(options.data)
    is_table = source.is_file() or (source.is_dir() and any(source.glob("*.parquet")))
    if options.out_of_core == "on":
        if not is_table or source.suffix.lower() == ".npz":
            raise DataError(f"--out-of-core on needs a CSV or Parquet table; got {options.data}.")
        return True
    return is_table and table_cells(options.data, options.delimiter) > OUT_OF_CORE_CELLS


class _Targets:
    """The target column(s) gathered chunk by chunk: class codes in order of first sight, or numbers."""

    def __init__(self, task: str, names: list[str]) -> None:
        self.task, self.names = task, names
        self.parts: list[np.ndarray] = []
        self.levels: dict = {}

    def add(self, frame) -> np.ndarray:
        """Add a chunk's targets; returns which of its rows have a target (the others are dropped)."""
        import pandas as pd

        values = frame[self.names]
        present = values.notna().all(axis=1).to_numpy()
        values = values[present]
        if self.task == "regression":
            try:
                self.parts.append(values.apply(pd.to_numeric).to_numpy(dtype=np.float64))
            except (ValueError, TypeError):
                raise DataError(f"regression target(s) {self.names} must be numeric.") from None
        elif len(self.names) > 1:
            self.parts.append(values.to_numpy().astype(np.float32))
        else:
            codes, uniques = pd.factorize(values[self.names[0]])
            lookup = np.array([self.levels.setdefault(v, len(self.levels)) for v in uniques.tolist()], np.int64)
            self.parts.append(lookup[codes] if len(codes) else codes.astype(np.int64))
        return present

    def result(self) -> tuple[str, np.ndarray, list | None]:
        """(task, y, classes) as :func:`glassnet.app.prepare` gives them for a table in memory."""
        if self.task == "regression":
            return "regression", np.concatenate(self.parts), None
        if len(self.names) > 1:
            y = np.concatenate(self.parts)
            if not set(np.unique(y)) <= {0.0, 1.0}:
                raise DataError("several classification targets must each be 0/1 (multilabel).")
            return "multilabel", y, list(self.names)
        classes = sorted(self.levels, key=lambda v: (str(type(v)), v))
        if len(classes) < 2:
            raise DataError(f"target {self.names[0]!r} has a single class; classification needs at least two.")
        order = np.empty(len(classes), np.int64)
        order[[self.levels[c] for c in classes]] = np.arange(len(classes))
        return ("binary" if len(classes) == 2 else "multiclass"), order[np.concatenate(self.parts)], classes


def _first_pass(options: JobOptions):
    """(targets, the sampled rows, rows read, columns, rows dropped): one pass over the table."""
    import pandas as pd

    keys_rng = np.random.default_rng(np.random.SeedSequence([options.seed, 0x5A4D]))
    targets, sample, keys, rows, dropped, columns = None, None, np.empty(0), 0, 0, None
    for chunk in iter_table(options.data, options.delimiter, options.encoding):
        chunk.columns = [str(c) for c in chunk.columns]
        if columns is None:
            columns = list(chunk.columns)
            missing = [t for t in options.target if t not in columns] if options.target else None
            if not options.target or missing:
                raise DataError(
                    f"--target {'is required for tables' if not options.target else f'column(s) {missing} not found'}; "
                    f"columns are: {columns[:20]}."
                )
            kinds = {infer_task(chunk[t]) for t in options.target}  # on the first chunk
            task = options.task or ("classification" if kinds == {"classification"} else "regression")
            if task not in ("classification", "regression"):
                raise DataError(f"--task must be classification or regression; got {task!r}.")
            targets = _Targets(task, list(options.target))
        elif list(chunk.columns) != columns:
            raise DataError(f"{options.data}: the columns change at row {rows + 1}: {list(chunk.columns)[:20]}.")
        present = targets.add(chunk)
        dropped += int((~present).sum())
        chunk = chunk[present]
        chunk.index = pd.RangeIndex(rows, rows + len(chunk))  # positions among the rows with a target
        rows += len(chunk)
        combined = chunk if sample is None else pd.concat([sample, chunk])
        keys = np.concatenate([keys, keys_rng.random(len(chunk))])
        if len(combined) > SAMPLE_ROWS:
            chosen = np.sort(np.argpartition(keys, SAMPLE_ROWS)[:SAMPLE_ROWS])
            combined, keys = combined.iloc[chosen], keys[chosen]
        sample = combined
    if rows < 10:
        raise DataError(f"{options.data} has {rows} data rows with a target; at least 10 are needed.")
    return targets, sample, rows, columns, dropped


def _regions(n: int, y: np.ndarray, task: str, options: JobOptions) -> tuple[np.ndarray, list[int]]:
    """Each row's place in the cache (training rows, validation rows, test rows) and the regions' sizes.

    The splits are the in-memory path's: the seeded (stratified) test split, then the validation
    split of the rest, from the same generator in the same order.
    """
    from ..training.targets import split_validation

    rng = np.random.default_rng(options.seed)
    labels = y if task in CLASSIFICATION else None
    rest, test = split_validation(n, options.test_fraction, rng, labels)
    train, val = split_validation(len(rest), options.validation_fraction, rng, None if labels is None else y[rest])
    slot = np.empty(n, np.int64)
    slot[rest[train]] = np.arange(len(train))
    slot[rest[val]] = len(train) + np.arange(len(val))
    slot[test] = len(rest) + np.arange(len(test))
    return slot, [len(train), len(val), len(test)]


def _write_cache(
    options: JobOptions, pre: TablePreprocessor, slot: np.ndarray, sizes: list[int], cache: Path
) -> np.ndarray:
    """The second pass: every chunk's rows transformed and written at their places in the cache."""
    features = len(pre.feature_names)
    edges = np.cumsum([0, *sizes])
    bounds = list(zip(edges[:-1], edges[1:]))
    done = 0
    with CacheWriter(cache, len(slot), features) as writer:
        for chunk in iter_table(options.data, options.delimiter, options.encoding):
            chunk.columns = [str(c) for c in chunk.columns]
            chunk = chunk[chunk[options.target].notna().all(axis=1).to_numpy()]
            x = pre.transform(chunk.drop(columns=options.target))
            places = slot[done : done + len(chunk)]
            done += len(chunk)
            # A region's rows in one chunk are consecutive in the cache: one write per region.
            for low, high in bounds:
                inside = (places >= low) & (places < high)
                if inside.any():
                    writer.write(int(places[inside][0]), x[inside])
        if done != len(slot):
            raise DataError(f"{options.data} changed while it was read: {done} rows, {len(slot)} at first.")
        return writer.finish()


def prepare_out_of_core(options: JobOptions, cache: Path) -> Prepared:
    """Stream the table twice: targets and a sample, then the preprocessed rows into ``cache``."""
    from .prepare import split_description

    if options.test_data:
        raise DataError("--test-data is not supported out of core yet; the test rows are held out of --data.")
    targets, sample, rows, columns, dropped = _first_pass(options)
    task, y, classes = targets.result()
    slot, sizes = _regions(rows, y, task, options)
    training = sample[slot[sample.index.to_numpy()] < sizes[0] + sizes[1]]
    features_frame = training.drop(columns=options.target)
    TablePreprocessor.validate(sample.drop(columns=options.target), options.columns)
    pre = TablePreprocessor.fit(features_frame, kinds=options.columns, **options.table_options)
    cached = _write_cache(options, pre, slot, sizes, cache)
    a, b = sizes[0], sizes[0] + sizes[1]
    arrays = {}
    if task == "regression":  # on the training rows in the table's order, as in memory
        pooled = y[slot < b]
        y_scale = pooled.std(axis=0)
        arrays = {"target_mean": pooled.mean(axis=0), "target_scale": np.where(y_scale > 0, y_scale, 1.0)}
    y = y[np.argsort(slot)]  # the rows in cache order
    sampled = f"a uniform sample of {len(training):,} of the {b:,} training rows" if len(training) < b else "all rows"
    description = {
        "kind": "table",
        "source": str(options.data),
        "rows": int(rows + dropped),
        "columns": len(columns),
        "features": len(pre.feature_names),
        "target": list(options.target),
        "rows_dropped_missing_target": dropped,
        "preprocessing": [
            f"out of core: statistics from {sampled}; the {rows:,} rows preprocessed into {cache} "
            f"({cached.nbytes / 1e6:,.0f} MB, float32), read from disk while training",
            *pre.describe(),
            *column_hints(pre, features_frame, options.columns),
        ],
        "out_of_core": {"cache": str(cache), "cache_bytes": int(cached.nbytes), "sample_rows": int(len(training))},
    }
    description = split_description(description, task, classes, tuple(sizes), options, task in CLASSIFICATION)
    preprocessing = {**pre.to_dict(), "target": list(options.target)}
    return Prepared(
        cached[:a], y[:a], cached[a:b], y[a:b], cached[b:], y[b:], task,
        None if classes is None else labels_to_json(classes), preprocessing, arrays, pre.feature_names,
        pre.source_columns(), description, x_pooled=cached[:b],
    )  # fmt: skip
