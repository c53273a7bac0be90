"""matplotlib figures of what the network did. Each function returns a Figure; ``save_figure``
writes PNG or SVG by extension. matplotlib is imported only when a plot is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _history_dict(history) -> dict:
    return history.to_dict() if hasattr(history, "to_dict") else history


def figure_html(figure: Any, alt: str, dpi: int = 100) -> str:
    """``figure`` as an HTML ``<img>`` holding its PNG (base64): self-contained, for the report and Jupyter."""
    import base64
    import html
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def save_figure(figure, path: str | Path, dpi: int = 110) -> Path:
    """Save as PNG or SVG (by the file extension)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"figures are saved as .png or .svg; got {path.name!r}.")
    figure.savefig(path, dpi=dpi)
    return path


def plot_learning_curves(history, metric: str = "loss"):
    """Training vs validation curve per epoch, with the overfitting onset and restored epoch marked."""
    data = _history_dict(history)
    curves, epochs = data["history"], data["epochs"]
    figure, axes = _figure()
    axes.plot(epochs, curves[metric], label=f"training {metric}", color="#1f77b4")
    if f"val_{metric}" in curves:
        axes.plot(epochs, curves[f"val_{metric}"], label=f"validation {metric}", color="#d62728")
    onset = data.get("overfitting_onset")
    if onset is not None:
        axes.axvline(onset, color="#7f7f7f", linestyle="--", label=f"overfitting onset (epoch {onset})")
    restored = data.get("restored_epoch")
    if restored is not None and f"val_{metric}" in curves:
        axes.scatter(
            [restored],
            [curves[f"val_{metric}"][epochs.index(restored)]],
            color="black",
            zorder=3,
            label=f"restored weights (epoch {restored})",
        )
    axes.set_xlabel("epoch")
    values = [v for key in (metric, f"val_{metric}") for v in curves.get(key, []) if np.isfinite(v)]
    # Epoch 1's loss sets a linear axis's scale and flattens the late epochs: a loss spanning more
    # than a factor of ten is drawn on a log axis.
    logarithmic = metric.endswith("loss") and values and min(values) > 0 and max(values) > 10 * min(values)
    if logarithmic:
        axes.set_yscale("log")
    axes.set_ylabel(f"{metric} (log scale)" if logarithmic else metric)
    axes.set_title(f"Learning curves: {metric}")
    axes.legend()
    return figure


#: Per series: a line style, a marker and a width that shrinks, so a series drawn later over an
#: earlier one with the same values (layer 2 over layer 1) leaves the earlier one visible.
SERIES_STYLES = (("-", "o", 3.0), ("--", "s", 2.2), (":", "^", 1.6), ("-.", "D", 1.2))


def _series_style(index: int) -> dict:
    linestyle, marker, width = SERIES_STYLES[index % len(SERIES_STYLES)]
    return {"linestyle": linestyle, "marker": marker, "markersize": 3, "linewidth": width}


def plot_gradient_flow(history: Any) -> Any:
    """Mean ‖dL/dW‖ of each Dense layer per epoch (log scale): vanishing gradients show as a fan."""
    data = _history_dict(history)
    figure, axes = _figure()
    for index, (name, values) in enumerate(data["grad_norms"].items()):
        axes.plot(data["epochs"][: len(values)], values, label=name, **_series_style(index))
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean gradient norm ‖dL/dW‖")
    axes.set_title("Gradient flow per layer")
    if data["grad_norms"]:
        axes.legend(fontsize="small")
    else:  # trained with diagnostics=False
        axes.text(0.5, 0.5, "no gradient norms were recorded", ha="center", transform=axes.transAxes)
    return figure


def plot_percentiles(history, layers: list[str] | None = None, unit: bool = False):
    """15th/50th/85th percentiles of activation inputs over training (the BN paper's Figure 1b–c)."""
    data = _history_dict(history)
    diagnostics = data.get("diagnostics") or {}
    activations = diagnostics.get("activations", {})
    names = layers or list(activations)
    steps = diagnostics.get("step", [])
    figure, axes = _figure()
    prefix = "unit_" if unit else ""
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    for index, name in enumerate(names):
        entry = activations[name]
        color = colors[index % len(colors)]
        axes.fill_between(steps, entry[prefix + "p15"], entry[prefix + "p85"], color=color, alpha=0.2)
        style = {**_series_style(index), "marker": None}
        axes.plot(steps, entry[prefix + "p50"], color=color, label=f"{name} input (median, 15–85%)", **style)
    axes.set_xlabel("training step")
    axes.set_ylabel("pre-activation value")
    axes.set_title("Distribution of activation inputs over training" + (" (one unit)" if unit else ""))
    axes.legend(fontsize="small")
    return figure


#: The rules of the built-in activations, for files written before 0.7 (which record only the kind).
OLD_RULES = {"relu": "dead", "leaky_relu": "dead", "sigmoid": "saturated", "tanh": "saturated"}


def plot_saturation(history: Any) -> Any:
    """Fractions of dead ReLU units and saturated sigmoid/tanh units per layer over training."""
    data = _history_dict(history)
    diagnostics = data.get("diagnostics") or {}
    steps = diagnostics.get("step", [])
    figure, axes = _figure()
    for index, (name, entry) in enumerate(diagnostics.get("activations", {}).items()):
        # the activation's rule (Activation.unit_rule); files before 0.7 have only its kind
        rule = entry.get(
            "rule",
            {"relu": "dead", "leaky_relu": "dead", "sigmoid": "saturated", "tanh": "saturated"}.get(entry["kind"]),
        )
        if rule == "dead":
            axes.plot(steps, entry["dead_fraction"], label=f"{name}: dead", **_series_style(index))
        elif rule == "saturated":
            axes.plot(steps, entry["saturated_fraction"], label=f"{name}: saturated", **_series_style(index))
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("training step")
    axes.set_ylabel("fraction of units")
    axes.set_title("Dead and saturated units")
    axes.legend(fontsize="small")
    return figure


def plot_batch_norm(history):
    """Mean γ, β and running statistics of each batch-norm layer over training."""
    data = _history_dict(history)
    diagnostics = data.get("diagnostics") or {}
    steps = diagnostics.get("step", [])
    figure, axes = _figure()
    for name, entry in diagnostics.get("batch_norm", {}).items():
        for key, style in (("gamma", "-"), ("beta", "--"), ("running_var", ":")):
            axes.plot(steps, [float(np.mean(v)) for v in entry[key]], linestyle=style, label=f"{name} mean {key}")
    axes.set_xlabel("training step")
    axes.set_title("Batch normalization parameters")
    axes.legend(fontsize="x-small")
    return figure


def plot_confusion_matrix(y_true, y_pred, classes):
    """Counts of true (rows) vs predicted (columns) classes."""
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    for truth, guess in zip(y_true, y_pred):
        matrix[index[truth], index[guess]] += 1
    return plot_confusion_counts(matrix, classes)


def plot_confusion_counts(matrix, classes, normalised: bool = False):
    """A confusion matrix already counted: ``matrix[true, predicted]``, rows and columns in ``classes``
    order; ``normalised``: each row divided by its count (the recall of each class on the diagonal)."""
    matrix, classes = np.asarray(matrix, dtype=int), list(classes)
    size = max(4.0, 0.45 * len(classes) + 2)
    figure, axes = _figure(size, size)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalised else matrix
    axes.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalised else None)
    labels = [str(c)[:12] for c in classes]
    axes.set_xticks(range(len(classes)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), labels)
    top = 1.0 if normalised else max(matrix.max(), 1)
    for (row, column), value in np.ndenumerate(shown):
        if matrix[row, column]:
            text = f"{value:.2f}" if normalised else str(value)
            colour = "white" if value > top / 2 else "black"
            axes.text(column, row, text, ha="center", va="center", color=colour, fontsize="small")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Confusion matrix, each row as shares of its class" if normalised else "Confusion matrix (counts)")
    return figure


def plot_roc_pr(curves: dict, threshold: float | None = None):
    """ROC and precision-recall curves of several models on the same rows (``curves``: name → the
    ``roc``/``pr`` points of ``glassnet.app.scoring.curves``), the first model's threshold marked."""
    figure, (roc, pr) = _figure_pair()
    for index, (name, drawn) in enumerate(curves.items()):
        if not drawn:
            continue
        style = {**_series_style(index), "markevery": 25}
        roc.plot(drawn["roc"]["fpr"], drawn["roc"]["tpr"], label=name, **style)
        pr.plot(drawn["pr"]["recall"], drawn["pr"]["precision"], label=name, **style)
        if index == 0 and threshold is not None:
            at = int(np.argmin(np.abs(np.asarray(drawn["roc"]["threshold"]) - threshold)))
            roc.plot(drawn["roc"]["fpr"][at], drawn["roc"]["tpr"][at], "ko", label=f"threshold {threshold:.3f}")
            at = int(np.argmin(np.abs(np.asarray(drawn["pr"]["threshold"]) - threshold)))
            pr.plot(drawn["pr"]["recall"][at], drawn["pr"]["precision"][at], "ko")
    first = next((c for c in curves.values() if c), None)
    roc.plot([0, 1], [0, 1], color="0.7", linestyle=":", label="chance")
    if first is not None:
        pr.axhline(first["prevalence"], color="0.7", linestyle=":", label="chance (the positive share)")
    roc.set(xlabel="false positive rate", ylabel="true positive rate (recall)", title="ROC curve")
    pr.set(xlabel="recall", ylabel="precision", title="Precision-recall curve", ylim=(0, 1.02))
    roc.legend(fontsize="small", loc="lower right")
    pr.legend(fontsize="small", loc="lower left")
    return figure


def plot_reliability(curves: dict, brier: dict[str, float] | None = None):
    """Reliability diagrams: mean predicted probability against the observed frequency, per bin of
    equal row counts (``curves``: name → ``{"calibration": {"predicted", "observed"}}``)."""
    figure, axes = _figure(5.2, 4.4)
    axes.plot([0, 1], [0, 1], color="0.7", linestyle=":", label="perfectly calibrated")
    for index, (name, drawn) in enumerate(curves.items()):
        if drawn and drawn.get("calibration"):
            score = f" (Brier {brier[name]:.4f})" if brier and brier.get(name) is not None else ""
            points = drawn["calibration"]
            axes.plot(points["predicted"], points["observed"], label=name + score, **_series_style(index))
    axes.set(xlabel="predicted probability", ylabel="observed frequency", title="Reliability diagram")
    axes.set(xlim=(0, 1), ylim=(0, 1))
    axes.legend(fontsize="small", loc="upper left")
    return figure


def _figure_pair():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10.0, 4.2), layout="constrained")
    return figure, figure.subplots(1, 2)


def plot_residuals(y_true, y_pred):
    """Residuals (prediction − truth) against predictions."""
    y_true, y_pred = np.asarray(y_true, float).ravel(), np.asarray(y_pred, float).ravel()
    figure, axes = _figure()
    axes.scatter(y_pred, y_pred - y_true, s=8, alpha=0.6)
    axes.axhline(0, color="black", linewidth=1)
    axes.set_xlabel("prediction")
    axes.set_ylabel("residual (prediction − truth)")
    axes.set_title("Residuals")
    return figure


def plot_feature_importance(
    table: dict, method: str = "integrated_gradients", top: int = 20, errors: str | None = None
):
    """Horizontal bars of the ``top`` most important features by ``method``; ``errors`` names the
    column of their standard deviations (drawn as error bars)."""
    names, values = table["feature"], np.asarray(table[method], dtype=float)
    order = np.argsort(-values)[:top][::-1]
    figure, axes = _figure(6.4, max(3.0, 0.3 * len(order) + 1))
    spread = None if errors is None else np.asarray(table[errors], dtype=float)[order]
    axes.barh([str(names[i])[:30] for i in order], values[order], xerr=spread, color="#2ca02c", ecolor="#333333")
    axes.axvline(0.0, color="#888888", linewidth=0.8)
    axes.set_xlabel(method.replace("_", " "))
    axes.set_title("Feature importance")
    return figure


def plot_importance_map(values: np.ndarray, image_shape: tuple[int, ...]):
    """An importance map for image inputs (mean |attribution| per pixel)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 2:
        values = np.abs(values).mean(axis=0)
    grid = values.reshape(image_shape[:2] if len(image_shape) == 2 else (image_shape[0], image_shape[1], -1))
    if grid.ndim == 3:
        grid = grid.mean(axis=2)
    figure, axes = _figure(4.0, 4.0)
    image = axes.imshow(grid, cmap="inferno")
    figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_axis_off()
    axes.set_title("Which pixels the network relies on")
    return figure
