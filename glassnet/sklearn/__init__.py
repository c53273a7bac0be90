"""scikit-learn estimators: DNNClassifier and DNNRegressor.

They follow scikit-learn's conventions (``__init__`` stores parameters, validation happens in
``fit``, fitted attributes end in ``_``) and reuse ``MLPClassifier``'s parameter names where the
meaning is the same, adding what it lacks: batch normalization, dropout, per-epoch validation
loss, early stopping on validation *loss* with the best weights restored, and the glassnet
network and history for inspection.
"""

from __future__ import annotations

from .classifier import DNNClassifier
from .params import EXPECTED_FAILED_CHECKS
from .regressor import DNNRegressor

__all__ = ["DNNClassifier", "DNNRegressor", "EXPECTED_FAILED_CHECKS"]
