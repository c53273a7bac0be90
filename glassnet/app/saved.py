"""Inputs for a saved model: new data prepared exactly as its training data was, and what differs.

What differs from the training data (columns the model ignores, categories it never saw, dates it
cannot read) is said in one line each; with ``strict`` it is an error instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.tables import CHUNK_ROWS, iter_table
from ..tabular import MISSING, DataError, TablePreprocessor
from .tasks import CLASSIFICATION


@dataclass
class NewData:
    """New rows for a saved model: the features, the targets (or None), the rows' identifiers."""

    x: np.ndarray
    y: np.ndarray | None
    ids: list  # one per row: the ID column's values, image file names, or row numbers
    id_name: str  # the identifiers' column name in outputs ("row", "file" or the ID column's name)
    notes: list[str] = field(default_factory=list)  # what differs from the training data, one line each


def stream_for_model(
    model,
    data: str,
    delimiter: str | None = None,
    require_target: bool = False,
    *,
    encoding: str | None = None,
    id_column: str | None = None,
    strict: bool = False,
    sheet: str | None = None,
    chunk_rows: int | None = CHUNK_ROWS,
):
    """New data for a saved model in chunks of ``chunk_rows`` rows (None: one chunk).

    A :class:`TableStream` for a table; for an image folder, the whole folder as one chunk.
    Iterate it for :class:`NewData`; its ``notes`` say what differed from the training data in
    the chunks read.

    Parameters
    ----------
    id_column : str, optional
        The table's column that identifies rows (written beside the predictions). By default, the
        column the training run dropped as ID-like, when the data has it.
    strict : bool
        Refuse data that differs from the training data (unseen categories, columns the model does
        not use, numbers or dates that cannot be read, numbers far from the training rows') instead of
        saying so and going on.
    sheet : str, optional
        An Excel workbook's sheet, by name or number from 1 (None: the first).
    """
    pre = model.preprocessing or {}
    if pre.get("kind") == "image":
        return _OneChunk(_image_features(model, pre, Path(data), require_target))
    return TableStream(model, data, delimiter, require_target, encoding, id_column, strict, chunk_rows, sheet)


class _OneChunk:
    def __init__(self, new: NewData) -> None:
        self.new, self.notes = new, new.notes

    def __iter__(self) -> Iterator[NewData]:
        yield self.new


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
            raise DataError(f"{source} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}).")
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


class TableStream:
    """A table's rows for a saved model, chunk by chunk (``chunk_rows`` rows; None: all at once).

    Iterating gives one :class:`NewData` per chunk, prepared exactly as the training rows were
    (the preprocessing works row by row); row numbers continue across chunks. ``notes`` gathers
    what differs from the training data over the chunks read so far; with ``strict`` the first
    chunk that differs raises instead.
    """

    def __init__(
        self, model, data: str, delimiter: str | None = None, require_target: bool = False,
        encoding: str | None = None, id_column: str | None = None, strict: bool = False,
        chunk_rows: int | None = CHUNK_ROWS, sheet: str | None = None,
    ) -> None:  # fmt: skip
        self.model, self.data, self.require_target = model, data, require_target
        self.delimiter, self.encoding, self.id_column, self.strict = delimiter, encoding, id_column, strict
        self.chunk_rows, self.sheet = chunk_rows, sheet
        self.pre = model.preprocessing or {}
        self.table = TablePreprocessor.from_dict(self.pre)
        self.differences = Differences(self.table, self.pre.get("target") or [])
        self.unlabelled = 0  # rows evaluate could not score: their target is blank

    @property
    def notes(self) -> list[str]:
        blank = [f"{self.unlabelled} row(s) with a blank target (or, in a regression, not a number), not scored"]
        blank = blank if self.unlabelled else []
        return blank + self.differences.notes()

    def __iter__(self) -> Iterator[NewData]:
        rows = 0
        numbers = self.table.numeric + (self.differences.targets if self.model.task not in CLASSIFICATION else [])
        chunks = iter_table(
            self.data, self.delimiter, self.encoding, self.chunk_rows, numeric=numbers, sheet=self.sheet
        )
        for index, frame in enumerate(chunks):
            frame.columns = [str(c) for c in frame.columns]
            if index == 0:
                self.id_column = self._identifiers(frame)
            new = self._prepare(frame, rows)
            rows += len(frame)
            yield new

    def _identifiers(self, frame) -> str | None:
        if self.id_column is not None and self.id_column not in frame.columns:
            raise DataError(
                f"--id-column {self.id_column!r} is not a column of {self.data}; its columns: "
                f"{_names(list(frame.columns))}."
            )
        if self.id_column is not None:
            return self.id_column
        return next(  # the column training dropped as an identifier, when the data has it
            (c for c, why in self.table.dropped.items() if why.startswith("ID-like") and c in frame.columns), None
        )

    def _prepare(self, frame, first_row: int) -> NewData:
        targets = self.differences.targets
        has_target = bool(targets) and all(t in frame.columns for t in targets)
        if self.require_target and not has_target:
            raise DataError(f"evaluation needs the target column(s) {targets} in {self.data}.")
        frame.index = range(first_row, first_row + len(frame))
        y = None
        if has_target and self.require_target:  # evaluate scores the rows that have a target
            if self.model.task not in CLASSIFICATION:  # a regression's target that is not a number: none
                import pandas as pd

                frame[targets] = frame[targets].apply(pd.to_numeric, errors="coerce")
            labelled = frame[targets].notna().all(axis=1)
            self.unlabelled += int((~labelled).sum())
            frame = frame[labelled]
            y = self._targets(frame, targets)
        # predict scores every row: a blank target (the rows a user wants scored) drops none
        found = self.differences.add(frame, self.id_column)
        if self.strict and found:
            raise DataError(
                f"{self.data} differs from the training data (--strict): "
                + "; ".join(self.differences.notes())
                + ". Fix the data, or drop --strict to predict anyway."
            )
        x = self.table.transform(frame.drop(columns=[t for t in targets if t in frame.columns]))
        if self.id_column is None:
            return NewData(x, y, frame.index.tolist(), "row", self.notes)
        return NewData(x, y, frame[self.id_column].tolist(), self.id_column, self.notes)

    def _targets(self, frame, targets: list) -> np.ndarray:
        model = self.model
        if model.task in CLASSIFICATION:
            lookup = {value: index for index, value in enumerate(model.classes)}
            mapped = frame[targets[0]].map(lambda v: lookup.get(v, lookup.get(_coerce(v, model.classes), -1)))
            y = mapped.to_numpy().astype(np.int64)
            if self.require_target and (y < 0).any():
                raise DataError(
                    f"{self.data} holds target classes the model does not know: "
                    f"{sorted(set(frame[targets[0]][y < 0].astype(str)))[:5]}."
                )
            return y
        y = frame[targets].to_numpy().astype(np.float64)
        return y.ravel() if model.task == "regression" and y.shape[1] == 1 else y


def differences(pre: TablePreprocessor, frame, targets: list, id_column: str | None = None) -> list[str]:
    """What in ``frame`` differs from the data ``pre`` was fitted on: one sentence per kind."""
    found = Differences(pre, targets)
    found.add(frame, id_column)
    return found.notes()


#: A numeric column's new values are far from the training rows' when they lie more than this many of its
#: robust scales from its median (twice the smooth clipping's bound: the network sees them all alike) ...
FAR_SCALES = 6.0
#: ... and when at least this share of its present values do: another unit (cents for dollars), or rows
#: unlike any the model learned from.
FAR_SHARE = 0.5


class Differences:
    """What differs from the training data, gathered over chunks: columns the model does not use,
    unseen categories, numbers and dates that cannot be read, with counts and a few examples, and
    numeric columns most of whose values lie far from the training rows'."""

    def __init__(self, pre: TablePreprocessor, targets: list) -> None:
        self.pre, self.targets = pre, list(targets)
        self.extra: list[str] = []
        self.unseen: dict[str, list] = {}  # column → [rows, examples]
        self.unreadable: dict[str, list] = {}  # column → [rows, first example]
        self.not_numbers: dict[str, list] = {}  # column → [rows, examples]
        self.far: dict[str, list] = {}  # numeric column → [values far from the training rows', present values]

    def add(self, frame, id_column: str | None = None) -> bool:
        """Count what ``frame`` holds that differs; whether it holds anything."""
        from ..columns import datetimes, not_numbers

        pre, before = self.pre, self._count()
        used = set(pre.numeric) | set(pre.categorical) | set(pre.dates) | set(self.targets) | set(pre.dropped)
        self.extra += [c for c in frame.columns if c not in used and c != id_column and c not in self.extra]
        for name in (c for c in pre.categorical if c in frame.columns):
            text = frame[name].astype("string").fillna(MISSING)
            new = ~text.isin(pre.categories[name])
            if new.any():
                seen = self.unseen.setdefault(name, [0, []])
                seen[0] += int(new.sum())
                seen[1] += [v for v in text[new].drop_duplicates().head(3) if v not in seen[1]][: 3 - len(seen[1])]
        for name in (c for c in pre.numeric if c in frame.columns):
            scaled = pre.standardized(frame[name], name)
            seen = self.far.setdefault(name, [0, 0])
            seen[0] += int((np.abs(scaled) > FAR_SCALES).sum())
            seen[1] += int((~np.isnan(scaled)).sum())
            count, examples = not_numbers(frame[name])
            if count:
                seen = self.not_numbers.setdefault(name, [0, []])
                seen[0] += count
                seen[1] += [v for v in examples if v not in seen[1]][: 3 - len(seen[1])]
        for name in (c for c in pre.dates if c in frame.columns):
            bad = datetimes(frame[name]).isna() & frame[name].notna()
            if bad.any():
                self.unreadable.setdefault(name, [0, frame[name][bad].iloc[0]])[0] += int(bad.sum())
        return self._count() > before

    def _count(self) -> int:
        """Everything counted so far: columns, and rows of unseen categories, unreadable numbers and dates."""
        counted = (*self.unseen.values(), *self.not_numbers.values(), *self.unreadable.values())
        return len(self.extra) + sum(count for count, _ in counted) + len(self._far_columns())

    def _far_columns(self) -> dict[str, list]:
        """The numeric columns whose values so far lie far from the training rows' (:data:`FAR_SHARE`)."""
        return {name: seen for name, seen in self.far.items() if seen[1] and seen[0] >= FAR_SHARE * seen[1]}

    def notes(self) -> list[str]:
        notes = []
        if self.extra:
            notes.append(f"{len(self.extra)} column(s) the model does not use, ignored: {_names(self.extra)}")
        if self.unseen:
            parts = [
                f"{name}: {rows} row(s), e.g. {', '.join(repr(v) for v in examples)}"
                for name, (rows, examples) in self.unseen.items()
            ]
            notes.append("categories unseen in training, encoded as none of the known ones: " + "; ".join(parts))
        if self.not_numbers:
            parts = [
                f"{name}: {rows} row(s), e.g. {', '.join(repr(v) for v in examples)}"
                for name, (rows, examples) in self.not_numbers.items()
            ]
            said = "cells of numeric columns that are not numbers, taken as the training median: "
            notes.append(said + "; ".join(parts))
        far = self._far_columns()
        if far:
            parts = [f"{name}: {count} of {present}" for name, (count, present) in far.items()]
            notes.append(
                f"numbers far from the training rows' (more than {FAR_SCALES:g} robust scales from their median; "
                "another unit, or rows unlike any the model learned from?): " + "; ".join(parts)
            )
        if self.unreadable:
            parts = [f"{name}: {rows} row(s), e.g. {example!r}" for name, (rows, example) in self.unreadable.items()]
            notes.append("dates that cannot be read, taken as the training median: " + "; ".join(parts))
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
