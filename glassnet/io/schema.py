"""JSON schemas of the metadata in model files and checkpoints, checked before any of it is used.

A file's digest proves only that it was not changed after it was written, not who wrote it: any
file that passes the digest is still validated here, as a whole, against the structure glassnet
writes. A mismatch is a :class:`~glassnet.io.modelfile.ModelFileError` naming where it is.
"""

from __future__ import annotations

# null: a non-finite float (JSON has none), read back as NaN; files written before glassnet 0.5 stored
# non-finite floats as the strings "inf", "-inf" and "nan", which are read back as floats too.
NUMBER = {"anyOf": [{"type": ["number", "null"]}, {"enum": ["inf", "-inf", "nan"]}]}
COUNT = {"type": "integer", "minimum": 0}
NUMBERS = {"type": "array", "items": NUMBER}
OPTIONAL_INT = {"type": ["integer", "null"]}
STRINGS = {"type": "array", "items": {"type": "string"}}
LABEL = {"type": ["string", "number", "boolean", "null"]}
FINITE = {"type": "number"}
FINITES = {"type": "array", "items": FINITE}
#: A 95 % interval of a metric (app/scoring.py, app/interval.py).
INTERVAL = {
    "type": "object",
    "required": ["low", "high", "method"],
    "properties": {"low": FINITE, "high": FINITE, "method": {"type": "string"}, "rows": COUNT},
}
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
        # Which types exist is the layers' registry's to say (glassnet.layers.layer_types; io/rebuild.py
        # refuses others by name): here only their form.
        "type": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,63}$"},
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
        "rule": {"enum": ["dead", "saturated", None]},  # Activation.unit_rule (files before 0.7: none)
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
        "time_limited_epoch": OPTIONAL_INT,
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
        "dates": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["median", "scale"],
                "properties": {"median": {"type": "number"}, "scale": {"type": "number", "exclusiveMinimum": 0}},
            },
        },
        "scaling": {"enum": ["standard", "robust"]},
        "clip": {"type": "number", "minimum": 0},
        "indicators": STRINGS,
        "logs": STRINGS,
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
                "properties": {
                    "seconds": {"type": "number"},
                    "iterations": {"type": "number"},
                    "budget_stopped": {"type": "boolean"},
                },
            },
        },
        "overfitting": {"type": "string"},
        "overfitting_onset": OPTIONAL_INT,
        "gradient_verdict": {"type": "string"},
        "vanishing": {"type": "boolean"},
        "exploding": {"type": "boolean"},
        "linear_blocks": STRINGS,
        "warnings": STRINGS,
        "phases": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "options_not_applied": {"type": "object", "additionalProperties": {"type": "string"}},
        "time_limit": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["seconds", "used", "cut"],
                    "properties": {"seconds": NUMBER, "used": NUMBER, "cut": STRINGS},
                },
            ]
        },
        "cross_fit": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["folds", "rows", "members"],
                    "properties": {
                        "folds": {"type": "integer", "minimum": 2},
                        "rows": COUNT,
                        "members": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["fold", "training_rows", "validation_rows", "epochs", "best_epoch"],
                                "properties": {
                                    "fold": COUNT,
                                    "training_rows": COUNT,
                                    "validation_rows": COUNT,
                                    "epochs": COUNT,
                                    "best_epoch": OPTIONAL_INT,
                                },
                            },
                        },
                    },
                },
            ]
        },
        "headline": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["metric"],
                    "properties": {"metric": {"type": "string"}, "why": {"type": "string"}},
                },
            ]
        },
        "test_intervals": {
            "anyOf": [
                {"type": "null"},
                {"type": "object", "additionalProperties": INTERVAL},
            ]
        },
        "per_class": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["precision", "recall", "f1", "support"],
                        "properties": {
                            "precision": FINITE,
                            "recall": FINITE,
                            "f1": FINITE,
                            "support": COUNT,
                        },
                    },
                },
            ]
        },
        "curves": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "roc": {
                                "type": "object",
                                "required": ["fpr", "tpr", "threshold"],
                                "properties": {"fpr": FINITES, "tpr": FINITES, "threshold": FINITES},
                            },
                            "pr": {
                                "type": "object",
                                "required": ["recall", "precision", "threshold"],
                                "properties": {"recall": FINITES, "precision": FINITES, "threshold": FINITES},
                            },
                            "calibration": {
                                "type": "object",
                                "required": ["predicted", "observed"],
                                "properties": {"predicted": FINITES, "observed": FINITES},
                            },
                            "prevalence": FINITE,
                        },
                    },
                },
            ]
        },
        "decision": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "positive": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 0, "maximum": 1}]},
                        "threshold": {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0, "maximum": 1}]},
                        "calibration": {
                            "anyOf": [
                                {"type": "null"},
                                {
                                    "type": "object",
                                    "required": ["method", "temperature"],
                                    "properties": {
                                        "method": {"const": "temperature"},
                                        "temperature": {"type": "number", "exclusiveMinimum": 0},
                                    },
                                },
                                {
                                    "type": "object",
                                    "required": ["method", "slope", "intercept", "positive"],
                                    "properties": {
                                        "method": {"const": "platt"},
                                        "slope": {"type": "number"},
                                        "intercept": {"type": "number"},
                                        "positive": {"type": "integer", "minimum": 0, "maximum": 1},
                                    },
                                },
                            ]
                        },
                    },
                },
            ]
        },
        "test_interval": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["low", "high", "method", "rows"],
                    "properties": {"low": NUMBER, "high": NUMBER, "method": {"type": "string"}, "rows": COUNT},
                },
            ]
        },
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
                                    "encoded_columns": COUNT,
                                    "permutation": NUMBER,
                                    "permutation_std": NUMBER,
                                    "permuted": {"type": "boolean"},  # files before 0.7: every column was
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
                        "permuted_columns": COUNT,  # files before 0.7: every column was shuffled
                        "evaluated_rows": COUNT,
                        "repeats": COUNT,
                        "permutation_score": {"type": "string"},
                    },
                },
            ]
        },
        "train_seconds": {"type": "number"},
        "refit": {
            "anyOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["rows", "epochs"],
                    "properties": {
                        "rows": COUNT,
                        "epochs": COUNT,
                        "diverged": {"type": "boolean"},
                        "time_limited_epoch": OPTIONAL_INT,
                    },
                },
            ]
        },
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
        "members": {"type": "integer", "minimum": 1, "maximum": 1000},
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
