"""Commands that show or convert a saved model: inspect, report, export (predict and evaluate: predict.py)."""

from __future__ import annotations

import argparse

import numpy as np

from .common import check_output, emit_json, load


def parser_for(commands, name, help_text, description, examples):
    return commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# ------------------------------------------------------------------------------------------ inspect
def add_inspect(commands) -> None:
    parser = parser_for(
        commands,
        "inspect",
        "show a saved model's architecture and training facts",
        "Architecture table with parameter counts (like Keras' summary) and training facts.",
        "  glassnet inspect model/model.glassnet\n",
    )
    parser.add_argument("model")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_inspect)


def run_inspect(args) -> int:
    model = load(args.model)
    network, meta, history = model.network, model.metadata or {}, model.history or {}
    facts = {
        "task": model.task,
        "classes": model.classes,
        "glassnet_version": model.glassnet_version,
        "parameters": network.n_parameters,
        "members": len(model.members),
        "cross_fit": meta.get("cross_fit"),
        "estimate": meta.get("data", {}).get("test_source"),
        "input_dim": network.input_dim,
        "output_dim": network.output_dim,
        "layers": [
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "units": layer.output_dim,
                "parameters": sum(p.size for p in layer.parameters()),
            }
            for layer in network.layers
        ],
        "epochs": len(history.get("epochs", [])),
        "best_epoch": history.get("best_epoch"),
        "restored_epoch": history.get("restored_epoch"),
        "overfitting_onset": history.get("overfitting_onset"),
        "test_metrics": {k: v for k, v in (meta.get("test_metrics") or {}).items() if k != "confusion_matrix"},
        "gradient_verdict": meta.get("gradient_verdict"),
        "data": meta.get("data", {}).get("source"),
        "inputs": _inputs(model.preprocessing or {}),
        "training": {k: v for k, v in (meta.get("options") or {}).items() if k in TRAINING_KEYS},
        "headline": (meta.get("headline") or {}).get("metric"),
        "decision": _decision_facts(meta.get("decision")),
    }
    if args.json:
        emit_json(facts)
        return 0
    _print_facts(model, facts)
    return 0


def _print_facts(model, facts: dict) -> None:
    """``inspect``'s text output."""
    meta = model.metadata or {}
    print(model.network.summary())
    if len(model.members) > 1:
        print(f"an ensemble of {len(model.members)} networks like this one: it predicts their mean")
    print(f"task: {model.task or 'unknown'}" + (f"; classes: {model.classes}" if model.classes else ""))
    if facts["epochs"]:
        onset = facts["overfitting_onset"]
        print(
            f"trained {facts['epochs']} epochs on {facts['data']}; "
            + (f"best epoch {facts['best_epoch']}; " if facts["best_epoch"] is not None else "no best epoch kept; ")
            + (f"overfitting from epoch {onset}" if onset else "no overfitting detected")
            + (" (the first member)" if len(model.members) > 1 else "")
        )
    if facts["estimate"]:
        print(f"estimate: {facts['estimate']}")
    label = "out-of-fold" if meta.get("data", {}).get("estimate") == "out of fold" else "test"
    for name, value in facts["test_metrics"].items():
        print(f"{label} {name}: {value:.4f}")
    for name, value in (facts["decision"] or {}).items():
        print(f"{name.replace('_', ' ')}: {value}")
    if facts["gradient_verdict"]:
        print(f"gradients: {facts['gradient_verdict']}")
    if facts["inputs"]:
        print("inputs:")
        for line in facts["inputs"]["description"]:
            print(f"  {line}")
    if facts["training"]:
        print("training: " + ", ".join(f"{k}={v}" for k, v in facts["training"].items()))
    print(f"written by glassnet {model.glassnet_version}")


def _decision_facts(decision: dict | None) -> dict | None:
    """What turns the model's probabilities into its predictions (app/decision.py), as ``inspect`` shows it."""
    if not decision:
        return None
    facts = {"calibration": decision.get("calibration_text") or "none"}
    if decision.get("positive_class") is not None:
        facts["positive_class"] = decision["positive_class"]
        facts["threshold"] = decision.get("threshold_rule") or "the arg-max"
    if decision.get("class_weight"):
        facts["class_weights"] = decision["class_weight"]
    return facts


#: The training options ``inspect`` shows (from the job's recorded options).
TRAINING_KEYS = ("hidden", "activation", "batch_norm", "dropout", "epochs", "batch_size", "optimizer", "lr")
TRAINING_KEYS += ("weight_decay", "schedule", "patience", "folds", "label_smoothing", "seed")


def _inputs(pre: dict) -> dict | None:
    """The columns a table model expects, by kind, and how each is prepared."""
    if pre.get("kind") != "table":
        return None
    from ..tabular import TablePreprocessor

    prepared = TablePreprocessor.from_dict(pre)
    return {
        "numeric": prepared.numeric,
        "dates": list(prepared.dates),
        "categorical": {column: prepared.categories[column] for column in prepared.categorical},
        "dropped": prepared.dropped,
        "description": prepared.describe(),
    }


# ------------------------------------------------------------------------------------------- report
def add_report(commands) -> None:
    parser = parser_for(
        commands,
        "report",
        "re-render report.html from a saved model",
        "Re-render the self-contained HTML report from a model file written by glassnet train.",
        "  glassnet report model/model.glassnet -o report.html\n",
    )
    parser.add_argument("model")
    parser.add_argument("-o", "--output", default="report.html")
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(handler=run_report)


def run_report(args) -> int:
    from ..app.report import render_report
    from ..io.atomic import atomic_write_bytes

    output = check_output(args.output, args.overwrite, "report", inputs=[args.model])
    model = load(args.model)
    atomic_write_bytes(output, render_report(model).encode("utf-8"))
    print(f"wrote {output}")
    return 0


# ------------------------------------------------------------------------------------------- export
def add_export(commands) -> None:
    parser = parser_for(
        commands,
        "export",
        "export a saved model to ONNX",
        "Write the inference network (with numeric standardization when the model has no "
        "categorical columns) as an ONNX graph.",
        "  glassnet export model/model.glassnet --onnx model.onnx\n",
    )
    parser.add_argument("model")
    parser.add_argument("--onnx", required=True, help="ONNX file to write")
    parser.add_argument("--no-fold", action="store_true", help="keep BatchNormalization nodes")
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(handler=run_export)


def run_export(args) -> int:
    from ..io.onnx_export import export_onnx

    output = check_output(args.onnx, args.overwrite, "onnx", inputs=[args.model])
    model = load(args.model)
    pre = model.preprocessing or {}
    mean = scale = None
    note = "the graph takes the preprocessed feature vector"
    plain = not any(pre.get(key) for key in ("categorical", "dates", "indicators", "logs"))
    clip = None
    if pre.get("kind") == "table" and plain:
        mean = np.array([pre["means"][c] for c in pre["numeric"]], dtype=np.float32)
        scale = np.array([pre["scales"][c] for c in pre["numeric"]], dtype=np.float32)
        clip = float(pre.get("clip") or 0) or None
        note = f"the graph scales the {len(pre['numeric'])} numeric columns itself (missing values not imputed)"
    elif pre.get("kind") == "image":
        note = "the graph takes pixels scaled to [0, 1], flattened row by row"
    decision = model.metadata.get("decision") or {}
    calibration = decision.get("calibration")
    export_onnx(
        model.predictor, output, mean=mean, scale=scale, clip=clip, fold_batch_norm=not args.no_fold,
        calibration=calibration,
    )  # fmt: skip
    if len(model.members) > 1:
        note += f"; it averages the {len(model.members)} members' outputs"
    if calibration:
        note += f"; it applies the model's calibration ({calibration['method']} scaling)"
    if decision.get("threshold") is not None:
        note += (
            f"; decide {decision['positive_class']!r} where its probability (output column {decision['positive']}) "
            f"is at least {decision['threshold']:.4f}, the model's threshold"
        )
    print(
        f"wrote {output}: {note}; outputs are "
        + (
            "probabilities"
            if model.task in ("binary", "multiclass", "multilabel")
            else "standardized targets"
            if model.task == "regression"
            else "network outputs"
        )
    )
    return 0
