"""glassnet: deep feed-forward neural networks you can see through.

The engine (layers, losses, optimizers, the network, the training loop) needs only NumPy;
scikit-learn estimators, plots, data loaders and the command line import their dependencies
when first used.

Examples
--------
>>> import glassnet as gn
>>> net = gn.mlp([64, 32], 10, batch_norm=True, output_activation="softmax")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._version import __version__
from .builders import mlp
from .ensemble import Ensemble
from .exceptions import DivergenceError, DivergenceWarning, LinearCollapseWarning, ModelFileError, NotFittedError
from .gradcheck import GradcheckResult, gradcheck
from .layers import GELU, BatchNorm, Dense, Dropout, Layer, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from .losses import BinaryCrossEntropy, Loss, MeanSquaredError, SoftmaxCrossEntropy
from .network import Sequential
from .optim import SGD, Adam, AdamW, Optimizer
from .parameter import Parameter
from .rmsprop import RMSprop  # registers "rmsprop"

# Names resolved on first access so that `import glassnet` stays light.
_LAZY = {
    "fit": "glassnet.training.fit",
    "History": "glassnet.training.history",
    "EarlyStopping": "glassnet.training.callbacks",
    "Callback": "glassnet.training.callbacks",
    "CSVLogger": "glassnet.training.progress",
    "ProgressBar": "glassnet.training.progress",
    "LearningRateScheduler": "glassnet.training.callbacks",
    "StepDecay": "glassnet.training.callbacks",
    "ExponentialDecay": "glassnet.training.callbacks",
    "CosineDecay": "glassnet.training.callbacks",
    "ReduceLROnPlateau": "glassnet.training.callbacks",
    "TimeLimit": "glassnet.training.callbacks",
    "grow": "glassnet.training.grow",
    "GrowthResult": "glassnet.training.grow",
    "save_model": "glassnet.io.modelfile",
    "load_model": "glassnet.io.modelfile",
    "SavedModel": "glassnet.io.modelfile",
    "export_onnx": "glassnet.io.onnx_export",
    "DNNClassifier": "glassnet.sklearn",
    "DNNRegressor": "glassnet.sklearn",
    "report": "glassnet.app.inline",
}
# Sub-modules exposed as attributes.
_LAZY_MODULES = {
    "datasets": "glassnet.datasets",
    "callbacks": "glassnet.training.callbacks",
    "diagnostics": "glassnet.diagnostics",
    "plots": "glassnet.plots",
    "notebook": "glassnet.notebook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        value = import_module(_LAZY_MODULES[name])
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "__version__",
    "Layer",
    "Dense",
    "BatchNorm",
    "Dropout",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "RMSprop",
    "Linear",
    "Softmax",
    "Loss",
    "MeanSquaredError",
    "BinaryCrossEntropy",
    "SoftmaxCrossEntropy",
    "Sequential",
    "Ensemble",
    "mlp",
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "Parameter",
    "gradcheck",
    "GradcheckResult",
    "NotFittedError",
    "LinearCollapseWarning",
    "ModelFileError",
    "DivergenceError",
    "DivergenceWarning",
    *_LAZY,
    *_LAZY_MODULES,
]
