"""Commands that run a saved model on new data: predict and evaluate."""

from __future__ import annotations

import numpy as np

from ..io.tables import CHUNK_ROWS
from .common import check_output, emit_json, load, positive_int
from .models import parser_for


# ------------------------------------------------------------------------------------------ predict
def add_predict(commands) -> None:
    parser = parser_for(
        commands,
        "predict",
        "predict with a saved model",
        "Write predictions for new data as CSV.",
        "  glassnet predict model/model.glassnet new.csv -o predictions.csv\n"
        "  glassnet predict model/model.glassnet photos/ -o labels.csv --proba\n",
    )
    parser.add_argument("model")
    parser.add_argument(
        "data",
        help="a table (target column optional; CSV, Excel .xlsx, Parquet, npz or a folder of Parquet files) or an "
        "image folder",
    )
    parser.add_argument("-o", "--output", required=True, help="CSV file to write")
    parser.add_argument("--proba", action="store_true", help="also write class probabilities")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="also write how much an ensemble's members disagree (regression: their standard deviation; "
        "classes: the fraction of members choosing another class)",
    )
    parser.add_argument(
        "--id-column",
        help="the table's column that identifies rows, written first (default: the column training dropped "
        "as ID-like, when present; else the row number)",
    )
    _add_data_arguments(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(handler=run_predict)


def _add_data_arguments(parser) -> None:
    """How new data is read and checked (predict and evaluate)."""
    parser.add_argument("--delimiter", help="CSV delimiter (sniffed by default)")
    parser.add_argument("--encoding", help="the CSV's text encoding, e.g. latin-1 (default UTF-8)")
    parser.add_argument("--sheet", help="the Excel workbook's sheet to read, by name or number from 1 (default: 1)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when the data differs from the training data (unseen categories, columns the model does "
        "not use, numbers or dates that cannot be read, numbers far from the training rows') instead of saying so "
        "and going on",
    )
    parser.add_argument(
        "--chunk-rows",
        type=positive_int,
        default=CHUNK_ROWS,
        metavar="N",
        help=f"read and predict a table N rows at a time, so memory holds one chunk (default {CHUNK_ROWS:,})",
    )


def _stream(model, args, require_target: bool = False):
    """The data for ``model`` as the arguments say, in chunks of ``--chunk-rows`` rows."""
    from ..app.saved import stream_for_model

    return stream_for_model(
        model,
        args.data,
        args.delimiter,
        require_target,
        encoding=args.encoding,
        sheet=args.sheet,
        id_column=getattr(args, "id_column", None),
        strict=args.strict,
        chunk_rows=args.chunk_rows,
    )


def _say_notes(notes: list[str]) -> None:
    import sys

    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def run_predict(args) -> int:
    from ..io.atomic import atomic_writer
    from . import UsageError

    output = check_output(args.output, args.overwrite, "predictions", inputs=[args.model, args.data])
    model = load(args.model)
    if args.spread and len(model.members) < 2:
        raise UsageError(
            f"--spread needs an ensemble; {args.model} holds a single network (train with --folds 2 or more)."
        )
    stream = _stream(model, args)
    rows, id_name = 0, "row"
    with atomic_writer(output) as out:  # renamed into place only when every chunk is written
        for new in stream:
            frame = _prediction_frame(model, new, args)
            frame.to_csv(out, index=False, header=out.tell() == 0)  # the header once, before the first rows
            rows, id_name = rows + len(frame), new.id_name
    _say_notes(stream.notes)
    if args.json:
        emit_json({"rows": rows, "output": str(output), "identifiers": id_name, "notes": stream.notes})
    else:
        print(f"wrote {rows} predictions to {output} (rows identified by {id_name!r})")
    return 0


def _prediction_frame(model, new, args):
    """One chunk's predictions: the identifiers, then the prediction columns."""
    import pandas as pd

    from ..app.tasks import predict_outputs, predicted_labels

    decision = model.metadata.get("decision")  # calibration and threshold, when training chose them
    outputs = predict_outputs(model.predictor, model.task, new.x, model.preprocessing_arrays, decision)
    frame = pd.DataFrame({new.id_name: new.ids})
    if model.task in ("binary", "multiclass"):
        frame["prediction"] = [model.classes[i] for i in predicted_labels(model.task, outputs, decision)]
        if args.proba:
            for i, label in enumerate(model.classes):
                frame[f"proba_{label}"] = outputs[:, i]
    elif model.task == "multilabel":
        for i, label in enumerate(model.classes):
            frame[f"predicted_{label}"] = (outputs[:, i] > 0.5).astype(int)
            if args.proba:
                frame[f"proba_{label}"] = outputs[:, i]
    else:
        targets = (model.preprocessing or {}).get("target") or [f"y{i}" for i in range(outputs.shape[1])]
        for i, name in enumerate(targets):
            frame[f"predicted_{name}"] = outputs[:, i]
    if args.spread:
        _add_spread(frame, model, new.x)
    return frame


def _add_spread(frame, model, x) -> None:
    """The members' disagreement per row: one column per target (regression), else one."""
    from ..ensemble import Ensemble

    members = model.predictor.member_predictions(x).astype(np.float64)
    if model.task == "regression":
        spread = Ensemble.spread(members, classes=False) * model.preprocessing_arrays["target_scale"]
        targets = (model.preprocessing or {}).get("target") or [f"y{i}" for i in range(spread.shape[1])]
        for i, name in enumerate(targets):
            frame[f"spread_{name}"] = spread[:, i]
    elif model.task == "multilabel":
        frame["spread"] = Ensemble.spread(members, classes="labels")
    else:
        frame["spread"] = Ensemble.spread(members, classes=True)


# ----------------------------------------------------------------------------------------- evaluate
def add_evaluate(commands) -> None:
    parser = parser_for(
        commands,
        "evaluate",
        "evaluate a saved model on labelled data",
        "Print test metrics of a saved model on data that includes the target.",
        "  glassnet evaluate model/model.glassnet test.csv\n  glassnet evaluate model/model.glassnet test.csv --json\n",
    )
    parser.add_argument("model")
    parser.add_argument("data")
    _add_data_arguments(parser)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args) -> int:
    from ..app.tasks import metrics_of_outputs, predict_outputs

    model = load(args.model)
    stream = _stream(model, args, require_target=True)
    outputs, targets = [], []  # the chunks' predictions and truths: memory grows with rows × outputs only
    decision = model.metadata.get("decision")  # calibration and threshold, when training chose them
    for new in stream:
        if len(new.x):  # a chunk whose every target is blank scores nothing
            outputs.append(predict_outputs(model.predictor, model.task, new.x, model.preprocessing_arrays, decision))
            targets.append(new.y)
    rows = sum(len(chunk) for chunk in outputs)
    if rows == 0:
        from ..exceptions import DataError

        raise DataError(
            f"no row of {args.data} has a target value to score against; `predict` scores rows without one."
        )
    outputs, truth = np.concatenate(outputs), np.concatenate(targets)
    metrics = metrics_of_outputs(model.task, outputs, truth, model.classes, decision)
    intervals = {}
    if model.task in ("binary", "multiclass"):
        from ..app.scoring import metric_intervals

        decision = decision or {}
        intervals = metric_intervals(outputs, truth, metrics, decision.get("positive"), decision.get("threshold"))
    _say_notes(stream.notes)
    if args.json:
        emit_json({"task": model.task, "rows": int(rows), **metrics, "intervals": intervals, "notes": stream.notes})
        return 0
    print(f"{model.task} on {rows} rows of {args.data}:")
    for name, value in metrics.items():
        if name != "confusion_matrix":
            span = intervals.get(name)
            around = f"  (95 % interval {span['low']:.4f}–{span['high']:.4f})" if span else ""
            print(f"  {name}: {value:.4f}{around}")
    if "confusion_matrix" in metrics:
        print(class_table(np.asarray(metrics["confusion_matrix"]), model.classes))
    return 0


def class_table(matrix: np.ndarray, classes: list) -> str:
    """Per-class precision, recall and support, then the confusion matrix (rows: true classes)."""
    names = [str(c) for c in classes]
    width = max(8, *(len(n) for n in names)) + 2
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    diagonal = np.diag(matrix)
    lines = ["", f"{'class':<{width}}{'precision':>10}{'recall':>10}{'support':>10}"]
    for i, name in enumerate(names):
        precision = f"{diagonal[i] / predicted[i]:.3f}" if predicted[i] else "–"
        recall = f"{diagonal[i] / support[i]:.3f}" if support[i] else "–"
        lines.append(f"{name:<{width}}{precision:>10}{recall:>10}{support[i]:>10}")
    never = [names[i] for i in range(len(names)) if support[i] and not diagonal[i]]
    if never:
        lines.append(f"never predicted right: {', '.join(never)} (a rare class? see the report's confusion matrix)")
    cell = max(6, len(str(matrix.max())) + 2, *(len(n) + 1 for n in names))
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(" " * width + "".join(f"{n:>{cell}}" for n in names))
    for i, name in enumerate(names):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>{cell}}" for v in matrix[i]))
    return "\n".join(lines)
