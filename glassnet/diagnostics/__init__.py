"""See inside the network: gradient flow, saturation, distributions, linear blocks, attributions."""

from .attribution import (
    CompletenessWarning,
    IntegratedGradients,
    explain_integrated_gradients,
    feature_importance,
    grouped_attribution,
    integrated_gradients,
    permutation_importance,
    saliency,
)
from .detectors import GradientVerdict, gradient_verdict
from .linear import LinearBlock, linear_block_report
from .monitor import Diagnostics

__all__ = [
    "Diagnostics",
    "gradient_verdict",
    "GradientVerdict",
    "linear_block_report",
    "LinearBlock",
    "saliency",
    "integrated_gradients",
    "explain_integrated_gradients",
    "IntegratedGradients",
    "CompletenessWarning",
    "permutation_importance",
    "feature_importance",
    "grouped_attribution",
]
