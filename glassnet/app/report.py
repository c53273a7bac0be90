"""report.html: one self-contained page (inline PNG figures, inline CSS, no network access)
telling what the data was, what the network is, how training went and how good the result is."""

from __future__ import annotations

import html

import numpy as np

from .. import plots
from ..io.owned import REPORT_GENERATOR
from ..recipe import PATIENCE_STEPS
from .interval import best_baseline, inside, leaders, smaller_is_better
from .tasks import headline_metric

CSS = """
*{box-sizing:border-box}body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,
sans-serif;margin:0;color:#1b1f24;background:#f6f7f9;line-height:1.45}main{max-width:1000px;margin:0 auto;
padding:16px}h1{font-size:1.6rem;margin:.4rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:
1px solid #d0d7de;padding-bottom:.2rem}section{background:#fff;border:1px solid #d0d7de;border-radius:8px;
padding:12px 16px;margin:12px 0}table{border-collapse:collapse;width:100%;font-size:.92rem;display:block;
overflow-x:auto}th,td{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;white-space:nowrap}
th{background:#f6f8fa}img{max-width:100%;height:auto;display:block;margin:8px auto}.grid{display:grid;
grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:8px}.verdict{padding:8px 12px;border-radius:6px;
background:#eef6ee;border:1px solid #b7dfb9}.warn{background:#fff4e5;border-color:#f5c67a}.muted{color:#57606a;
font-size:.9rem}code{background:#f6f8fa;padding:1px 4px;border-radius:4px}td.wrap{white-space:normal}
"""
#: Table cells longer than this wrap (sentences) instead of widening the table.
WRAP = 60


def _image(figure, alt: str) -> str:
    return plots.figure_html(figure, alt)


def _table(headers: list[str] | None, rows: list[list]) -> str:
    """An HTML table; ``headers=None`` for a two-column list of facts (no empty header row)."""
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers or [])
    head = "" if headers is None else f"<thead><tr>{cells}</tr></thead>"
    body = "".join("<tr>" + "".join(_cell(_fmt(c)) for c in row) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _cell(text: str) -> str:
    return f"<td{' class=wrap' if len(text) > WRAP else ''}>{html.escape(text)}</td>"


def _fmt(value) -> str:
    """Table cells: the same four decimals for every metric, thousands separators for counts."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if not np.isfinite(value):
        return str(value)
    value = 0.0 if round(value, 4) == 0 else value  # no "-0.0000"
    return f"{value:,.4f}" if abs(value) < 1e4 else f"{value:,.0f}"


def render_report(model) -> str:
    """HTML for a :class:`~glassnet.io.modelfile.SavedModel` written by ``glassnet train``."""
    meta = model.metadata or {}
    history = model.history or {}
    network = model.network
    parts = [
        f"<h1>glassnet report</h1><p class='muted'>glassnet {html.escape(model.glassnet_version)} · "
        f"task: {html.escape(model.task or 'unknown')} · {_parameters(model)}</p>",
        _summary_section(model, meta),
        _data_section(model, meta.get("data", {}), meta.get("refit"), meta.get("cross_fit")),
        _architecture_section(network, meta, len(model.members), list(model.members)),
        _results_section(model, meta),
    ]
    if history.get("epochs"):
        parts += [_training_section(history, meta), _gradient_section(history, meta)]
    parts.append(_importance_section(meta.get("importance")))
    body = "\n".join(part for part in parts if part)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        + REPORT_GENERATOR
        + "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>glassnet report</title><style>{CSS}</style></head><body><main>{body}</main></body></html>"
    )


def _parameters(model) -> str:
    count = model.network.n_parameters
    if len(model.members) == 1:
        return f"{count:,} parameters"
    return f"{len(model.members)} networks × {count:,} parameters"


def _final_network(refit: dict | None, cross_fit: dict | None = None) -> str:
    """How the network in the file was trained (the test rows are never among its training rows)."""
    if cross_fit:
        epochs = ", ".join(str(member["best_epoch"] or "–") for member in cross_fit["members"])
        return (
            f"the mean of {cross_fit['folds']} networks cross-fitted on all {cross_fit['rows']} rows: each "
            f"trained on {cross_fit['folds'] - 1} of {cross_fit['folds']} folds and stopped early on the "
            f"remaining fold (best epochs {epochs}); the curves and diagnostics below are the first member's"
        )
    if not refit:
        return "the network of the run with validation (best epoch's weights)"
    return (
        f"retrained on all {refit['rows']} training and validation rows for {refit['epochs']} epoch(s), "
        "the best epoch count of the run with validation"
    )


def _data_section(model, data: dict, meta_refit: dict | None, cross_fit: dict | None = None) -> str:
    rows = [
        ["source", data.get("source", "")],
        ["kind", data.get("kind", "")],
        ["rows", data.get("rows", "")],
        ["features after preprocessing", data.get("features", "")],
        [
            "train / validation rows of each member; test rows" if cross_fit else "train / validation / test rows",
            f"{data.get('train_rows')} / {data.get('validation_rows')}{'; ' if cross_fit else ' / '}"
            f"{data.get('test_rows')}",
        ],
        ["test estimate", data.get("test_source", "")],
        ["final model", _final_network(meta_refit, cross_fit)],
    ]
    if data.get("target"):
        rows.insert(2, ["target", ", ".join(data["target"])])
    if model.classes is not None:
        rows.append(
            ["classes", ", ".join(str(c) for c in model.classes[:30]) + (" …" if len(model.classes) > 30 else "")]
        )
    if data.get("rows_dropped_missing_target"):
        rows.append(["rows dropped (missing target)", data["rows_dropped_missing_target"]])
    pre = "".join(f"<li>{html.escape(line)}</li>" for line in data.get("preprocessing", []))
    return f"<section><h2>Data</h2>{_table(None, rows)}<ul>{pre}</ul></section>"


def _fallbacks(network) -> str:
    """What the network's activations do not declare, and what glassnet did instead (the registry's
    documented fallbacks, named here rather than left silent)."""
    from ..kernels.plan import compiled_code
    from ..layers import Activation

    notes = []
    for layer in network.layers:
        if not isinstance(layer, Activation) or not layer.hidden:
            continue
        if compiled_code(layer) is None:
            notes.append(
                f"{layer.name} ({type(layer).__name__}) has no compiled kernel: with numba, a network with it "
                "trains and predicts layer by layer, with the same results"
            )
        if layer.unit_rule is None and not layer.is_linear:
            notes.append(
                f"{layer.name} ({type(layer).__name__}) declares no rule for dead or saturated units: none are counted"
            )
    return "".join(f"<p class='muted'>{html.escape(note)}.</p>" for note in notes)


def _census(networks: list) -> str:
    """How many hidden units are alive (diagnostics/units.py)."""
    from ..diagnostics.units import describe_census

    text = describe_census(networks)
    return f"<p>{html.escape(text)}</p>" if text else ""


def _architecture_section(network, meta: dict, members: int = 1, members_of: list | None = None) -> str:
    members_of = members_of or [network]
    arch_rows = [
        [layer.name, type(layer).__name__, layer.output_dim, sum(p.size for p in layer.parameters())]
        for layer in network.layers
    ]
    linear = "".join(f"<p class='verdict warn'>{html.escape(s)}</p>" for s in meta.get("linear_blocks", []))
    return (
        f"<section><h2>Architecture</h2><p>input width {network.input_dim} → output {network.output_dim}; "
        f"{network.n_parameters:,} trainable parameters"
        f"{f' in each of the {members} members (the same architecture)' if members > 1 else ''}; {network.dtype}.</p>"
        f"{_table(['layer', 'type', 'units', 'parameters'], arch_rows)}{linear}"
        f"{_census(members_of)}{_fallbacks(network)}"
        f"{_settings(meta.get('options'), meta.get('options_not_applied'))}</section>"
    )


def _settings(options: dict | None, unused: dict | None = None) -> str:
    """How the network was trained: optimizer, rate, batches, schedule, stopping and regularization; and
    the options given that did not apply."""
    if not options:
        return ""
    get = options.get
    stop = f"; early stopping on {get('monitor')}, patience {get('patience')} epochs" if get("early_stopping") else ""
    stop += f" or {PATIENCE_STEPS} optimizer steps, the longer" if stop else ""
    nesterov = (
        f" with Nesterov momentum {get('momentum')}" if _takes_momentum(get("optimizer")) and get("momentum") else ""
    )
    rows = [["optimizer", f"{get('optimizer')}{nesterov}, learning rate {get('lr')}, batches of {get('batch_size')}"]]
    rows += [["epochs", f"at most {get('epochs')}, schedule {get('schedule') or 'none'}{stop}"]]
    rows += [["dropout", str(get("dropout"))], ["weight decay (L2)", get("weight_decay")]]
    if unused:
        rows += [["did not apply", "; ".join(f"{name} ({why})" for name, why in unused.items())]]
    return "<h3>Training settings</h3>" + _table(None, rows)


def _takes_momentum(name) -> bool:
    """Whether the optimizer named ``name`` uses the momentum setting (an unknown name: no)."""
    from ..optim import OPTIMIZERS

    return isinstance(name, str) and name in OPTIMIZERS and OPTIMIZERS[name].takes_momentum


def _headline(model, meta: dict) -> str:
    """The run's headline metric (older files recorded none: the task's default then)."""
    return (meta.get("headline") or {}).get("metric") or headline_metric(model.task)


def _decision_html(meta: dict) -> str:
    """How probabilities became decisions: positive class, class weights, calibration, threshold."""
    decision = meta.get("decision")
    if not decision:
        return ""
    positive = (meta.get("data", {}).get("positive_class") or {}).get("why")
    rows = [["positive class", positive]] if positive else []
    rows += [["class weights (training)", decision.get("class_weight") or "none"]]
    rows += [["calibration", decision.get("calibration_text", "")]]
    if decision.get("positive_class") is not None:
        rows += [["decision threshold", decision.get("threshold_rule", "")]]
    return "<h3>From probabilities to decisions</h3>" + _table(None, rows)


def _classification_pictures(model, meta: dict, test: dict) -> str:
    """ROC and precision-recall curves against the baselines, the reliability diagram, the confusion
    matrix as counts and as shares of each true class, the per-class table."""
    parts = []
    curves = meta.get("curves") or {}
    named = {("glassnet DNN" if name == "glassnet" else name): drawn for name, drawn in curves.items() if drawn}
    threshold = (meta.get("decision") or {}).get("threshold")
    if model.task == "binary" and named.get("glassnet DNN", {}).get("roc"):
        parts.append(_image(plots.plot_roc_pr(named, threshold), "ROC and precision-recall curves"))
    if named:
        brier = {"glassnet DNN": test.get("brier")}
        brier.update({name: result.get("brier") for name, result in (meta.get("baselines") or {}).items()})
        parts.append(_image(plots.plot_reliability(named, brier), "reliability diagram"))
    if test.get("confusion_matrix"):
        matrix = np.asarray(test["confusion_matrix"])
        parts.append(_image(plots.plot_confusion_counts(matrix, model.classes), "confusion matrix"))
        if model.task == "multiclass":
            shares = plots.plot_confusion_counts(matrix, model.classes, normalised=True)
            parts.append(_image(shares, "confusion matrix normalised by row"))
    per_class = meta.get("per_class") or {}
    if per_class:
        rows = [[label, r["precision"], r["recall"], r["f1"], r["support"]] for label, r in per_class.items()]
        parts.append(_table(["class", "precision", "recall", "F1", "rows"], rows))
    return "".join(parts)


def _summary_section(model, meta: dict) -> str:
    """What matters first: the estimate and how sure it is, the baselines, the verdicts, the warnings."""
    test = meta.get("test_metrics", {})
    key = _headline(model, meta)
    if test.get(key) is None:
        return ""
    estimate = str(meta.get("data", {}).get("estimate") or "hold-out")  # older files: none recorded
    interval = meta.get("test_interval")
    value = float(test[key])
    line = f"<b>{html.escape(key)} {value:.4f}</b> ({html.escape(estimate)}"
    if interval:
        line += (
            f"; 95 % interval {interval['low']:.4f}–{interval['high']:.4f}, {html.escape(interval['method'])} "
            f"on {interval['rows']} rows"
        )
    items = [line + ")"]
    why = (meta.get("headline") or {}).get("why")
    if why:
        items.append(f"headline metric: {html.escape(why)}")
    rival = best_baseline(meta, key)
    if rival:
        name, best = rival
        difference = value - best
        ahead = difference < 0 if smaller_is_better(key) else difference > 0
        verdict = (
            "inside the DNN's 95 % interval: on these rows the two are not clearly apart"
            if inside(interval, best)
            else ("the DNN is ahead" if ahead else "the baseline is ahead") + ", outside the DNN's 95 % interval"
        )
        items.append(f"best baseline: {html.escape(name)} {best:.4f} ({difference:+.4f}; {verdict})")
    for label, field in (("training", "overfitting"), ("gradients", "gradient_verdict")):
        if meta.get(field):
            items.append(f"{label}: {html.escape(meta[field])}")
    limit = meta.get("time_limit")
    if limit:  # --max-time: what it cut (app/budget.py)
        cut = "; ".join(limit["cut"]) or "nothing was cut"
        items.append(f"time limit: {limit['seconds']:g} s for the whole job (--max-time); {html.escape(cut)}")
    warnings = meta.get("warnings", []) + meta.get("linear_blocks", [])
    notes = "".join(f"<p class='verdict warn'>{html.escape(w)}</p>" for w in warnings)
    rows = "".join(f"<li>{item}</li>" for item in items)
    return f"<section><h2>Summary</h2><ul>{rows}</ul>{notes}</section>"


def _results_section(model, meta: dict) -> str:
    task = model.task
    out_of_fold = meta.get("data", {}).get("estimate") == "out of fold"
    test = meta.get("test_metrics", {})
    spans = meta.get("test_intervals") or {}
    if key_interval := meta.get("test_interval"):
        spans = {**spans, _headline(model, meta): key_interval}
    metric_rows = [
        [k, v, f"{spans[k]['low']:.4f}–{spans[k]['high']:.4f} ({spans[k]['method']})" if k in spans else ""]
        for k, v in test.items()
        if k != "confusion_matrix"
    ]
    key = _headline(model, meta)
    comparison = [["glassnet DNN", test.get(key), f"{meta.get('train_seconds', 0):.1f} s"]]
    baselines = meta.get("baselines", {})
    comparison += [[name, result.get(key), _fit_time(result)] for name, result in baselines.items()]
    top = leaders([(row[0], row[1]) for row in comparison], key)
    where = "out of fold" if out_of_fold else "on this split"
    if top[:1] == ["glassnet DNN"] and len(top) > 1:
        claim = f"the DNN and {' and '.join(top[1:])} score the same {where}"
    elif top[:1] == ["glassnet DNN"]:
        claim = f"the DNN scores best {where}"
    else:
        claim = f"{top[0] if top else 'no model'} scores best {where}: here the DNN does not beat classical ML"
    rival = best_baseline(meta, key)
    if rival and inside(meta.get("test_interval"), rival[1]):
        claim += "; the best baseline is inside the DNN's 95 % interval, so on these rows they are not clearly apart"
    scope = "cross-validated on the same folds" if out_of_fold else "same split"
    sampled = (meta.get("data", {}).get("out_of_core") or {}).get("baseline_rows")
    if sampled:  # out of core: fitted and scored on samples of the split's rows
        scope = f"uniform samples of the same split: {sampled[0]:,} training and {sampled[1]:,} test rows"
    column = ("out-of-fold " if out_of_fold else "test ") + key
    against = (
        f"<h2>Against classical baselines ({scope}, same features)</h2>"
        f"{_table(['model', column, 'fit time'], comparison)}<p class='verdict'>{html.escape(claim)}.</p>"
        if baselines
        else "<p class='muted'>No classical baselines were fitted (--no-baselines).</p>"
    )
    title = (
        "Out-of-fold results (every row, predicted by the member that did not train on it)"
        if out_of_fold
        else "Test results"
    )
    table = _table(["metric", "value", "95 % interval"], metric_rows)
    result_html = f"<section><h2>{title}</h2>{table}{_decision_html(meta)}{against}"
    if task in ("binary", "multiclass"):
        result_html += _classification_pictures(model, meta, test)
    sample = meta.get("test_sample") or {}
    if task == "regression" and sample.get("truth"):
        result_html += _image(plots.plot_residuals(sample["truth"], sample["prediction"]), "residuals")
    return result_html + "</section>"


def _training_section(history: dict, meta: dict) -> str:
    onset_class = "verdict warn" if meta.get("overfitting_onset") else "verdict"
    training = (
        f"<section><h2>Training: train vs validation</h2><p class='{onset_class}'>"
        f"{html.escape(meta.get('overfitting', ''))}</p><div class='grid'>"
        f"{_image(plots.plot_learning_curves(history), 'learning curves (loss)')}"
    )
    if "accuracy" in history.get("history", {}):
        training += _image(plots.plot_learning_curves(history, "accuracy"), "learning curves (accuracy)")
    training += (
        "</div><p class='muted'>What to look for: the two curves falling together is learning; the "
        "validation curve turning up while the training curve keeps falling is overfitting (its onset, "
        "when detected, is the dashed line; the black dot is the epoch whose weights were kept). A loss "
        "spanning more than a factor of ten is drawn on a log axis so that the late epochs stay visible.</p>"
    )
    trail = meta.get("growth_trail")
    if trail:
        training += "<h2>Start small and grow</h2>" + _table(
            ["step", "hidden", "parameters", "train loss", "validation score", "epochs"],
            [
                [r["step"], tuple(r["hidden"]), r["n_parameters"], r["train_loss"], r["val_score"], r["epochs"]]
                for r in trail
            ],
        )
    return training + "</section>"


def _gradient_section(history: dict, meta: dict) -> str:
    verdict_class = "verdict warn" if meta.get("vanishing") or meta.get("exploding") else "verdict"
    inside = (
        "<section><h2>Gradient flow</h2>"
        f"<p class='{verdict_class}'>{html.escape(meta.get('gradient_verdict', ''))}</p>"
        f"{_image(plots.plot_gradient_flow(history), 'gradient flow per layer')}"
        "<p class='muted'>What to look for: lines of similar height mean every layer learns; a fan with "
        "the first layers far below the last (by factors of ten) is vanishing gradients, far above is "
        "exploding. Each layer has its own line style, so a layer hidden under another still shows.</p>"
    )
    diagnostics = history.get("diagnostics") or {}
    if diagnostics.get("activations"):
        inside += (
            "<h2>Inside the layers</h2><p class='muted'>Percentiles (15/50/85) of each activation's input "
            "over training, and the fraction of dead or saturated units, measured on a fixed probe of "
            "training rows.</p><div class='grid'>"
            f"{_image(plots.plot_percentiles(history), 'activation input percentiles')}"
            f"{_image(plots.plot_saturation(history), 'dead and saturated units')}</div>"
            "<p class='muted'>What to look for: percentile bands drifting or widening during training "
            "are the internal covariate shift batch normalization removes (with batch norm they stay "
            "flat: a flat plot is the expected, healthy picture). A dead fraction (ReLU units that never "
            "fire) rising towards 1 or a saturated fraction (sigmoid/tanh at their limits) above about "
            "0.5 means those units no longer pass gradient.</p>"
        )
    if diagnostics.get("batch_norm"):
        inside += _image(plots.plot_batch_norm(history), "batch normalization parameters")
    return inside + "</section>"


def _importance_table(importance: dict, completeness: str) -> str:
    rows = importance["rows"]
    shown = [
        [r["feature"], r.get("encoded_columns", 1),
         _plus_minus(r["permutation"], r.get("permutation_std")) if r.get("permuted", True) else "not shuffled",
         r["saliency"], r["integrated_gradients"]]
        for r in rows[:30]
    ]  # fmt: skip
    table = {k: [row.get(k, 0.0) for row in rows] for k in ("feature", "permutation", "permutation_std")}
    score = html.escape(importance.get("permutation_score", "drop in validation score"))
    evaluated = importance.get("evaluated_rows")
    counted = f", on {evaluated:,} held-out rows, {importance.get('repeats', 1)} shuffles each" if evaluated else ""
    permuted = importance.get("permuted_columns", len(rows))
    if permuted < len(rows):
        counted += (
            f"; the {permuted} columns with the largest integrated gradients were shuffled, the other "
            f"{len(rows) - permuted} were not (a wide table: shuffling every column costs a prediction each)"
        )
    return (
        "<section><h2>Which inputs the network relies on</h2><p class='muted'>By input column: the "
        "encoded columns of one input (a categorical's indicators, a date's features) are judged together. "
        f"<b>Permutation</b>: the {score} when the column is shuffled{counted} (mean ± standard deviation; "
        "the bars are the spread). <b>Gradient × input</b> and <b>integrated gradients</b>: the mean size of "
        "the column's signed share of the change of the output from the mean row. What to look for: "
        "a column far ahead of the others may be a leak of the target; columns near 0 by every measure "
        "can be dropped; a bar shorter than its spread is not distinguishable from 0.</p>"
        f"<p class='muted'>Completeness check: {completeness}.</p>"
        f"{_image(plots.plot_feature_importance(table, 'permutation', errors='permutation_std'), 'feature importance')}"
        f"{_table(['column', 'encoded columns', 'permutation', 'gradient × input', 'integrated gradients'], shown)}"
        "</section>"
    )


def _fit_time(result: dict) -> str:
    stopped = result.get("budget_stopped")
    stopped = f" (time budget: stopped at {result['iterations']:.0f} iterations)" if stopped else ""
    return f"{result.get('seconds', 0):.1f} s{stopped}"


def _plus_minus(mean: float, spread: float | None) -> str:
    return _fmt(mean) if spread is None else f"{_fmt(mean)} ± {_fmt(spread)}"


def _importance_section(importance: dict | None) -> str:
    if not importance:
        return ""
    completeness = html.escape(importance.get("completeness", "not recorded"))
    if importance.get("kind") == "table":
        return _importance_table(importance, completeness)
    if importance.get("kind") == "image":
        shape = tuple(importance["image_shape"])
        saliency = plots.plot_importance_map(np.asarray(importance["saliency"]), shape)
        integrated = plots.plot_importance_map(np.asarray(importance["integrated_gradients"]), shape)
        return (
            "<section><h2>Which pixels the network relies on</h2>"
            f"<p class='muted'>Completeness check: {completeness}.</p>"
            f"<div class='grid'>{_image(saliency, 'saliency map')}"
            f"{_image(integrated, 'integrated gradients map')}</div></section>"
        )
    return ""
