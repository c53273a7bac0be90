"""Inputs for a saved model: new data prepared exactly as its training data was."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..tabular import DataError, TablePreprocessor, read_table
from .tasks import CLASSIFICATION


def features_for_model(model, data: str, delimiter: str | None = None, require_target: bool = False):
    """(x, y or None, row labels) for a saved model's preprocessing, from a file or image folder."""
    pre = model.preprocessing or {}
    if pre.get("kind") == "image":
        return _image_features(model, pre, Path(data), require_target)
    return _table_features(model, pre, data, delimiter, require_target)


def _image_features(model, pre: dict, source: Path, require_target: bool):
    from ..images import IMAGE_SUFFIXES, image_pixels, load_image_folder, open_image

    if not source.is_dir():
        raise DataError(f"this model takes an image folder; {source} is not a folder.")
    size, shape = pre.get("size"), pre["image_shape"]
    if any(p.is_dir() for p in source.iterdir()):
        x, labels, _ = load_image_folder(source, tuple(size) if size else (shape[1], shape[0]), pre["mode"])
        names = [str(i) for i in range(len(x))]
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
    return x, y, names


def _table_features(model, pre: dict, data: str, delimiter: str | None, require_target: bool):
    frame = read_table(data, delimiter)
    frame.columns = [str(c) for c in frame.columns]
    pre_table = TablePreprocessor.from_dict(pre)
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
    x = pre_table.transform(frame.drop(columns=[t for t in targets if t in frame.columns]))
    return x, y, [str(i) for i in frame.index]


def _coerce(value, classes):
    """Match a label read back from CSV (e.g. "1") to the stored class (1)."""
    for candidate in classes:
        if str(candidate) == str(value):
            return candidate
    return value
