"""Tables larger than memory: two streaming passes, a sampled preprocessing fit, rows cached on disk.

1. The first pass reads the table chunk by chunk and keeps the targets (as numbers or class
   codes: one value a row) and a **uniform sample** of at most :data:`~glassnet.app.firstpass.SAMPLE_ROWS` whole rows:
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

from ..io.tables import EXCEL_SUFFIXES, head_bytes, iter_table, parquet_files
from ..tabular import DataError, TablePreprocessor
from .cache import CacheWriter
from .firstpass import Targets, first_pass
from .options import OUT_OF_CORE_CELLS, JobOptions
from .prepare import Prepared, column_hints, is_idx_name
from .tasks import CLASSIFICATION, labels_to_json


def table_cells(path: str, delimiter: str | None = None) -> int:
    """Rows × columns of a CSV or Parquet table, from Parquet's metadata or a CSV's size and first lines."""
    source = Path(path)
    files = _parquet_files(path)
    if files is not None:
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(files, format="parquet")
            return int(dataset.count_rows()) * len(dataset.schema.names)
        except Exception:  # unreadable: the reading reports it, with the file's name
            return 0
    if source.suffix.lower() in (".npz", *EXCEL_SUFFIXES) or not source.is_file():
        return 0  # read whole: an Excel sheet holds at most 2^20 rows
    head, share = head_bytes(source, 1 << 16)  # decompressed, and the share of the file it came from
    if not head:
        return 0
    lines = head.count(b"\n") or 1
    separator = max(b",;\t|", key=head.split(b"\n", 1)[0].count)
    columns = head.split(b"\n", 1)[0].count(bytes([separator])) + 1
    return int(lines / max(share, 1e-12)) * columns


def _parquet_files(path: str) -> list[str] | None:
    """The files of a Parquet file, folder or glob; None for anything else (or a glob matching nothing)."""
    try:
        return parquet_files(path)
    except DataError:
        return None


def is_parquet(path: str) -> bool:
    """A Parquet file, a folder of them, or a glob pattern of them."""
    return _parquet_files(path) is not None


def wants_out_of_core(options: JobOptions) -> bool:
    """Whether the run streams its table through a cache: as told, or (auto) by the table's size."""
    if options.out_of_core == "off" or options.frame is not None:
        return False
    source = Path(options.data)
    csv_like = source.is_file() and source.suffix.lower() != ".npz" and not is_idx_name(source.name.lower())
    is_table = csv_like or is_parquet(options.data)
    if options.out_of_core == "on":
        if not is_table:
            raise DataError(f"--out-of-core on needs a CSV or Parquet table; got {options.data}.")
        return True
    return is_table and table_cells(options.data, options.delimiter) > OUT_OF_CORE_CELLS


def _regions(n: int, y: np.ndarray, task: str, options: JobOptions) -> tuple[np.ndarray, list[int]]:
    """Each row's place in the cache (training rows, validation rows, test rows) and the regions' sizes.

    The splits are the in-memory path's: the seeded (stratified) test split, then the validation
    split of the rest, from the same generator in the same order.
    """
    from ..training.targets import split_validation

    rng = np.random.default_rng(options.seed)
    labels = y if task in CLASSIFICATION else None
    if options.test_data:  # the test rows come from their own file, after these in the cache
        rest, test = np.arange(n), np.arange(0)
    else:
        rest, test = split_validation(n, options.test_fraction, rng, labels)
    train, val = split_validation(len(rest), options.validation_fraction, rng, None if labels is None else y[rest])
    slot = np.empty(n, np.int64)
    slot[rest[train]] = np.arange(len(train))
    slot[rest[val]] = len(train) + np.arange(len(val))
    slot[test] = len(rest) + np.arange(len(test))
    return slot, [len(train), len(val), len(test)]


def _write_rows(
    options: JobOptions, pre: TablePreprocessor, slot: np.ndarray, bounds, writer: CacheWriter, targets: Targets
) -> None:
    """The second pass: every chunk's rows transformed and written at their places in the cache."""
    done = 0
    for chunk in _target_rows(options.data, options, numeric=pre.numeric, targets=targets):
        writer.write_rows(pre.transform(chunk.drop(columns=options.target)), slot[done : done + len(chunk)], bounds)
        done += len(chunk)
    if done != len(slot):
        raise DataError(f"{options.data} changed while it was read: {done} rows, {len(slot)} at first.")


def _target_rows(
    path: str, options: JobOptions, checked: str | None = None, numeric=(), targets: Targets | None = None
):
    """The table at ``path`` chunk by chunk (string column names), each cut to its rows that have every
    target (as ``targets`` reads them: their words missing where the first pass found them); ``checked``
    names a file whose target columns must be checked (the data's were at first); ``numeric`` the
    columns known to be numbers (every chunk reads their written numbers alike)."""
    for chunk in iter_table(path, **options.reading(path), numeric=numeric):
        chunk.columns = [str(c) for c in chunk.columns]
        absent = [t for t in options.target if t not in chunk.columns] if checked else []
        if absent:
            raise DataError(f"{checked} lacks the target column(s) {absent}.")
        if targets is not None:
            targets.read_words_as_missing(chunk)
        yield chunk[chunk[options.target].notna().all(axis=1).to_numpy()]


def _test_targets(options: JobOptions, targets: Targets, classes: list | None) -> np.ndarray:
    """The ``--test-data`` file's targets, as the training rows' (class indices of their classes)."""
    test = targets.for_test_file()
    for chunk in _target_rows(options.test_data, options, "--test-data", test.words_as_missing, test):
        test.add(test.part(chunk[targets.names]))
    if not sum(map(len, test.parts)):
        raise DataError(f"--test-data {options.test_data} has no rows with a target.")
    if test.levels and classes is not None:  # class codes of the test file: the training's, or an error
        unseen = sorted(str(level) for level in test.levels if level not in classes)[:5]
        if unseen:
            raise DataError(f"--test-data holds classes not seen in training: {unseen}.")
        lookup = np.array([classes.index(level) for level in test.levels], np.int64)
        return lookup[np.concatenate(test.parts)]
    return np.concatenate(test.parts)


def _write_test_rows(
    options: JobOptions, pre: TablePreprocessor, writer: CacheWriter, start: int, targets: Targets
) -> None:
    """The ``--test-data`` rows transformed and written into the cache from row ``start`` on."""
    test = targets.for_test_file()
    numbers = pre.numeric + list(test.words_as_missing)
    for chunk in _target_rows(options.test_data, options, "--test-data", numbers, test):
        if len(chunk):
            places = start + np.arange(len(chunk))
            writer.write_rows(pre.transform(chunk.drop(columns=options.target)), places, [(start, start + len(chunk))])
            start += len(chunk)


def prepare_out_of_core(options: JobOptions, cache: Path, runner=None) -> Prepared:
    """Stream the table twice: targets and a sample, then the preprocessed rows into ``cache``.

    With a ``runner`` (an executor: a Dask cluster) and a Parquet table, both passes run as a task
    per part of the table (:mod:`glassnet.app.partitions`), with the same result.
    """
    from . import partitions
    from .prepare import split_description

    parts = partitions.parquet_parts(options.data) if runner is not None and is_parquet(options.data) else None
    scanned = first_pass(options) if parts is None else partitions.first_pass(options, runner, parts)
    targets, sample, rows, columns, dropped = scanned.finish(options.data)
    task, y, classes = targets.result()
    y_test = _test_targets(options, targets, classes) if options.test_data else None
    slot, sizes = _regions(rows, y, task, options)
    if y_test is not None:
        sizes[2] = len(y_test)
    training = sample[slot[sample.index.to_numpy()] < sizes[0] + sizes[1]]
    features_frame = training.drop(columns=options.target)
    TablePreprocessor.validate(sample.drop(columns=options.target), options.columns)
    pre = TablePreprocessor.fit(features_frame, kinds=options.columns, **options.table_options)
    edges = np.cumsum([0, *sizes])
    bounds = list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    with CacheWriter(cache, int(edges[-1]), len(pre.feature_names)) as writer:
        if parts is None:
            _write_rows(options, pre, slot, bounds, writer, targets)
        else:
            partitions.write_rows(options, pre, slot, bounds, writer, scanned, runner, parts)
        if y_test is not None:
            _write_test_rows(options, pre, writer, len(slot), targets)
        cached = writer.finish()
    a, b, arrays = sizes[0], sizes[0] + sizes[1], {}
    if task == "regression":  # on the training rows in the table's order, as in memory
        pooled = y[slot < b]
        y_scale = pooled.std(axis=0)
        arrays = {"target_mean": pooled.mean(axis=0), "target_scale": np.where(y_scale > 0, y_scale, 1.0)}
    y = y[np.argsort(slot)]  # the rows in cache order
    if y_test is not None:
        y = np.concatenate([y, y_test.astype(y.dtype)])
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
            *scanned.reading_lines(),
            f"out of core: statistics from {sampled}; the {len(cached):,} rows preprocessed into {cache} "
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
