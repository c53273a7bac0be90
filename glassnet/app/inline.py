"""A model's full report inline in Jupyter: ``gn.report(model)``, the same sections as ``report.html``."""

from __future__ import annotations

import html
from pathlib import Path

#: Height of the inline report's frame, in pixels (it scrolls inside).
REPORT_HEIGHT = 900


class Report:
    """A model's full report (the sections of ``report.html``), shown inline by Jupyter.

    Parameters
    ----------
    model : SavedModel, str or Path
        A model written by ``glassnet train`` (or its file).
    """

    def __init__(self, model) -> None:
        if isinstance(model, (str, Path)):
            from ..io.modelfile import load_model

            model = load_model(model)
        self.model = model
        self._html: str | None = None

    def html(self) -> str:
        """The report as a self-contained HTML document (rendered once: the model does not change)."""
        from .report import render_report

        if self._html is None:
            self._html = render_report(self.model)
        return self._html

    def _repr_html_(self) -> str:
        # the document in a frame of its own: its styles stay inside, the notebook's outside
        document = html.escape(self.html(), quote=True)
        return (
            f'<iframe srcdoc="{document}" style="width:100%;height:{REPORT_HEIGHT}px;border:1px solid #ddd"></iframe>'
        )

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the report to ``path`` atomically; an existing file is replaced only when it is a
        glassnet report and ``overwrite`` is true."""
        from ..io.atomic import atomic_write_bytes
        from ..io.owned import check_output_file, is_glassnet_report

        target = check_output_file(path, overwrite=overwrite, owned=is_glassnet_report, what="the report",
                                   flag="overwrite=True to replace it")  # fmt: skip
        atomic_write_bytes(target, self.html().encode("utf-8"))
        return target

    def __repr__(self) -> str:
        return "Report(...): display it in Jupyter, or .save(path)"


def report(model) -> Report:
    """The full report of a model written by ``glassnet train`` (a SavedModel or its file), shown
    inline in Jupyter: the same sections as ``report.html``; ``.save(path)`` writes it. In a
    notebook: ``gn.report("glassnet-output/model.glassnet")``.
    """
    return Report(model)
