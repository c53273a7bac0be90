"""Exceptions and warnings raised by glassnet."""

from __future__ import annotations


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used for prediction before it has been fitted."""


class LinearCollapseWarning(UserWarning):
    """Two or more layers with no non-linearity between them collapse into one affine map."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss; the last finite weights were restored."""


class DivergenceWarning(RuntimeWarning):
    """Training produced a non-finite loss and was stopped; the last finite weights were restored."""


class OutputError(ValueError):
    """An output path cannot be used: it would replace a file glassnet did not write, or it cannot be written."""


class DataError(ValueError):
    """Bad input data: the message says what is wrong and how to fix it."""


class ModelFileError(ValueError):
    """A model or checkpoint file is missing, damaged, from an unsupported version, or inconsistent."""


class TrainingInterrupted(Exception):
    """Training was stopped by Ctrl-C; ``checkpoint`` names the saved state (None when none was configured)."""

    def __init__(self, message: str, checkpoint: str | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
