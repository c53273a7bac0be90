"""The glass box in Jupyter: a training history drawn inline.

Jupyter shows an object through its ``_repr_html_``. A network (``Sequential``) and a gradient
verdict write theirs themselves (tables and sentences); a ``History`` draws curves, so its
``_repr_html_`` calls :func:`history_html` here, above the core (matplotlib through
:mod:`glassnet.plots`); where it cannot draw, its plain text (``summary()``) is shown instead.
A model's whole report inline is ``gn.report(model)`` (:mod:`glassnet.app.inline`).
"""

from __future__ import annotations

import html
from typing import Any


def _png(figure: Any) -> str:
    from .plots import figure_html

    return figure_html(figure, figure.axes[0].get_title(), dpi=90)


def history_html(history: Any) -> str:
    """A training history: its summary sentence, the learning curves with the overfitting onset and
    the restored epoch marked, and the gradient-flow and saturation pictures when they were recorded."""
    from . import plots
    from .diagnostics import gradient_verdict

    if not len(history):
        return "<p>History: no epoch recorded yet.</p>"
    data = history.to_dict()
    curves = data["history"]
    parts = [f"<p><b>History</b> of {len(history)} epoch(s): {html.escape(history.summary())}</p>"]
    metric = next((m for m in ("accuracy", "rmse") if m in curves), None)
    for name in ["loss"] + ([metric] if metric else []):
        parts.append(_png(plots.plot_learning_curves(history, name)))
    if data.get("grad_norms"):
        parts.append(gradient_verdict(history).html())
        parts.append(_png(plots.plot_gradient_flow(history)))
    if (data.get("diagnostics") or {}).get("activations"):
        parts.append(_png(plots.plot_saturation(history)))
    return "<div>" + "".join(parts) + "</div>"
