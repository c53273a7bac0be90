"""Results out: the model file, metrics.json and report.html, written together and atomically.

The folder is staged beside the target and renamed into place; an existing folder is replaced only
when it holds nothing but glassnet's own outputs (``glassnet.io.owned``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .options import DEMO_MARKER, METRICS_FILE, MODEL_FILE, OUTPUT_NAMES, REPORT_FILE
from .run import JobResult

__all__ = ["DEMO_MARKER", "check_output_dir", "metrics_document", "write_outputs"]


def metrics_document(result: JobResult) -> dict:
    """The content of metrics.json."""
    meta = result.metadata
    return {
        "task": result.prepared.task,
        "test": result.metrics,
        "test_interval": meta.get("test_interval"),
        "test_intervals": meta.get("test_intervals"),
        "headline": meta.get("headline"),
        "per_class": meta.get("per_class"),
        "decision": meta.get("decision"),
        "warnings": meta.get("warnings", []),
        "validation": meta["validation_metrics"],
        "baselines": meta["baselines"],
        "overfitting_onset": meta["overfitting_onset"],
        "overfitting": meta["overfitting"],
        "gradient_verdict": meta["gradient_verdict"],
        "epochs": len(result.history),
        "best_epoch": result.history.best_epoch,
        "refit": meta.get("refit"),
        "cross_fit": meta.get("cross_fit"),
        "train_seconds": meta["train_seconds"],
        "phases": meta.get("phases", {}),
        "time_limit": meta.get("time_limit"),
        "parameters": result.network.n_parameters,
        "architecture": [f"{type(layer).__name__}({layer.output_dim})" for layer in result.network.layers],
        "data": result.prepared.description,
    }


def check_output_dir(out: Path, overwrite: bool, inputs=()) -> None:
    """Refuse an output folder that cannot be used, before any work (see glassnet.io.owned)."""
    from ..io.owned import check_output_folder

    check_output_folder(out, overwrite=overwrite, known=OUTPUT_NAMES, inputs=inputs)


def write_outputs(
    result: JobResult, out: Path, overwrite: bool, extra_files: dict[str, str] | None = None, report: bool = True
) -> Path:
    """Write model, metrics.json and report.html (unless ``report`` is false) to a temporary folder, then
    move it into place.

    An existing folder is replaced only when it holds nothing but glassnet's outputs (checked
    again here, right before the swap); ``extra_files`` (name → text) are written with them.
    """
    from ..io.atomic import PARTIAL_SUFFIX, current_umask, fsync_folder, partial_prefix, remove_stale_partials
    from ..io.modelfile import jsonable, load_model, save_model
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
        if report:
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
