"""Inputs for a saved model: new data prepared exactly as its training data was, and what differs.

What differs from the training data (columns the model ignores, categories it never saw, dates it
cannot read) is said in one line each; with ``strict`` it is an error instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..tabular import MISSING, DataError, TablePreprocessor, read_table
from .tasks import CLASSIFICATION


@dataclass
class NewData:
    """New rows for a saved model: the features, the targets (or None), the rows' identifiers."""

    x: np.ndarray
    y: np.ndarray | None
    ids: list  # one per row: the ID column's values, image file names, or row numbers
    id_name: str  # the identifiers' column name in outputs ("row", "file" or the ID column's name)
    notes: list[str] = field(default_factory=list)  # what differs from the training data, one line each


def features_for_model(
    model,
    data: str,
    delimiter: str | None = None,
    require_target: bool = False,
    *,
    encoding: str | None = None,
    id_column: str | None = None,
    strict: bool = False,
) -> NewData:
    """New data for a saved model's preprocessing, from a file or an image folder.

    Parameters
    ----------
    id_column : str, optional
        The table's column that identifies rows (written beside the predictions). By default, the
        column the training run dropped as ID-like, when the data has it.
    strict : bool
        Refuse data that differs from the training data (unseen categories, columns the model does
        not use, unreadable dates) instead of saying so and going on.
    """
    pre = model.preprocessing or {}
    if pre.get("kind") == "image":
        return _image_features(model, pre, Path(data), require_target)
    return _table_features(model, pre, data, delimiter, require_target, encoding, id_column, strict)


def _image_features(model, pre: dict, source: Path, require_target: bool) -> NewData:
    from ..images import IMAGE_SUFFIXES, image_pixels, load_image_folder, open_image

    if not source.is_dir():
        raise DataError(f"this model takes an image folder; {source} is not a folder.")
    size, shape = pre.get("size"), pre["image_shape"]
    if any(p.is_dir() for p in source.iterdir()):
        x, labels, info = load_image_folder(source, tuple(size) if size else (shape[1], shape[0]), pre["mode"])
        names = list(info["paths"])
    else:
        # A flat folder of images to predict, prepared exactly as the training images were.
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{source} holds no PNG/JPEG images.")
        x = np.stack([image_pixels(open_image(path), pre["mode"], (shape[1], shape[0])) for path in files])
        labels, names = None, [p.name for p in files]
    y = None
    if labels is not None and model.classes is not None:
        unknown = sorted(set(labels.tolist()) - set(model.classes))
        if unknown and require_target:
            raise DataError(f"the folder holds classes the model does not know: {unknown[:5]}.")
        lookup = {c: i for i, c in enumerate(model.classes)}
        y = np.array([lookup.get(label, -1) for label in labels], dtype=np.int64)
    if require_target and y is None:
        raise DataError("evaluation needs labelled images: one sub-folder per class.")
    return NewData(x, y, names, "file")


def _table_features(
    model,
    pre: dict,
    data: str,
    delimiter: str | None,
    require_target: bool,
    encoding: str | None,
    id_column: str | None,
    strict: bool,
) -> NewData:
    frame = read_table(data, delimiter, encoding=encoding)
    frame.columns = [str(c) for c in frame.columns]
    pre_table = TablePreprocessor.from_dict(pre)
    if id_column is not None and id_column not in frame.columns:
        raise DataError(
            f"--id-column {id_column!r} is not a column of {data}; its columns: {_names(list(frame.columns))}."
        )
    if id_column is None:  # the column training dropped as an identifier, when the data has it
        id_column = next(
            (c for c, why in pre_table.dropped.items() if why.startswith("ID-like") and c in frame.columns), None
        )
    targets = pre.get("target") or []
    has_target = all(t in frame.columns for t in targets) and targets
    if require_target and not has_target:
        raise DataError(f"evaluation needs the target column(s) {targets} in {data}.")
    y = None
    if has_target:
        frame = frame[frame[targets].notna().all(axis=1)].reset_index(drop=True)
        if model.task in CLASSIFICATION:
            lookup = {value: index for index, value in enumerate(model.classes)}
            mapped = frame[targets[0]].map(lambda v: lookup.get(v, lookup.get(_coerce(v, model.classes), -1)))
            y = mapped.to_numpy().astype(np.int64)
            if require_target and (y < 0).any():
                raise DataError(
                    f"{data} holds target classes the model does not know: "
                    f"{sorted(set(frame[targets[0]][y < 0].astype(str)))[:5]}."
                )
        else:
            y = frame[targets].to_numpy().astype(np.float64)
            if model.task == "regression" and y.shape[1] == 1:
                y = y.ravel()
    notes = differences(pre_table, frame, targets, id_column)
    if strict and notes:
        raise DataError(
            f"{data} differs from the training data (--strict): "
            + "; ".join(notes)
            + ". Fix the data, or drop --strict to predict anyway."
        )
    x = pre_table.transform(frame.drop(columns=[t for t in targets if t in frame.columns]))
    if id_column is None:
        return NewData(x, y, frame.index.tolist(), "row", notes)
    return NewData(x, y, frame[id_column].tolist(), id_column, notes)


def differences(pre: TablePreprocessor, frame, targets: list, id_column: str | None = None) -> list[str]:
    """What in ``frame`` differs from the data ``pre`` was fitted on: one sentence per kind."""
    from ..columns import datetimes

    notes = []
    used = set(pre.numeric) | set(pre.categorical) | set(pre.dates) | set(targets) | set(pre.dropped)
    extra = [c for c in frame.columns if c not in used and c != id_column]
    if extra:
        notes.append(f"{len(extra)} column(s) the model does not use, ignored: {_names(extra)}")
    unseen = []
    for name in pre.categorical:
        if name not in frame.columns:
            continue
        text = frame[name].astype("string").fillna(MISSING)
        new = ~text.isin(pre.categories[name])
        if new.any():
            examples = ", ".join(repr(v) for v in text[new].drop_duplicates().head(3))
            unseen.append(f"{name}: {int(new.sum())} row(s), e.g. {examples}")
    if unseen:
        notes.append("categories unseen in training, encoded as none of the known ones: " + "; ".join(unseen))
    unreadable = []
    for name in pre.dates:
        if name in frame.columns:
            bad = datetimes(frame[name]).isna() & frame[name].notna()
            if bad.any():
                unreadable.append(f"{name}: {int(bad.sum())} row(s), e.g. {frame[name][bad].iloc[0]!r}")
    if unreadable:
        notes.append("dates that cannot be read, taken as the training median: " + "; ".join(unreadable))
    return notes


def _names(columns: list, shown: int = 8) -> str:
    text = ", ".join(repr(c) for c in columns[:shown])
    return text + (f" and {len(columns) - shown} more" if len(columns) > shown else "")


def _coerce(value, classes):
    """Match a label read back from CSV (e.g. "1") to the stored class (1)."""
    for candidate in classes:
        if str(candidate) == str(value):
            return candidate
    return value
