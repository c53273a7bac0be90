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
    get_activation,
    softmax,
)
from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout

LAYER_TYPES = {
    cls.__name__: cls for cls in (Dense, BatchNorm, Dropout, ReLU, LeakyReLU, Sigmoid, Tanh, Linear, Softmax)
}

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
    "ACTIVATIONS",
    "LAYER_TYPES",
    "get_activation",
    "softmax",
]
