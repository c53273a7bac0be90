"""Data in: load a table or images, check them, split train/validation/test and preprocess.

The split is seeded and stratified for classification; the preprocessing is fitted on the training
rows only. The result is a :class:`Prepared` that the run trains on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..io.tables import is_parquet_folder
from ..tabular import DataError, TablePreprocessor, infer_task, read_table
from .options import JobOptions, cross_fitting
from .tasks import CLASSIFICATION, labels_to_json


@dataclass
class Prepared:
    """Data after splitting and preprocessing."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str  # multiclass, binary, multilabel, regression
    classes: list | None
    preprocessing: dict
    preprocessing_arrays: dict
    feature_names: list[str]
    source_columns: list[str]
    description: dict
    #: The training and validation rows as one array, when that needs no copy: the array both are views of in
    #: memory, the cache out of core.
    x_pooled: np.ndarray | None = None

    def without_rows(self) -> Prepared:
        """The same account (task, classes, preprocessing, description) with empty row arrays: what
        writing the files needs, once the rows have been used, so that the matrix can be freed."""
        arrays = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "x_pooled")
        return replace(self, **{name: _no_rows(getattr(self, name)) for name in arrays})


def _no_rows(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else np.empty((0, *array.shape[1:]), dtype=array.dtype)


def _split(n: int, fraction: float, rng: np.random.Generator, labels: np.ndarray | None, flag: str):
    """``split_validation`` in the command line's words: an impossible split names ``flag`` and the cause."""
    from ..training.targets import split_validation

    try:
        return split_validation(n, fraction, rng, labels)
    except ValueError:
        if labels is None:
            raise DataError(
                f"{flag} {fraction:g} leaves no row on one side of {n} rows; pass another fraction."
            ) from None
        counts = np.unique(labels, return_counts=True)[1]
        raise DataError(
            f"{flag} {fraction:g} sets no row aside: the {n} rows hold {len(counts)} classes, "
            f"{int(np.sum(counts == 1))} of them with a single row (a class needs two rows to have one on each "
            "side). Merge rare classes, bring more rows, or pass a larger fraction."
        ) from None


def load_frame_or_images(path: str, options: JobOptions):
    """("table", DataFrame) or ("images", (x, labels, info))."""
    if options.frame is not None and path == options.data:
        return "table", options.frame.copy()
    source = Path(path)
    if source.is_dir() and not is_parquet_folder(source):  # a folder of Parquet files is one table
        from ..images import load_image_folder

        return "images", load_image_folder(source, options.image_size, options.image_mode, skip_unreadable=True)
    name = source.name.lower()
    if is_idx_name(name):
        from ..datasets import DatasetError, load_mnist_idx

        if options.labels is None:
            raise DataError("idx image files need their labels: pass --labels LABELS_FILE.")
        try:
            data = load_mnist_idx(source, options.labels)
        except DatasetError as exc:
            raise DataError(str(exc)) from None
        labels = data.y.astype(str).astype(object)
        return "images", (
            data.x,
            labels,
            {"image_shape": list(data.image_shape), "mode": "L", "classes": sorted(set(labels)), "files": 1},
        )
    return "table", read_table(source, **options.reading(path), numeric=options.declared_numeric)


def prepare(options: JobOptions) -> Prepared:
    """Load, check, split (train/validation/test, stratified for classification) and preprocess."""
    kind, loaded = load_frame_or_images(options.data, options)
    rng = np.random.default_rng(options.seed)
    if kind == "images":
        return _prepare_images(loaded, options, rng)
    prepared = _prepare_table(loaded, options, rng)
    del loaded
    release_unused_memory()  # the table's columns are gone: give their memory back before training
    return prepared


def release_unused_memory() -> None:
    """Return freed memory to the operating system: Arrow's pool (the table was read into it) and the C
    heap (glibc's ``malloc_trim``; elsewhere nothing). On a 1,000,000-row table the process kept about
    330 MB it no longer used, which training's own arrays then came on top of."""
    import ctypes
    import sys

    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _prepare_images(loaded, options: JobOptions, rng: np.random.Generator) -> Prepared:
    x, labels, info = loaded
    classes = sorted(set(labels.tolist()))
    if len(classes) < 2:
        raise DataError(f"the images hold a single class ({classes[0]!r}); classification needs at least two.")
    y = np.searchsorted(np.array(classes, dtype=object), labels).astype(np.int64)
    features = [f"pixel_{i}" for i in range(x.shape[1])]
    preprocessing = {
        "kind": "image",
        "image_shape": info["image_shape"],
        "mode": info["mode"],
        "size": options.image_size and list(options.image_size),
    }
    resized = f", resized to {options.image_size[0]}x{options.image_size[1]}" if options.image_size else ""
    description = {
        "kind": "image folder",
        "source": str(options.data),
        "rows": int(len(x)),
        "features": int(x.shape[1]),
        "image_shape": info["image_shape"],
        "mode": info["mode"],
        "preprocessing": ["pixels scaled to [0, 1]" + resized, *_left_out_files(info)],
    }
    x_test = y_test = None
    if options.test_data:
        test_kind, test_loaded = load_frame_or_images(options.test_data, options)
        if test_kind != "images":
            raise DataError("--test-data must be images like the training data.")
        x_test, test_labels, _ = test_loaded
        unknown = sorted(set(test_labels.tolist()) - set(classes))
        if unknown:
            raise DataError(f"--test-data holds classes not in the training data: {unknown[:5]}.")
        y_test = np.searchsorted(np.array(classes, dtype=object), test_labels).astype(np.int64)
    return _finish_split(
        x, y, x_test, y_test, "multiclass", classes, preprocessing, {}, features, features, description, options, rng,
        kind="images",
    )  # fmt: skip


def _left_out_files(info: dict) -> list[str]:
    """What the data lines say of the files in the class folders that were not read."""
    from ..images import NAMED_FILES

    lines = []
    unreadable = info.get("unreadable") or {}
    if unreadable:
        named = "; ".join(f"{path} ({why})" for path, why in list(unreadable.items())[:NAMED_FILES])
        more = f" and {len(unreadable) - NAMED_FILES} more" if len(unreadable) > NAMED_FILES else ""
        lines.append(f"left out {len(unreadable)} image file(s) that cannot be read: {named}{more}")
    if info.get("other_files"):
        lines.append(f"ignored {info['other_files']} file(s) in the class folders that are not images (by suffix)")
    return lines


def _checked_frame(frame, options: JobOptions):
    """The table with string column names and without rows whose target is missing; the count dropped."""
    if frame.empty or len(frame) < 10:
        raise DataError(f"{options.data} has {len(frame)} data rows; at least 10 are needed.")
    frame.columns = [str(c) for c in frame.columns]
    check_target_columns(list(frame.columns), options)
    for name in options.target:
        target_words_as_missing(frame, name, options)
    dropped_rows = int(frame[options.target].isna().any(axis=1).sum())
    if dropped_rows:
        frame = frame[frame[options.target].notna().all(axis=1)].reset_index(drop=True)
    return frame, dropped_rows


def target_words_as_missing(frame, name: str, options: JobOptions) -> str | None:
    """A target column of real numbers but for a few cells (``unknown``, ``?``) is a regression's target,
    those cells missing (their rows left out, as blank targets are, and said); it was a classification's
    with as many classes as rows. The column is changed in ``frame``; the line that says so is returned
    (and joins the frame's reading notes), None when the column is not such a one."""
    import pandas as pd

    from ..columns import NUMERIC_FRACTION

    values = frame[name]
    if options.task == "classification" or pd.api.types.is_numeric_dtype(values) or values.isna().all():
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    if numbers[present].notna().mean() < NUMERIC_FRACTION or infer_task(numbers.dropna()) != "regression":
        return None
    words = values[present & numbers.isna()]
    frame[name] = numbers
    examples = ", ".join(repr(str(v)) for v in words.drop_duplicates().head(3))
    line = (
        f"target {name!r} is numbers but for {len(words)} cell(s) ({examples}): read as missing, their rows "
        "left out as blank targets are (--task classification reads every value as a class)"
    )
    frame.attrs.setdefault("reading", []).append(line)
    return line


def is_idx_name(name: str) -> bool:
    """Whether a file's (lower-case) name is an idx image file's: read as images, never as a table."""
    return "idx" in name or name.endswith(("ubyte", "ubyte.gz"))


def _say_case_variants(name: str, classes: list) -> None:
    """Warn when classes differ only in case (``YES``, ``Yes``, ``yes``): they stay apart, as written."""
    import warnings

    groups: dict[str, list] = {}
    for value in classes:
        if isinstance(value, str):
            groups.setdefault(value.casefold(), []).append(value)
    alike = [variants for variants in groups.values() if len(variants) > 1]
    if alike:
        listed = "; ".join(", ".join(repr(v) for v in variants) for variants in alike)
        warnings.warn(
            f"target {name!r} has classes that differ only in case, kept apart as written: {listed}. "
            "If they are one class, write them alike in the data.",
            UserWarning,
            stacklevel=3,
        )


def check_target_columns(columns: list[str], options: JobOptions) -> None:
    """--target given, and every target column among ``columns``."""
    if not options.target:
        raise DataError(f"--target is required for tables; columns are: {columns[:20]}.")
    missing = [t for t in options.target if t not in columns]
    if missing and columns and all(str(c).startswith("column_") for c in columns):
        raise DataError(
            f"target column(s) {missing} not found: the file seems to have no header row (its first row is all "
            f"numbers, so it was read as data and the columns were named {columns[0]} to {columns[-1]}). Add a "
            "header row naming the columns, or pass --target column_K for the K-th column (from 0)."
        )
    if missing:
        raise DataError(f"target column(s) {missing} not found; columns are: {columns[:20]}.")


def table_task(target, options: JobOptions) -> str:
    """ "classification" or "regression": as told, or inferred from the target column(s) ``target``."""
    task = options.task
    if task is None:
        kinds = {infer_task(target[c]) for c in options.target}
        task = "classification" if kinds == {"classification"} else "regression"
    if task not in ("classification", "regression"):
        raise DataError(f"--task must be classification or regression; got {task!r}.")
    return task


def class_order(levels: list) -> list:
    """A target's classes in the order their indices follow (by type, then value)."""
    return sorted(levels, key=lambda v: (str(type(v)), v))


def _table_targets(target, options: JobOptions):
    """(task, y, classes) from the target column(s): inferred or told classification or regression."""
    task = table_task(target, options)
    if task == "regression":
        import pandas as pd

        try:
            values = target.apply(pd.to_numeric).to_numpy(dtype=np.float64)
        except (ValueError, TypeError):
            raise DataError(f"regression target(s) {options.target} must be numeric.") from None
        infinite = ~np.isfinite(values)
        if infinite.any():
            rows = np.flatnonzero(infinite.any(axis=1))
            raise DataError(
                f"target {(options.target[0] if len(options.target) == 1 else options.target)!r} holds "
                f"{len(rows)} infinite value(s) (first in data row {rows[0] + 1}); fix or remove those rows."
            )
        return "regression", values, None
    if len(options.target) > 1:
        values = target.to_numpy()
        if not set(np.unique(values.astype(float))) <= {0.0, 1.0}:
            raise DataError(
                "several classification targets must each be 0/1 (multilabel); train one model per target otherwise."
            )
        return "multilabel", values.astype(np.float32), list(options.target)
    column = target[options.target[0]]
    classes = class_order(column.unique().tolist())
    _say_case_variants(options.target[0], classes)
    if len(classes) < 2:
        raise DataError(
            f"target {options.target[0]!r} has a single class ({classes[0]!r}); classification needs at least two."
        )
    lookup = {value: index for index, value in enumerate(classes)}
    y = column.map(lookup).to_numpy().astype(np.int64)
    return ("binary" if len(classes) == 2 else "multiclass"), y, classes


def _separate_test_table(options: JobOptions, pre: TablePreprocessor, task: str, classes, y_dtype):
    """(x_test, y_test) from ``--test-data``, preprocessed as the training rows were."""
    numbers = pre.numeric + (list(options.target) if task not in CLASSIFICATION else [])
    test_frame = read_table(options.test_data, **options.reading(options.test_data), numeric=numbers)
    test_frame.columns = [str(c) for c in test_frame.columns]
    absent = [t for t in options.target if t not in test_frame.columns]
    if absent:
        raise DataError(f"--test-data lacks the target column(s) {absent}.")
    if task not in CLASSIFICATION:  # a word in a regression's target: a missing target, as evaluate reads it
        import pandas as pd

        test_frame[options.target] = test_frame[options.target].apply(pd.to_numeric, errors="coerce")
    test_frame = test_frame[test_frame[options.target].notna().all(axis=1)]
    x_test = pre.transform(test_frame.drop(columns=options.target))
    if task not in CLASSIFICATION:
        return x_test, test_frame[options.target].to_numpy().astype(y_dtype)
    lookup = {value: index for index, value in enumerate(classes)}
    mapped = test_frame[options.target[0]].map(lookup)
    if mapped.isna().any():
        unseen = sorted(set(test_frame[options.target[0]][mapped.isna()].astype(str)))[:5]
        raise DataError(f"--test-data holds classes not seen in training: {unseen}.")
    return x_test, mapped.to_numpy().astype(np.int64)


#: A numeric column of whole numbers with at most this many distinct values may be codes.
CODE_LEVELS = 12
#: A category level seen fewer times than this in the training rows is pointed out.
RARE_LEVEL = 3


def _dates_in_other_formats(name: str, values) -> list[str]:
    """A hint for a categorical column of dates in other or mixed formats (only ISO dates are read as
    dates: a column of 03/04/2024 and 2024-03-04 became a 227-level categorical without a word)."""
    import warnings

    import pandas as pd

    sample = values.dropna().astype(str).head(1000)
    if len(sample) < 5 or sample.str.fullmatch(r"[+-]?\d+([.,]\d+)?").mean() > 0.5:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, format="mixed", errors="coerce")
    if parsed.notna().mean() < 0.8:
        return []
    examples = ", ".join(repr(v) for v in sample.drop_duplicates().head(3))
    return [
        f"column {name!r} looks like dates written in a format other than YYYY-MM-DD, or in several ({examples}); "
        "only ISO dates are read as dates, so its values are taken as categories: write them as YYYY-MM-DD to "
        "use them as dates"
    ]


def column_hints(pre: TablePreprocessor, frame, declared: dict) -> list[str]:
    """Columns worth a second look: whole numbers that may be codes, category levels that differ
    only in case or spaces (typos of one another?), and levels seen only a few times."""
    import pandas as pd

    hints = []
    for name in pre.numeric:
        if name in declared:
            continue
        values = pd.to_numeric(frame[name], errors="coerce").dropna()
        distinct = values.nunique()
        if 3 <= distinct <= CODE_LEVELS and np.all(np.mod(values, 1) == 0):
            hints.append(
                f"column {name!r} holds {distinct} distinct whole numbers and is read as a number; if they "
                f"are codes (a region, a product type), pass --categorical {name}"
            )
    for name in pre.categorical:
        hints += _dates_in_other_formats(name, frame[name])
        counts = frame[name].dropna().astype(str).value_counts()
        groups: dict[str, list[str]] = {}
        for level in counts.index:
            groups.setdefault(" ".join(level.split()).lower(), []).append(level)
        alike = [sorted(levels) for levels in groups.values() if len(levels) > 1]
        if alike:
            shown = "; ".join(" / ".join(repr(v) for v in levels) for levels in alike[:3])
            hints.append(f"column {name!r} has levels that differ only in case or spaces: {shown}")
        rare = counts[counts < RARE_LEVEL]
        if 0 < len(rare) < len(counts):
            shown = ", ".join(f"{level!r} ({count})" for level, count in rare.head(5).items())
            more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
            hints.append(
                f"column {name!r} has {len(rare)} level(s) seen fewer than {RARE_LEVEL} times: {shown}{more} "
                "(typos? each becomes its own category)"
            )
    return hints


def _prepare_table(frame, options: JobOptions, rng: np.random.Generator) -> Prepared:
    frame, dropped_rows = _checked_frame(frame, options)
    task, y, classes = _table_targets(frame[options.target], options)
    features_frame = frame.drop(columns=options.target)
    TablePreprocessor.validate(features_frame, options.columns)
    # Split before fitting the preprocessing, so that it sees the training rows only; a cross-fit
    # estimates out of fold and keeps no test rows back.
    if options.test_data or cross_fitting(options):
        train_idx, test_idx = np.arange(len(frame)), None
    else:
        train_idx, test_idx = _split(
            len(frame), options.test_fraction, rng, y if task in CLASSIFICATION else None, "--test-fraction"
        )
    pre = TablePreprocessor.fit(features_frame.iloc[train_idx], kinds=options.columns, **options.table_options)
    if options.test_data:
        x_test, y_test = _separate_test_table(options, pre, task, classes, y.dtype)
    elif test_idx is None:  # cross-fitting: out of fold, decided in _finish_split
        x_test = y_test = None
    else:
        x_test, y_test = pre.transform(features_frame, rows=test_idx), y[test_idx]
    y_rest = y[train_idx]
    n_features = len(pre.feature_names)

    def encode(rows: np.ndarray) -> np.ndarray:
        """The rows left for training and validation (positions among them), encoded straight into the
        order _finish_split keeps them in: no matrix of every row is made first."""
        return pre.transform(features_frame, rows=train_idx[rows])

    arrays = {}
    if task == "regression":
        y_mean, y_scale = y_rest.mean(axis=0), y_rest.std(axis=0)
        y_scale = np.where(y_scale > 0, y_scale, 1.0)
        arrays = {"target_mean": y_mean.astype(np.float64), "target_scale": y_scale.astype(np.float64)}
    description = {
        "kind": "table",
        "source": str(options.data),
        "rows": int(len(frame) + dropped_rows),
        "columns": int(frame.shape[1]),
        "features": int(n_features),
        "target": list(options.target),
        "rows_dropped_missing_target": dropped_rows,
        "preprocessing": list(frame.attrs.get("reading", []))  # the reading rules that applied (io/tables.py)
        + pre.describe()
        + column_hints(pre, features_frame.iloc[train_idx], options.columns),
    }
    preprocessing = {**pre.to_dict(), "target": list(options.target)}
    return _finish_split(
        encode, y_rest, x_test, y_test, task, classes, preprocessing, arrays, pre.feature_names,
        pre.source_columns(), description, options, rng,
    )  # fmt: skip


def _finish_split(
    x, y, x_test, y_test, task, classes, preprocessing, arrays, features, sources, description, options, rng,
    kind="table",
) -> Prepared:  # fmt: skip
    # the rows as a matrix, or as a function that encodes the rows at the positions it is given
    take = x if callable(x) else x.__getitem__
    stratify = y if task in CLASSIFICATION else None
    out_of_fold = x_test is None and cross_fitting(options, kind)
    kept = np.arange(len(y))  # the positions of the rows left for training and validation
    if out_of_fold:  # no test rows: every row is predicted by the member that did not train on it
        x_test, y_test = take(kept[:0]), _no_rows(y)  # empty arrays of their own, holding nothing alive
    elif x_test is None:
        train_idx, test_idx = _split(len(y), options.test_fraction, rng, stratify, "--test-fraction")
        kept, y, x_test, y_test = train_idx, y[train_idx], take(test_idx), y[test_idx]
        stratify = y if stratify is not None else None
    train_idx, val_idx = _split(len(y), options.validation_fraction, rng, stratify, "--validation-fraction")
    sizes = (len(train_idx), len(val_idx), len(x_test))
    description = split_description(description, task, classes, sizes, options, stratify is not None, out_of_fold)
    # one copy of the rows, training then validation: the two are views of it, and so is the pool a
    # cross-fit or the refit trains on (no third copy)
    pooled = take(kept[np.concatenate([train_idx, val_idx])])
    n_train = len(train_idx)
    return Prepared(
        pooled[:n_train],
        y[train_idx],
        pooled[n_train:],
        y[val_idx],
        x_test,
        y_test,
        task,
        None if classes is None else labels_to_json(classes),
        preprocessing,
        arrays,
        features,
        sources,
        description,
        x_pooled=pooled,
    )


def split_description(
    description: dict, task: str, classes, sizes: tuple[int, int, int], options: JobOptions, stratified: bool,
    out_of_fold: bool = False,
) -> dict:  # fmt: skip
    """The data's description with the task, the rows of each part and how the estimate is obtained."""
    if options.test_data:
        test_source = options.test_data
    elif out_of_fold:
        test_source = (
            f"out of fold: {options.folds}-fold cross-fitting, every row predicted by the member that did not "
            "train on it (that member's stopping epoch was chosen on the same rows)"
        )
    else:
        test_source = "held out (seeded, stratified)" if stratified else "held out (seeded)"
    return {
        **description,
        "task": task,
        "classes": None if classes is None else labels_to_json(classes),
        "train_rows": int(sizes[0]),
        "validation_rows": int(sizes[1]),
        "test_rows": int(sizes[2]),
        "test_source": test_source,
        #: How the headline estimate is obtained: "test file", "out of fold" or "hold-out".
        "estimate": "test file" if options.test_data else "out of fold" if out_of_fold else "hold-out",
    }
