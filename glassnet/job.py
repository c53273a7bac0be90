"""The main job: data in, a trained deep network, an honest account of it out.

``run_training(options)`` does the work of ``glassnet train`` (and ``glassnet demo``) and returns a
``JobResult``; ``write_outputs`` writes the model file, ``metrics.json`` and ``report.html`` into a
folder atomically. Prediction and evaluation of a saved model on new data live here too, so that
the command line stays a thin layer.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .tabular import DataError, TablePreprocessor, infer_task, read_table

MODEL_FILE, METRICS_FILE, REPORT_FILE = "model.glassnet", "metrics.json", "report.html"


@dataclass
class JobOptions:
    """Everything ``glassnet train`` can be told (defaults are the command's defaults)."""

    data: str
    target: list[str] = field(default_factory=list)
    task: str | None = None
    labels: str | None = None
    test_data: str | None = None
    hidden: tuple[int, ...] = (128, 64)
    activation: str = "relu"
    batch_norm: bool = False
    dropout: float = 0.0
    epochs: int = 100
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str | None = None
    early_stopping: bool = True
    patience: int = 10
    grow: bool = False
    seed: int = 0
    test_fraction: float = 0.2
    validation_fraction: float = 0.15
    image_size: tuple[int, int] | None = None
    image_mode: str | None = None
    delimiter: str | None = None
    checkpoint: str | None = None
    resume: bool = False
    verbose: int = 1
    importance: bool = True
    frame: Any = None  # an in-memory table instead of a file (used by the demo)


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


@dataclass
class JobResult:
    network: Any
    history: Any
    prepared: Prepared
    metrics: dict
    metadata: dict


# ----------------------------------------------------------------------------------------- data
def _labels_to_json(values) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _split(n: int, fraction: float, rng: np.random.Generator, labels: np.ndarray | None):
    from .training.loop import split_validation

    return split_validation(n, fraction, rng, labels)


def load_frame_or_images(path: str, options: JobOptions):
    """("table", DataFrame) or ("images", (x, labels, info))."""
    if options.frame is not None and path == options.data:
        return "table", options.frame.copy()
    source = Path(path)
    if source.is_dir():
        from .images import load_image_folder

        return "images", load_image_folder(source, options.image_size, options.image_mode)
    name = source.name.lower()
    if "idx" in name or name.endswith("ubyte") or name.endswith("ubyte.gz"):
        from .datasets import DatasetError, load_mnist_idx

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
    return "table", read_table(source, options.delimiter)


def prepare(options: JobOptions) -> Prepared:
    """Load, check, split (train/validation/test, stratified for classification) and preprocess."""
    kind, loaded = load_frame_or_images(options.data, options)
    rng = np.random.default_rng(options.seed)
    if kind == "images":
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
        arrays: dict = {}
        description = {
            "kind": "image folder",
            "source": str(options.data),
            "rows": int(len(x)),
            "features": int(x.shape[1]),
            "image_shape": info["image_shape"],
            "mode": info["mode"],
            "preprocessing": [
                "pixels scaled to [0, 1]"
                + (f", resized to {options.image_size[0]}x{options.image_size[1]}" if options.image_size else "")
            ],
        }
        task, sources = "multiclass", features
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
            x, y, x_test, y_test, task, classes, preprocessing, arrays, features, sources, description, options, rng
        )

    frame = loaded
    if frame.empty or len(frame) < 10:
        raise DataError(f"{options.data} has {len(frame)} data rows; at least 10 are needed.")
    if not options.target:
        raise DataError(f"--target is required for tables; columns are: {[str(c) for c in frame.columns][:20]}.")
    frame.columns = [str(c) for c in frame.columns]
    missing = [t for t in options.target if t not in frame.columns]
    if missing:
        raise DataError(f"target column(s) {missing} not found; columns are: {list(frame.columns)[:20]}.")
    dropped_rows = int(frame[options.target].isna().any(axis=1).sum())
    if dropped_rows:
        frame = frame[frame[options.target].notna().all(axis=1)].reset_index(drop=True)
    target = frame[options.target]
    task = options.task
    if task is None:
        kinds = {infer_task(target[c]) for c in options.target}
        task = "classification" if kinds == {"classification"} else "regression"
    if task not in ("classification", "regression"):
        raise DataError(f"--task must be classification or regression; got {task!r}.")
    classes = None
    arrays = {}
    if task == "classification":
        if len(options.target) > 1:
            values = target.to_numpy()
            if not set(np.unique(values.astype(float))) <= {0.0, 1.0}:
                raise DataError(
                    "several classification targets must each be 0/1 (multilabel); "
                    "train one model per target otherwise."
                )
            y = values.astype(np.float32)
            classes = list(options.target)
            task = "multilabel"
        else:
            column = target[options.target[0]]
            classes = sorted(column.unique().tolist(), key=lambda v: (str(type(v)), v))
            if len(classes) < 2:
                raise DataError(
                    f"target {options.target[0]!r} has a single class ({classes[0]!r}); "
                    "classification needs at least two."
                )
            lookup = {value: index for index, value in enumerate(classes)}
            y = column.map(lookup).to_numpy().astype(np.int64)
            task = "binary" if len(classes) == 2 else "multiclass"
    else:
        import pandas as pd

        try:
            y = target.apply(pd.to_numeric).to_numpy(dtype=np.float64)
        except (ValueError, TypeError):
            raise DataError(f"regression target(s) {options.target} must be numeric.") from None
    features_frame = frame.drop(columns=options.target)
    TablePreprocessor.validate(features_frame)
    # Split before fitting the preprocessing, so that it sees the training rows only.
    labels_for_split = y if task in ("binary", "multiclass") else None
    if options.test_data:
        train_idx, test_idx = np.arange(len(frame)), None
    else:
        train_idx, test_idx = _split(len(frame), options.test_fraction, rng, labels_for_split)
    pre = TablePreprocessor.fit(features_frame.iloc[train_idx])
    x = pre.transform(features_frame)
    if options.test_data:
        test_frame = read_table(options.test_data, options.delimiter)
        test_frame.columns = [str(c) for c in test_frame.columns]
        absent = [t for t in options.target if t not in test_frame.columns]
        if absent:
            raise DataError(f"--test-data lacks the target column(s) {absent}.")
        test_frame = test_frame[test_frame[options.target].notna().all(axis=1)]
        x_test = pre.transform(test_frame.drop(columns=options.target))
        if task in ("binary", "multiclass"):
            lookup = {value: index for index, value in enumerate(classes)}
            mapped = test_frame[options.target[0]].map(lookup)
            if mapped.isna().any():
                raise DataError(
                    f"--test-data holds classes not seen in training: "
                    f"{sorted(set(test_frame[options.target[0]][mapped.isna()].astype(str)))[:5]}."
                )
            y_test = mapped.to_numpy().astype(np.int64)
        else:
            y_test = test_frame[options.target].to_numpy().astype(y.dtype)
    else:
        x_test, y_test = x[test_idx], y[test_idx]
    x_rest, y_rest = x[train_idx], y[train_idx]
    preprocessing = {**pre.to_dict(), "target": list(options.target)}
    if task == "regression":
        y_mean, y_scale = y_rest.mean(axis=0), y_rest.std(axis=0)
        y_scale = np.where(y_scale > 0, y_scale, 1.0)
        arrays = {"target_mean": y_mean.astype(np.float64), "target_scale": y_scale.astype(np.float64)}
    description = {
        "kind": "table",
        "source": str(options.data),
        "rows": int(len(frame) + dropped_rows),
        "columns": int(frame.shape[1]),
        "features": int(x.shape[1]),
        "target": list(options.target),
        "rows_dropped_missing_target": dropped_rows,
        "preprocessing": pre.describe(),
    }
    return _finish_split(
        x_rest,
        y_rest,
        x_test,
        y_test,
        task,
        classes,
        preprocessing,
        arrays,
        pre.feature_names,
        pre.source_columns(),
        description,
        options,
        rng,
    )


def _finish_split(
    x, y, x_test, y_test, task, classes, preprocessing, arrays, features, sources, description, options, rng
) -> Prepared:
    stratify = y if task in ("binary", "multiclass") else None
    if x_test is None:
        train_idx, test_idx = _split(len(x), options.test_fraction, rng, stratify)
        x, y, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]
        stratify = y if stratify is not None else None
    train_idx, val_idx = _split(len(x), options.validation_fraction, rng, stratify)
    if options.test_data:
        test_source = options.test_data
    else:
        test_source = "held out (seeded, stratified)" if stratify is not None else "held out (seeded)"
    description = {
        **description,
        "task": task,
        "classes": None if classes is None else _labels_to_json(classes),
        "train_rows": int(len(train_idx)),
        "validation_rows": int(len(val_idx)),
        "test_rows": int(len(x_test)),
        "test_source": test_source,
    }
    return Prepared(
        x[train_idx],
        y[train_idx],
        x[val_idx],
        y[val_idx],
        x_test,
        y_test,
        task,
        None if classes is None else _labels_to_json(classes),
        preprocessing,
        arrays,
        features,
        sources,
        description,
    )


# --------------------------------------------------------------------------------------- training
def _targets_for_network(prepared: Prepared, y: np.ndarray) -> np.ndarray:
    if prepared.task == "regression":
        y2 = y.reshape(len(y), -1)
        return (
            (y2 - prepared.preprocessing_arrays["target_mean"]) / prepared.preprocessing_arrays["target_scale"]
        ).astype(np.float32)
    return y


def output_spec(task: str, n_outputs: int) -> tuple[int, str]:
    if task in ("binary", "multiclass"):
        return n_outputs, "softmax"
    if task == "multilabel":
        return n_outputs, "sigmoid"
    return n_outputs, "linear"


def run_training(options: JobOptions, log=print) -> JobResult:
    """Prepare the data, train (or grow) the network, evaluate it and gather the account."""
    from . import EarlyStopping, mlp
    from .diagnostics import gradient_verdict, linear_block_report
    from .training.loop import Trainer

    started = time.perf_counter()
    prepared = prepare(options)
    n_outputs = (
        len(prepared.classes)
        if prepared.task in ("binary", "multiclass", "multilabel")
        else prepared.y_train.reshape(len(prepared.y_train), -1).shape[1]
    )
    output_dim, output_activation = output_spec(prepared.task, n_outputs)
    y_train = _targets_for_network(prepared, prepared.y_train)
    y_val = _targets_for_network(prepared, prepared.y_val)
    log(
        f"data: {prepared.description['rows']} rows → {prepared.x_train.shape[1]} features; task {prepared.task}; "
        f"{len(prepared.x_train)} train / {len(prepared.x_val)} validation / {len(prepared.x_test)} test"
    )
    for line in prepared.description.get("preprocessing", []):
        log(f"  {line}")
    if prepared.description.get("rows_dropped_missing_target"):
        log(f"  dropped {prepared.description['rows_dropped_missing_target']} row(s) with a missing target")
    growth = None
    if options.grow:
        from .training.grow import grow

        if prepared.task == "multilabel":
            raise DataError("--grow supports classification and regression targets, not multilabel.")
        log("growing: start small, widen or deepen while validation improves ...")
        growth = grow(
            prepared.x_train,
            y_train,
            task="classification" if prepared.task in ("binary", "multiclass") else "regression",
            validation_data=(prepared.x_val, y_val),
            activation=options.activation,
            batch_norm=options.batch_norm,
            dropout=options.dropout,
            epochs=options.epochs,
            batch_size=options.batch_size,
            patience=options.patience,
            lr=options.lr,
            seed=options.seed,
        )
        network, history = growth.network, growth.history
        log(growth.summary())
    else:
        network = mlp(
            list(options.hidden),
            output_dim,
            activation=options.activation,
            output_activation=output_activation,
            batch_norm=options.batch_norm,
            dropout=options.dropout,
            input_dim=prepared.x_train.shape[1],
            seed=options.seed,
        )
        log(network.summary())
        callbacks = [EarlyStopping(patience=options.patience)] if options.early_stopping else []
        if options.schedule == "cosine":
            from .training.callbacks import CosineDecay

            callbacks.append(CosineDecay(options.epochs))
        elif options.schedule == "plateau":
            from .training.callbacks import ReduceLROnPlateau

            callbacks.append(ReduceLROnPlateau(patience=max(2, options.patience // 3), factor=0.3))
        elif options.schedule is not None:
            raise DataError(f"--schedule must be cosine or plateau; got {options.schedule!r}.")
        optimizer = options.optimizer
        if optimizer == "sgd":
            from .optim import SGD

            optimizer = SGD(
                network.parameters(),
                lr=options.lr or 0.01,
                momentum=options.momentum,
                nesterov=options.momentum > 0,
                weight_decay=options.weight_decay,
            )
        trainer = Trainer(
            network,
            prepared.x_train,
            y_train,
            optimizer=optimizer,
            lr=options.lr,
            epochs=options.epochs,
            batch_size=options.batch_size,
            validation_data=(prepared.x_val, y_val),
            callbacks=callbacks,
            seed=options.seed,
            verbose=options.verbose,
            weight_decay=options.weight_decay,
            checkpoint=options.checkpoint,
            resume=options.resume,
        )
        history = trainer.run()
        if history.interrupted:
            from .exceptions import TrainingInterrupted

            raise TrainingInterrupted(history.interrupt_message, history.interrupt_checkpoint)
    train_seconds = time.perf_counter() - started
    verdict = gradient_verdict(history, network)
    metrics = evaluate_network(network, prepared, prepared.x_test, prepared.y_test)
    baselines = run_baselines(prepared)
    importance = compute_importance(network, prepared) if options.importance else None
    metadata = {
        "data": prepared.description,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.__dict__.items() if k != "frame"},
        "test_metrics": metrics,
        "validation_metrics": evaluate_network(network, prepared, prepared.x_val, prepared.y_val),
        "baselines": baselines,
        "overfitting": history.summary(),
        "overfitting_onset": history.overfitting_onset,
        "gradient_verdict": verdict.summary(),
        "vanishing": verdict.vanishing,
        "exploding": verdict.exploding,
        "linear_blocks": [block.statement() for block in linear_block_report(network) if block.redundant],
        "importance": importance,
        "train_seconds": train_seconds,
        "growth_trail": None if growth is None else [{**row, "hidden": list(row["hidden"])} for row in growth.trail],
        "test_sample": sample_predictions(network, prepared),
    }
    return JobResult(network, history, prepared, metrics, metadata)


def predict_outputs(network, task: str, x: np.ndarray, arrays: dict) -> np.ndarray:
    """Probabilities (classification) or targets in original units (regression)."""
    outputs = network.predict(x).astype(np.float64)
    if task == "regression":
        outputs = outputs * arrays["target_scale"] + arrays["target_mean"]
    return outputs


def evaluate_network(network, prepared_or_task, x, y, arrays=None, classes=None) -> dict:
    """Test metrics: accuracy, balanced accuracy, log loss (+ confusion matrix) or RMSE, MAE, R²."""
    from .training.metrics import accuracy, balanced_accuracy, regression_metrics

    if isinstance(prepared_or_task, Prepared):
        task, arrays, classes = prepared_or_task.task, prepared_or_task.preprocessing_arrays, prepared_or_task.classes
    else:
        task = prepared_or_task
    outputs = predict_outputs(network, task, x, arrays or {})
    if task in ("binary", "multiclass"):
        predicted = outputs.argmax(axis=1)
        probability = np.clip(outputs[np.arange(len(y)), y], 1e-15, 1.0)
        matrix = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(matrix, (y, predicted), 1)
        return {
            "accuracy": accuracy(y, predicted),
            "balanced_accuracy": balanced_accuracy(y, predicted),
            "log_loss": float(-np.mean(np.log(probability))),
            "confusion_matrix": matrix.tolist(),
        }
    if task == "multilabel":
        predicted = outputs > 0.5
        truth = y > 0.5
        return {
            "subset_accuracy": float(np.mean(np.all(predicted == truth, axis=1))),
            "label_accuracy": float(np.mean(predicted == truth)),
        }
    return regression_metrics(y.reshape(outputs.shape), outputs)


def headline_metric(task: str) -> str:
    """The one metric a task is judged by: accuracy, subset accuracy (multilabel) or R²."""
    if task in ("binary", "multiclass"):
        return "accuracy"
    return "subset_accuracy" if task == "multilabel" else "r2"


def headline(task: str, metrics: dict) -> tuple[str, float]:
    name = headline_metric(task)
    return name, metrics[name]


def run_baselines(prepared: Prepared) -> dict:
    """Classical models on the same split and features: a linear model and gradient boosting."""
    import warnings

    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import accuracy_score, mean_squared_error, r2_score
    from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor

    x_train = np.vstack([prepared.x_train, prepared.x_val])
    y_train = (
        np.concatenate([prepared.y_train, prepared.y_val])
        if prepared.y_train.ndim == 1
        else np.vstack([prepared.y_train, prepared.y_val])
    )
    if prepared.task in ("binary", "multiclass"):
        models = {
            "logistic regression": LogisticRegression(max_iter=2000),
            "gradient boosting": HistGradientBoostingClassifier(random_state=0),
        }
    elif prepared.task == "multilabel":
        models = {
            "logistic regression": MultiOutputClassifier(LogisticRegression(max_iter=2000)),
            "gradient boosting": MultiOutputClassifier(HistGradientBoostingClassifier(random_state=0)),
        }
    else:
        multi = y_train.ndim == 2 and y_train.shape[1] > 1
        models = {
            "linear regression": LinearRegression(),
            "gradient boosting": MultiOutputRegressor(HistGradientBoostingRegressor(random_state=0))
            if multi
            else HistGradientBoostingRegressor(random_state=0),
        }
        if not multi:
            y_train = y_train.ravel()
    results = {}
    for name, model in models.items():
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x_train, y_train)
            predicted = model.predict(prepared.x_test)
        seconds = time.perf_counter() - started
        if prepared.task in ("binary", "multiclass"):
            results[name] = {"accuracy": float(accuracy_score(prepared.y_test, predicted)), "seconds": seconds}
        elif prepared.task == "multilabel":
            results[name] = {
                "subset_accuracy": float(np.mean(np.all(predicted == (prepared.y_test > 0.5), axis=1))),
                "seconds": seconds,
            }
        else:
            truth = prepared.y_test.reshape(len(prepared.y_test), -1)
            predicted = np.asarray(predicted).reshape(truth.shape)
            results[name] = {
                "r2": float(r2_score(truth, predicted)),
                "rmse": float(np.sqrt(mean_squared_error(truth, predicted))),
                "seconds": seconds,
            }
    return results


def compute_importance(network, prepared: Prepared, max_rows: int = 2000) -> dict | None:
    """Feature importance on validation rows: permutation (by source column), saliency and IG."""
    import warnings

    from .diagnostics import permutation_importance, saliency
    from .diagnostics.attribution import CompletenessWarning, explain_integrated_gradients
    from .training.metrics import pooled_r2

    def attributions(rows, baseline):
        with warnings.catch_warnings():  # the gap is reported in the importance section instead
            warnings.simplefilter("ignore", CompletenessWarning)
            return explain_integrated_gradients(network, rows, baseline=baseline, steps=16, max_steps=256)

    x = prepared.x_val[:max_rows]
    y = _targets_for_network(prepared, prepared.y_val[:max_rows])
    if len(x) < 2:
        return None
    if prepared.preprocessing.get("kind") == "image":
        rows = prepared.x_test[:200]
        explained = attributions(rows, "zeros")
        return {
            "kind": "image",
            "image_shape": prepared.preprocessing["image_shape"],
            "saliency": np.abs(saliency(network, rows)).mean(axis=0).tolist(),
            "integrated_gradients": np.abs(explained.attributions).mean(axis=0).tolist(),
            "completeness": explained.describe(),
        }
    sources = prepared.source_columns
    columns = list(dict.fromkeys(sources))
    saliency_values = np.abs(saliency(network, x)).mean(axis=0)
    explained = attributions(x, "mean")
    ig_values = np.abs(explained.attributions).mean(axis=0)
    groups = {c: [i for i, s in enumerate(sources) if s == c] for c in columns}

    def score(truth, outputs):
        if prepared.task in ("binary", "multiclass"):
            return float(np.mean(outputs.argmax(axis=1) == truth))
        if prepared.task == "multilabel":
            return float(np.mean((outputs > 0.5) == (truth > 0.5)))
        return pooled_r2(truth, outputs)

    drops, _ = permutation_importance(
        network, x, y, score=score, n_repeats=3, seed=0, groups=[groups[c] for c in columns]
    )
    permutation = {column: float(drop) for column, drop in zip(columns, drops)}
    table = [
        {
            "feature": c,
            "permutation": permutation[c],
            "saliency": float(saliency_values[groups[c]].sum()),
            "integrated_gradients": float(ig_values[groups[c]].sum()),
        }
        for c in columns
    ]
    table.sort(key=lambda row: -row["permutation"])
    return {"kind": "table", "rows": table, "completeness": explained.describe()}


def sample_predictions(network, prepared: Prepared, limit: int = 2000) -> dict:
    """Test truths and predictions kept for the report's residual plot (regression)."""
    if prepared.task != "regression":
        return {}
    outputs = predict_outputs(network, prepared.task, prepared.x_test[:limit], prepared.preprocessing_arrays)
    truth = prepared.y_test[:limit].reshape(outputs.shape)
    return {"truth": truth[:, 0].tolist(), "prediction": outputs[:, 0].tolist()}


# ---------------------------------------------------------------------------------------- outputs
def metrics_document(result: JobResult) -> dict:
    meta = result.metadata
    return {
        "task": result.prepared.task,
        "test": result.metrics,
        "validation": meta["validation_metrics"],
        "baselines": meta["baselines"],
        "overfitting_onset": meta["overfitting_onset"],
        "overfitting": meta["overfitting"],
        "gradient_verdict": meta["gradient_verdict"],
        "epochs": len(result.history),
        "best_epoch": result.history.best_epoch,
        "train_seconds": meta["train_seconds"],
        "parameters": result.network.n_parameters,
        "architecture": [f"{type(layer).__name__}({layer.output_dim})" for layer in result.network.layers],
        "data": result.prepared.description,
    }


#: Every name glassnet writes into an output folder; ``--overwrite`` replaces a folder holding only these.
DEMO_MARKER = ".glassnet-demo"
OUTPUT_NAMES = (MODEL_FILE, METRICS_FILE, REPORT_FILE, DEMO_MARKER)


def check_output_dir(out: Path, overwrite: bool, inputs=()) -> None:
    """Refuse an output folder that cannot be used, before any work (see glassnet.io.outputs)."""
    from .io.outputs import check_output_folder

    check_output_folder(out, overwrite=overwrite, known=OUTPUT_NAMES, inputs=inputs)


def write_outputs(result: JobResult, out: Path, overwrite: bool, extra_files: dict[str, str] | None = None) -> Path:
    """Write model, metrics.json and report.html to a temporary folder, then move it into place.

    An existing folder is replaced only when it holds nothing but glassnet's outputs (checked
    again here, right before the swap); ``extra_files`` (name → text) are written with them.
    """
    from .io.atomic import PARTIAL_SUFFIX, current_umask, fsync_folder, partial_prefix, remove_stale_partials
    from .io.modelfile import jsonable, load_model, save_model
    from .report import render_report

    check_output_dir(out, overwrite)
    parent = out.parent if str(out.parent) else Path(".")
    remove_stale_partials(out)
    staging = Path(tempfile.mkdtemp(prefix=partial_prefix(out), suffix=PARTIAL_SUFFIX, dir=parent))
    backup = None
    try:
        os.chmod(staging, 0o777 & ~current_umask())
        save_model(
            result.network,
            staging / MODEL_FILE,
            task=result.prepared.task,
            classes=result.prepared.classes,
            preprocessing=result.prepared.preprocessing,
            preprocessing_arrays=result.prepared.preprocessing_arrays,
            history=result.history,
            metadata=result.metadata,
        )
        (staging / METRICS_FILE).write_text(json.dumps(jsonable(metrics_document(result)), indent=2))
        (staging / REPORT_FILE).write_text(render_report(load_model(staging / MODEL_FILE)), encoding="utf-8")
        for name, text in (extra_files or {}).items():
            if name not in OUTPUT_NAMES:
                raise ValueError(f"{name!r} is not one of glassnet's output names {OUTPUT_NAMES}.")
            (staging / name).write_text(text, encoding="utf-8")
        if out.exists():
            check_output_dir(out, overwrite)  # the user may have added files while training ran
            backup = Path(tempfile.mkdtemp(prefix=partial_prefix(out), suffix=PARTIAL_SUFFIX, dir=parent))
            os.rmdir(backup)
            os.replace(out, backup)
        os.replace(staging, out)
        fsync_folder(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if backup is not None and backup.exists() and not out.exists():
            os.replace(backup, out)  # put the previous outputs back
        raise
    if backup is not None:
        for name in OUTPUT_NAMES:  # only glassnet's own files, then the (now empty) folder
            (backup / name).unlink(missing_ok=True)
        try:
            backup.rmdir()
        except OSError:
            pass
    return out


# --------------------------------------------------------------------------- using a saved model
def features_for_model(model, data: str, options: JobOptions | None = None, require_target: bool = False):
    """(x, y or None, row labels) for a saved model's preprocessing, from a file or image folder."""
    pre = model.preprocessing or {}
    options = options or JobOptions(data=data)
    if pre.get("kind") == "image":
        from .images import load_image_folder

        source = Path(data)
        if not source.is_dir():
            raise DataError(f"this model takes an image folder; {data} is not a folder.")
        size = pre.get("size")
        shape = pre["image_shape"]
        has_classes = any(p.is_dir() for p in source.iterdir())
        if has_classes:
            x, labels, _ = load_image_folder(source, tuple(size) if size else (shape[1], shape[0]), pre["mode"])
            names = [str(i) for i in range(len(x))]
        else:
            # A flat folder of images to predict, prepared exactly as the training images were.
            from .images import IMAGE_SUFFIXES, image_pixels, open_image

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
    frame = read_table(data, options.delimiter)
    frame.columns = [str(c) for c in frame.columns]
    pre_table = TablePreprocessor.from_dict(pre)
    targets = pre.get("target") or []
    has_target = all(t in frame.columns for t in targets) and targets
    if require_target and not has_target:
        raise DataError(f"evaluation needs the target column(s) {targets} in {data}.")
    y = None
    if has_target:
        frame = frame[frame[targets].notna().all(axis=1)].reset_index(drop=True)
        if model.task in ("binary", "multiclass"):
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
