"""Helpers shared by the commands: argument types, output, model loading."""

from __future__ import annotations

import argparse
import json
import sys

from . import UsageError


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes comma-separated unit counts like 128,64; got {text!r}"
        ) from None
    if not sizes or any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"--hidden needs positive unit counts like 128,64; got {text!r}")
    return sizes


def _number(text: str, cast, accept, expected: str):
    """Parse ``text`` with ``cast`` and check it with ``accept``; argparse reports the message."""
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v > 0, "a positive integer")


def fraction(text: str) -> float:
    return _number(text, float, lambda v: 0 < v < 1, "a number in (0, 1)")


def fraction_or_zero(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "a positive number")


def duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``10m``, ``1.5h`` or ``1h30m`` (``--max-time``).

    >>> duration("90s"), duration("10m"), duration("1h30m"), duration("45")
    (90.0, 600.0, 5400.0, 45.0)
    """
    import re

    cleaned = text.strip().lower().replace(" ", "")
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", cleaned)
    if not cleaned or parts is None or not any(parts.groups()):
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 10m or 1h30m; got {text!r}")
    hours, minutes, seconds = (float(group or 0) for group in parts.groups())
    total = 3600 * hours + 60 * minutes + seconds
    if not total > 0:
        raise argparse.ArgumentTypeError(f"expected a duration above zero, such as 90s or 10m; got {text!r}")
    return total


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < float("inf"), "a finite number ≥ 0")


def check_output(path, overwrite: bool, kind: str, inputs=(), flag: str = "--overwrite to replace it"):
    """Refuse, before any work, an output path that cannot be used or is not glassnet's to replace.

    ``kind`` is "predictions", "report", "onnx", "checkpoint" or "cache"; exit 2 with what to do
    (``flag``).
    """
    from ..exceptions import OutputError
    from ..io import owned as outputs

    owned = {
        "predictions": outputs.is_glassnet_predictions,
        "report": outputs.is_glassnet_report,
        "onnx": outputs.is_glassnet_onnx,
        "checkpoint": outputs.is_glassnet_checkpoint,
        "cache": outputs.is_glassnet_cache,
    }[kind]
    try:
        return outputs.check_output_file(
            path, overwrite=overwrite, owned=owned, what=f"the {kind} file", inputs=inputs, flag=flag
        )
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def emit_json(document: dict) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def load(path: str):
    from ..io.modelfile import ModelFileError, load_model

    try:
        return load_model(path)
    except ModelFileError as exc:
        raise UsageError(str(exc)) from None
