"""Weight initialisation schemes, chosen by the activation that follows a Dense layer, and their registry.

A scheme is one function ``(shape, rng, scale) -> array`` registered under its name with
:func:`register_initializer`; ``Dense(init=...)``, the command line's and the estimators' settings
and model files read the names from :data:`INITIALIZERS`. The default scheme of a Dense layer is
the one the activation after it declares (``Activation.init``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # numpy.random is not imported with glassnet (it loads Cython modules)
    Scheme = Callable[[tuple[int, int], np.random.Generator, float | None], np.ndarray]
else:
    #: (fan_in, fan_out), the random generator, the optional scale of the plain schemes → the values.
    Scheme = Callable[..., Any]
#: The schemes by name (register_initializer fills it).
INITIALIZERS: dict[str, Scheme] = {}


def register_initializer(name: str) -> Callable[[Scheme], Scheme]:
    """Register a scheme under ``name`` (a function decorator); a taken name is an error."""

    def register(scheme: Scheme) -> Scheme:
        if INITIALIZERS.get(name, scheme) is not scheme:
            raise ValueError(f"initializer name {name!r} is taken.")
        INITIALIZERS[name] = scheme
        return scheme

    return register


@register_initializer("he_normal")
def _he_normal(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    return np.asarray(rng.standard_normal(shape) * np.sqrt(2.0 / shape[0]))


@register_initializer("he_uniform")
def _he_uniform(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    limit = np.sqrt(6.0 / shape[0])
    return np.asarray(rng.uniform(-limit, limit, shape))


@register_initializer("glorot_normal")
def _glorot_normal(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    return np.asarray(rng.standard_normal(shape) * np.sqrt(2.0 / (shape[0] + shape[1])))


@register_initializer("glorot_uniform")
def _glorot_uniform(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return np.asarray(rng.uniform(-limit, limit, shape))


@register_initializer("lecun_uniform")
def _lecun_uniform(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    limit = np.sqrt(3.0 / shape[0])
    return np.asarray(rng.uniform(-limit, limit, shape))


@register_initializer("normal")
def _normal(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    return rng.standard_normal(shape) * (0.01 if scale is None else scale)


@register_initializer("uniform")
def _uniform(shape: tuple[int, int], rng: np.random.Generator, scale: float | None) -> np.ndarray:
    limit = 1.0 / np.sqrt(shape[0]) if scale is None else scale
    return np.asarray(rng.uniform(-limit, limit, shape))


def initialize(
    shape: tuple[int, int], scheme: str, rng: np.random.Generator, dtype: np.dtype, scale: float | None = None
) -> np.ndarray:
    """Draw a (fan_in, fan_out) weight matrix.

    Parameters
    ----------
    shape : (fan_in, fan_out)
    scheme : str
        A name in ``INITIALIZERS``. ``"normal"`` draws N(0, scale²) (default scale 0.01), the
        "small random Gaussian" of older papers; ``"uniform"`` draws U[-scale, scale] with
        default scale 1/sqrt(fan_in), the "standard" initialisation of Glorot & Bengio (2010);
        ``"lecun_uniform"`` is U[-sqrt(3/fan_in), sqrt(3/fan_in)]; He's and Glorot's schemes keep the
        variance of ReLU and of symmetric activations' outputs.
    rng : numpy.random.Generator
    dtype : float32 or float64
    scale : float, optional
        Standard deviation (normal) or half-width (uniform) for the two plain schemes.
    """
    if scheme not in INITIALIZERS:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)}; got init={scheme!r}.")
    result: np.ndarray = INITIALIZERS[scheme](shape, rng, scale).astype(dtype, copy=False)
    return result
