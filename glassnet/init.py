"""Weight initialisation schemes, chosen by the activation that follows a Dense layer."""

from __future__ import annotations

import numpy as np

INITIALIZERS = ("he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_uniform", "normal", "uniform")

# The default scheme of a Dense layer is the one the activation after it declares (Activation.init).


def initialize(
    shape: tuple[int, int], scheme: str, rng: np.random.Generator, dtype: np.dtype, scale: float | None = None
) -> np.ndarray:
    """Draw a (fan_in, fan_out) weight matrix.

    Parameters
    ----------
    shape : (fan_in, fan_out)
    scheme : str
        One of ``INITIALIZERS``. ``"normal"`` draws N(0, scale²) (default scale 0.01), the
        "small random Gaussian" of older papers; ``"uniform"`` draws U[-scale, scale] with
        default scale 1/sqrt(fan_in), the "standard" initialisation of Glorot & Bengio (2010);
        ``"lecun_uniform"`` is U[-sqrt(3/fan_in), sqrt(3/fan_in)].
    rng : numpy.random.Generator
    dtype : float32 or float64
    scale : float, optional
        Standard deviation (normal) or half-width (uniform) for the two plain schemes.
    """
    fan_in, fan_out = shape
    if scheme == "he_normal":
        values = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
    elif scheme == "he_uniform":
        limit = np.sqrt(6.0 / fan_in)
        values = rng.uniform(-limit, limit, shape)
    elif scheme == "glorot_normal":
        values = rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))
    elif scheme == "glorot_uniform":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        values = rng.uniform(-limit, limit, shape)
    elif scheme == "lecun_uniform":
        limit = np.sqrt(3.0 / fan_in)
        values = rng.uniform(-limit, limit, shape)
    elif scheme == "normal":
        values = rng.standard_normal(shape) * (0.01 if scale is None else scale)
    elif scheme == "uniform":
        limit = 1.0 / np.sqrt(fan_in) if scale is None else scale
        values = rng.uniform(-limit, limit, shape)
    else:
        raise ValueError(f"init must be one of {INITIALIZERS}; got init={scheme!r}.")
    result: np.ndarray = values.astype(dtype, copy=False)
    return result
