"""Layers: each one step of the forward flow with its chain-rule backward step beside it."""

from .activations import (
    ACTIVATIONS,
    Activation,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    activation_class,
    activation_names,
    get_activation,
    register_activation,
    softmax,
)
from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout
from .gelu import GELU


def layer_types() -> dict[str, type[Layer]]:
    """The layer types model files know, by class name: Dense, BatchNorm, Dropout and every registered
    activation (``register_activation``), read when a file is rebuilt or checked."""
    return {cls.__name__: cls for cls in (Dense, BatchNorm, Dropout, *ACTIVATIONS.values())}


#: The layer types of this package when it was imported (``layer_types()`` also has those registered since).
LAYER_TYPES = layer_types()

__all__ = [
    "Layer",
    "Dense",
    "BatchNorm",
    "Dropout",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Linear",
    "Softmax",
    "GELU",
    "ACTIVATIONS",
    "LAYER_TYPES",
    "layer_types",
    "activation_class",
    "activation_names",
    "register_activation",
    "get_activation",
    "softmax",
]
