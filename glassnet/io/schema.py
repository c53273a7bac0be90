"""JSON schemas of the metadata in model files and checkpoints, checked before any of it is used.

A file's digest proves only that it was not changed after it was written, not who wrote it: any
file that passes the digest is still validated here, as a whole, against the structure glassnet
writes. A mismatch is a :class:`~glassnet.io.modelfile.ModelFileError` naming where it is.
"""

from __future__ import annotations

import math
from typing import Any

# null: a non-finite float (JSON has none), read back as NaN; files written before glassnet 0.5 stored
# non-finite floats as the strings "inf", "-inf" and "nan", which are read back as floats too.
NUMBER = {"anyOf": [{"type": ["number", "null"]}, {"enum": ["inf", "-inf", "nan"]}]}
COUNT = {"type": "integer", "minimum": 0}
NUMBERS = {"type": "array", "items": NUMBER}
OPTIONAL_INT = {"type": ["integer", "null"]}
STRINGS = {"type": "array", "items": {"type": "string"}}
LABEL = {"type": ["string", "number", "boolean", "null"]}
NAMED_NUMBERS = {"type": "object", "additionalProperties": NUMBER}
CURVES = {"type": "object", "additionalProperties": NUMBERS}
TENSOR = {
    "type": "object",
    "required": ["__tensor__"],
    "additionalProperties": False,
    "properties": {"__tensor__": {"type": "string"}},
}
TAGGED_FLOAT = {
    "type": "object",
    "required": ["__float__"],
    "additionalProperties": False,
    "properties": {"__float__": {"enum": ["inf", "-inf", "nan"]}},
}

LAYER = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "enum": ["Dense", "BatchNorm", "Dropout", "LeakyReLU", "ReLU", "Sigmoid", "Tanh", "Linear", "Softmax"]
        },
        "name": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"}]},
        "units": {"type": "integer", "minimum": 1},
        "use_bias": {"type": "boolean"},
        "init": {"type": ["string", "null"]},
        "init_scale": {"type": ["number", "null"]},
        "momentum": {"type": "number"},
        "eps": {"type": "number"},
        "rate": {"type": "number"},
        "negative_slope": {"type": "number"},
    },
}

ARCHITECTURE = {
    "type": "object",
    "required": ["input_dim", "dtype", "layers"],
    "properties": {
        "input_dim": {"type": "integer", "minimum": 1, "maximum": 10**8},
        "dtype": {"enum": ["float32", "float64"]},
        "seed": OPTIONAL_INT,
        "layers": {"type": "array", "minItems": 1, "maxItems": 4096, "items": LAYER},
    },
}

ACTIVATION_RECORD = {
    "type": "object",
    "required": ["kind", "p15", "p50", "p85", "dead_fraction", "saturated_fraction"],
    "properties": {
        "kind": {"type": "string"},
        **{
            key: NUMBERS
            for key in ("p15", "p50", "p85", "unit_p15", "unit_p50", "unit_p85", "dead_fraction", "saturated_fraction")
        },
    },
}
BATCH_NORM_RECORD = {
    "type": "object",
    "required": ["gamma", "beta", "running_mean", "running_var"],
    "properties": {
        key: {"type": "array", "items": {"type": "array", "minItems": 1, "items": NUMBER}}
        for key in ("gamma", "beta", "running_mean", "running_var")
    },
}
DIAGNOSTICS = {
    "type": "object",
    "properties": {
        "step": {"type": "array", "items": {"type": ["integer", "null"]}},
        "epoch": {"type": "array", "items": {"type": ["integer", "null"]}},
        "epoch_end_steps": {"type": "array", "items": {"type": "integer"}},
        "update_ratio": {"type": "object", "additionalProperties": NUMBERS},
        "activations": {"type": "object", "additionalProperties": ACTIVATION_RECORD},
        "batch_norm": {"type": "object", "additionalProperties": BATCH_NORM_RECORD},
    },
}

HISTORY = {
    "type": "object",
    "required": ["epochs", "history"],
    "properties": {
        "epochs": {"type": "array", "items": {"type": "integer"}},
        "history": CURVES,
        "grad_norms": CURVES,
        "task": {"type": "string"},
        "patience": {"type": "integer"},  # written by glassnet before 0.5; ignored
        "best_epoch": OPTIONAL_INT,
        "restored_epoch": OPTIONAL_INT,
        "stopped_epoch": OPTIONAL_INT,
        "overfitting_onset": OPTIONAL_INT,
        "diverged": {"type": "boolean"},
        "divergence_message": {"type": "string"},
        "interrupted": {"type": "boolean"},
        "interrupt_message": {"type": "string"},
        "interrupt_checkpoint": {"type": ["string", "null"]},
        "diagnostics": DIAGNOSTICS,
    },
}

TABLE_PREPROCESSING = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"const": "table"},
        "numeric": STRINGS,
        "categorical": STRINGS,
        "target": STRINGS,
        "dropped": {"type": "object", "additionalProperties": {"type": "string"}},
        "medians": NAMED_NUMBERS,
        "means": NAMED_NUMBERS,
        "scales": NAMED_NUMBERS,
        "categories": {"type": "object", "additionalProperties": {"type": "array", "items": LABEL}},
        "imputed": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}

IMAGE_PREPROCESSING = {
    "type": "object",
    "required": ["kind", "image_shape", "mode"],
    "properties": {
        "kind": {"const": "image"},
        "image_shape": {
            "type": "array",
            "minItems": 2,
            "maxItems": 3,
            "items": {"type": "integer", "minimum": 1, "maximum": 100000},
        },
        "mode": {"enum": ["L", "RGB", "RGBA"]},
        "size": {
            "anyOf": [
                {"type": "null"},
                {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "integer", "minimum": 1}},
            ]
        },
    },
}

#: What glassnet's own commands read back from ``metadata`` (other keys are free).
METADATA = {
    "type": "object",
    "properties": {
        "data": {
            "type": "object",
            "properties": {
                "source": {"type": "string"},
                "kind": {"type": "string"},
                "test_source": {"type": "string"},
                "rows": COUNT,
                "features": COUNT,
                "columns": COUNT,
                "train_rows": COUNT,
                "validation_rows": COUNT,
                "test_rows": COUNT,
                "rows_dropped_missing_target": COUNT,
                "target": STRINGS,
                "preprocessing": STRINGS,
                "classes": {"type": ["array", "null"], "items": LABEL},
            },
        },
        "options": {"type": "object"},
        "test_metrics": {
            "type": "object",
            "additionalProperties": NUMBER,
            "properties": {"confusion_matrix": {"type": "array", "items": {"type": "array", "items": COUNT}}},
        },
        "validation_metrics": {
            "type": "object",
            "additionalProperties": NUMBER,
            "properties": {"confusion_matrix": {"type": "array", "items": {"type": "array", "items": COUNT}}},
        },
        "baselines": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": NUMBER,
                "properties": {"seconds": {"type": "number"}},
            },
        },
        "overfitting": {"type": "string"},
        "overfitting_onset": OPTIONAL_INT,
        "gradient_verdict": {"type": "string"},
        "vanishing": {"type": "boolean"},
        "exploding": {"type": "boolean"},
        "linear_blocks": STRINGS,
        "importance": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {
                        "kind": {"enum": ["table", "image"]},
                        "rows": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["feature", "permutation", "saliency", "integrated_gradients"],
                                "properties": {
                                    "feature": {"type": "string"},
                                    "permutation": NUMBER,
                                    "saliency": NUMBER,
                                    "integrated_gradients": NUMBER,
                                },
                            },
                        },
                        "image_shape": {
                            "type": "array",
                            "minItems": 2,
                            "maxItems": 3,
                            "items": {"type": "integer", "minimum": 1},
                        },
                        "saliency": NUMBERS,
                        "integrated_gradients": NUMBERS,
                        "completeness": {"type": "string"},
                    },
                },
            ]
        },
        "train_seconds": {"type": "number"},
        "growth_trail": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["step", "hidden", "n_parameters", "train_loss", "val_score", "epochs"],
                        "properties": {
                            "step": {"type": "integer"},
                            "hidden": {"type": "array", "items": COUNT},
                            "n_parameters": COUNT,
                            "train_loss": NUMBER,
                            "val_score": NUMBER,
                            "epochs": COUNT,
                        },
                    },
                },
            ]
        },
        "test_sample": {"type": "object", "properties": {"truth": NUMBERS, "prediction": NUMBERS}},
        "estimator": {"type": "object"},
    },
}

MODEL = {
    "type": "object",
    "required": ["format", "format_version", "architecture"],
    "properties": {
        "format": {"const": "glassnet-model"},
        "format_version": {"type": "integer", "minimum": 1},
        "glassnet_version": {"type": "string"},
        "architecture": ARCHITECTURE,
        "task": {"enum": ["", "multiclass", "binary", "multilabel", "regression"]},
        "classes": {"type": ["array", "null"], "items": LABEL, "maxItems": 1000000},
        # glassnet's own kinds are checked in full; other kinds (written through the Python API) are free.
        "preprocessing": {
            "type": ["object", "null"],
            "allOf": [
                {
                    "if": {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "table"}}},
                    "then": TABLE_PREPROCESSING,
                },
                {
                    "if": {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "image"}}},
                    "then": IMAGE_PREPROCESSING,
                },
            ],
        },
        "history": {"anyOf": [{"type": "null"}, HISTORY]},
        "metadata": METADATA,
    },
}

_STATE_VALUE: dict = {}  # anything nested: tensors, tagged floats, plain JSON

CHECKPOINT = {
    "type": "object",
    "required": ["format", "format_version", "state"],
    "properties": {
        "format": {"const": "glassnet-checkpoint"},
        "format_version": {"type": "integer", "minimum": 1},
        "state": {
            "type": "object",
            "required": [
                "fingerprint",
                "epoch",
                "position",
                "network",
                "optimizer",
                "rng",
                "noise_rng",
                "history",
                "callbacks",
            ],
            "properties": {
                "fingerprint": {
                    "type": "object",
                    "required": ["data_sha256", "n_samples", "architecture"],
                    "properties": {
                        "data_sha256": {"type": "string"},
                        "n_samples": {"type": "integer"},
                        "batch_size": {"type": "integer"},
                        "architecture": ARCHITECTURE,
                    },
                },
                "epoch": {"type": "integer", "minimum": 0},
                "position": {
                    "anyOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "required": [
                                "order",
                                "next_start",
                                "total_loss",
                                "correct",
                                "steps",
                                "elapsed",
                            ],
                            "properties": {
                                "order": TENSOR,
                                "grad_norm_sums": TENSOR,
                                "next_start": {"type": "integer", "minimum": 0},
                                "total_loss": {"anyOf": [NUMBER, TAGGED_FLOAT]},
                                "correct": {"type": "integer", "minimum": 0},
                                "steps": {"type": "integer", "minimum": 0},
                                "elapsed": {"type": "number"},
                            },
                        },
                    ]
                },
                "network": {"type": "object", "additionalProperties": TENSOR},
                "optimizer": {
                    "type": "object",
                    "required": ["iterations", "lr", "state"],
                    "properties": {
                        "iterations": {"type": "integer", "minimum": 0},
                        "lr": {"type": "number"},
                        "state": {"type": "array", "items": {"type": "object", "additionalProperties": TENSOR}},
                    },
                },
                "rng": {"type": "object", "required": ["bit_generator", "state"]},
                "noise_rng": {"type": "object", "required": ["bit_generator", "state"]},
                "history": HISTORY,
                "callbacks": {"type": "array", "items": {"type": "object"}},
                "callback_types": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


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

    from .modelfile import ModelFileError

    error = best_match(Draft202012Validator(schema).iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(the top level)"
        message = error.message if len(error.message) < 200 else error.message[:200] + "..."
        raise ModelFileError(f"{source} has invalid metadata at {where}: {message}.")
    problem = _lengths_agree(document)
    if problem is not None:
        raise ModelFileError(f"{source} has inconsistent metadata: {problem}.")
