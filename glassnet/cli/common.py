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
        raise argparse.ArgumentTypeError(f"--hidden takes comma-separated unit counts like 128,64; got {text!r}") from None
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


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: v > 0, "a positive number")


def refuse_existing(path, overwrite: bool) -> None:
    """Never replace a user's file unless asked: exit 2 with what to do."""
    if path.exists() and not overwrite:
        raise UsageError(f"{path} exists; pass --overwrite to replace it.")


def emit_json(document: dict) -> None:
    json.dump(document, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def load(path: str):
    from ..io.modelfile import ModelFileError, load_model

    try:
        return load_model(path)
    except ModelFileError as exc:
        raise UsageError(str(exc)) from None

