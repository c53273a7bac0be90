"""Checks of a file's metadata: its schema, what the schema cannot say, and non-finite numbers back.

A file's digest proves only that it was not changed after it was written, not who wrote it: any
file that passes the digest is still validated here, as a whole. A mismatch is a
:class:`~glassnet.exceptions.ModelFileError` naming where it is.
"""

from __future__ import annotations

import math
from typing import Any

from ..exceptions import ModelFileError


def _lengths_agree(meta: dict) -> str | None:
    """What the schema cannot say: arrays that are drawn against each other must be as long."""
    history = meta.get("history") or meta.get("state", {}).get("history")
    if isinstance(history, dict):
        epochs = history.get("epochs", [])
        for key, values in history.get("history", {}).items():
            if len(values) != len(epochs):
                return f"history/history/{key} has {len(values)} values for {len(epochs)} epochs"
        if epochs and "loss" not in history.get("history", {}):
            return "history/history has no training loss"
        for key, values in history.get("grad_norms", {}).items():
            if len(values) > len(epochs):
                return f"history/grad_norms/{key} has {len(values)} values for {len(epochs)} epochs"
        for key in ("restored_epoch", "overfitting_onset", "best_epoch"):
            if history.get(key) is not None and history[key] not in epochs:
                return f"history/{key} {history[key]} is not one of the recorded epochs"
        diagnostics = history.get("diagnostics") or {}
        steps = len(diagnostics.get("step", []))
        for group in ("activations", "batch_norm"):
            for name, record in diagnostics.get(group, {}).items():
                for key, values in record.items():
                    if isinstance(values, list) and len(values) != steps:
                        return f"history/diagnostics/{group}/{name}/{key} has {len(values)} values for {steps} probes"
    if meta.get("task") in ("binary", "multiclass", "multilabel") and not isinstance(meta.get("classes"), list):
        return f"a {meta['task']} model has no class labels"
    metadata = meta.get("metadata") or {}
    matrix = (metadata.get("test_metrics") or {}).get("confusion_matrix")
    if matrix is not None and (
        any(len(row) != len(matrix) for row in matrix)
        or meta.get("classes") is not None
        and len(matrix) != len(meta["classes"])
    ):
        return "metadata/test_metrics/confusion_matrix is not square over the classes"
    sample = metadata.get("test_sample") or {}
    if len(sample.get("truth", [])) != len(sample.get("prediction", [])):
        return "metadata/test_sample has different numbers of truths and predictions"
    for name, drawn in (metadata.get("curves") or {}).items():
        for part, points in drawn.items():
            if isinstance(points, dict) and len({len(values) for values in points.values()}) > 1:
                return f"metadata/curves/{name}/{part} has lists of different lengths"
    importance = metadata.get("importance") or {}
    if importance.get("kind") == "image":
        size = 1
        for extent in importance.get("image_shape", [0]):
            size *= extent
        for key in ("saliency", "integrated_gradients"):
            if len(importance.get(key, [])) != size:
                return f"metadata/importance/{key} does not fill the image shape"
    return None


_LEGACY_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _number(value: Any) -> Any:
    """A numeric leaf as a float: null and the legacy strings become NaN/±inf."""
    if value is None:
        return math.nan
    if isinstance(value, str) and value in _LEGACY_NON_FINITE:
        return _LEGACY_NON_FINITE[value]
    return value


def _numbers(value: Any) -> Any:
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    return _number(value)


def numbers_back(meta: dict) -> dict:
    """The numeric curves and metrics of validated metadata with floats for non-finite values again."""
    history = meta.get("history")
    if isinstance(history, dict):
        history = dict(history)
        for key in ("history", "grad_norms", "diagnostics"):
            if key in history:
                history[key] = _numbers(history[key])
        meta = {**meta, "history": history}
    metadata = meta.get("metadata")
    if isinstance(metadata, dict):
        metadata = dict(metadata)
        for key in ("test_metrics", "validation_metrics", "baselines", "test_sample"):
            if isinstance(metadata.get(key), dict):
                metadata[key] = _numbers(metadata[key])
        importance = metadata.get("importance")
        if isinstance(importance, dict):
            importance = dict(importance)
            for key in ("saliency", "integrated_gradients"):
                if key in importance:
                    importance[key] = _numbers(importance[key])
            if "rows" in importance:
                importance["rows"] = [
                    {key: value if key == "feature" else _number(value) for key, value in row.items()}
                    for row in importance["rows"]
                ]
            metadata["importance"] = importance
        if "train_seconds" in metadata:
            metadata["train_seconds"] = _number(metadata["train_seconds"])
        meta = {**meta, "metadata": metadata}
    return meta


def validate(document: Any, schema: dict, source: str) -> None:
    """Raise ModelFileError naming the first place where ``document`` does not fit ``schema``."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the top level)"
        message = error.message if len(error.message) < 200 else error.message[:200] + "..."
        raise ModelFileError(f"{source} has invalid metadata at {where}: {message}.")
    problem = _lengths_agree(document)
    if problem is not None:
        raise ModelFileError(f"{source} has inconsistent metadata: {problem}.")
