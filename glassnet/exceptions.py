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
