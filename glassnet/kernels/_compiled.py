"""The numba kernels behind :mod:`glassnet.kernels` (imported only when numba is installed).

Each kernel does in one pass what the NumPy reference code does in several array operations,
in the same order of float operations (no fast-math, so no reassociation or fused multiply-add
contraction): the optimizer updates give bit-identical weights to the NumPy path. Scalars are
passed already cast to the arrays' dtype, as NumPy would cast a Python float.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

#: Array parameters are NumPy arrays; scalar ones are NumPy scalars of the arrays' dtype.
F = TypeVar("F", bound=Callable[..., Any])


def _jit(function: F) -> F:
    """Compile with numba, caching the machine code on disk when there is a writable place for it.

    ``error_model="numpy"``: x/0 gives inf/nan as in NumPy, with no ZeroDivisionError branch in
    the loops. Without a writable cache location (a read-only install and no writable home or
    ``NUMBA_CACHE_DIR``) the kernels are compiled anew in each process instead of failing.
    """
    return _compile(function, fastmath=False)


def _compile(function: F, fastmath: Any) -> F:
    """:func:`_jit` with numba's ``fastmath`` option (False, or a set of LLVM flags)."""
    options = {"nogil": True, "boundscheck": False, "error_model": "numpy", "fastmath": fastmath}
    try:
        compiled = numba.njit(cache=True, **options)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        compiled = numba.njit(cache=False, **options)(function)
    return cast(F, compiled)


# -- optimizers ------------------------------------------------------------------------------
@_jit
def _flushed(x: Any, tiny: Any) -> Any:  # pragma: no cover - compiled
    """``x``, or zero when it is subnormal (NaN kept): ``glassnet.floats.flush_subnormals`` per entry."""
    return x - x if abs(x) < tiny else x


@_jit
def _sgd_range(
    value: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    lr: Any,
    momentum: Any,
    nesterov: Any,
    decay: Any,
    tiny: Any,
) -> None:  # pragma: no cover - compiled
    # Mirrors optim.SGD._update: g ← ∇ + λw; v ← μv + g; w ← w − lr·(v or g + μv); then the flush of
    # w and v. One loop per case, each free of branches, so that LLVM vectorizes it.
    if decay != 0:
        if momentum == 0:
            for i in range(value.shape[0]):
                value[i] = _flushed(value[i] - (grad[i] + value[i] * decay) * lr, tiny)
        elif nesterov:
            for i in range(value.shape[0]):
                g = grad[i] + value[i] * decay
                v = velocity[i] * momentum + g
                velocity[i] = _flushed(v, tiny)
                value[i] = _flushed(value[i] - (g + v * momentum) * lr, tiny)
        else:
            for i in range(value.shape[0]):
                v = velocity[i] * momentum + (grad[i] + value[i] * decay)
                velocity[i] = _flushed(v, tiny)
                value[i] = _flushed(value[i] - v * lr, tiny)
    elif momentum == 0:
        for i in range(value.shape[0]):
            value[i] = _flushed(value[i] - grad[i] * lr, tiny)
    elif nesterov:
        for i in range(value.shape[0]):
            g = grad[i]
            v = velocity[i] * momentum + g
            velocity[i] = _flushed(v, tiny)
            value[i] = _flushed(value[i] - (g + v * momentum) * lr, tiny)
    else:
        for i in range(value.shape[0]):
            v = velocity[i] * momentum + grad[i]
            velocity[i] = _flushed(v, tiny)
            value[i] = _flushed(value[i] - v * lr, tiny)


@_jit
def sgd_step(
    value: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    lr: Any,
    momentum: Any,
    nesterov: Any,
    weight_decay: Any,
    n_regularized: Any,
    tiny: Any,
) -> None:  # pragma: no cover
    """One SGD update over a flat segment; weight decay on its first ``n_regularized`` entries; entries
    that end below ``tiny`` (the smallest normal number) in magnitude are flushed to zero."""
    zero = weight_decay - weight_decay  # a zero of the same type: `* 0` would make it float64
    # Slices, so that each loop runs from 0 with indices numba knows are non-negative (no
    # wrap-around checks, which would keep LLVM from vectorizing).
    k = n_regularized
    _sgd_range(value[:k], grad[:k], velocity[:k], lr, momentum, nesterov, weight_decay, tiny)
    _sgd_range(value[k:], grad[k:], velocity[k:], lr, momentum, nesterov, zero, tiny)


@_jit
def _adam_range(
    value: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    beta1: Any,
    one_minus_beta1: Any,
    beta2: Any,
    one_minus_beta2: Any,
    inv_sqrt_bias2: Any,
    eps: Any,
    step_size: Any,
    decay: Any,
    tiny: Any,
) -> None:  # pragma: no cover - compiled
    # Mirrors optim.Adam._update, then the flush of w, m and v (the update reads m and v unflushed).
    if decay != 0:
        for i in range(value.shape[0]):
            g = grad[i] + value[i] * decay
            mi = m[i] * beta1 + g * one_minus_beta1
            vi = v[i] * beta2 + (g * g) * one_minus_beta2
            m[i] = _flushed(mi, tiny)
            v[i] = _flushed(vi, tiny)
            value[i] = _flushed(value[i] - (mi / (math.sqrt(vi) * inv_sqrt_bias2 + eps)) * step_size, tiny)
    else:
        for i in range(value.shape[0]):
            g = grad[i]
            mi = m[i] * beta1 + g * one_minus_beta1
            vi = v[i] * beta2 + (g * g) * one_minus_beta2
            m[i] = _flushed(mi, tiny)
            v[i] = _flushed(vi, tiny)
            value[i] = _flushed(value[i] - (mi / (math.sqrt(vi) * inv_sqrt_bias2 + eps)) * step_size, tiny)


@_jit
def adam_step(
    value: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    beta1: Any,
    one_minus_beta1: Any,
    beta2: Any,
    one_minus_beta2: Any,
    inv_sqrt_bias2: Any,
    eps: Any,
    step_size: Any,
    weight_decay: Any,
    decoupled_factor: Any,
    n_regularized: Any,
    tiny: Any,
) -> None:  # pragma: no cover - compiled
    """One Adam/AdamW update; ``decoupled_factor`` (1 − lr·λ, or 1) scales the weights first; entries
    that end below ``tiny`` (the smallest normal number) in magnitude are flushed to zero."""
    zero = weight_decay - weight_decay  # a zero of the same type: `* 0` would make it float64
    if decoupled_factor != 1:
        for i in range(n_regularized):
            value[i] = value[i] * decoupled_factor
    k = n_regularized
    _adam_range(
        value[:k],
        grad[:k],
        m[:k],
        v[:k],
        beta1,
        one_minus_beta1,
        beta2,
        one_minus_beta2,
        inv_sqrt_bias2,
        eps,
        step_size,
        weight_decay,
        tiny,
    )
    _adam_range(
        value[k:],
        grad[k:],
        m[k:],
        v[k:],
        beta1,
        one_minus_beta1,
        beta2,
        one_minus_beta2,
        inv_sqrt_bias2,
        eps,
        step_size,
        zero,
        tiny,
    )


# -- loss and activations -------------------------------------------------------------------
@_jit
def softmax_cross_entropy(
    z: np.ndarray, labels: np.ndarray, grad: np.ndarray, scale: Any
) -> tuple[Any, ...]:  # pragma: no cover - compiled
    """Softmax cross-entropy from logits with class-index targets, in one pass per row.

    Writes ``grad = (softmax(z) − onehot) · scale`` and returns (Σ per-row loss as float64,
    rows whose arg-max is the label, -1 if every label is valid else the first bad row).
    """
    n, k = z.shape
    total = 0.0
    correct = 0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= k:
            return total, correct, i
        best = z[i, 0]
        best_index = 0
        for j in range(1, k):
            if z[i, j] > best:
                best = z[i, j]
                best_index = j
        s = 0.0
        for j in range(k):
            e = math.exp(z[i, j] - best)
            grad[i, j] = e
            s += e
        for j in range(k):
            grad[i, j] = grad[i, j] / s
        grad[i, label] -= 1
        for j in range(k):
            grad[i, j] *= scale
        total += (float(best) + math.log(float(s))) - float(z[i, label])
        if best_index == label:
            correct += 1
    return total, correct, -1


@_jit
def relu_forward(x: np.ndarray, out: np.ndarray, mask: np.ndarray) -> None:  # pragma: no cover - compiled
    """``mask = x > 0`` and ``out = x · mask`` in one pass."""
    n, k = x.shape
    for i in range(n):
        for j in range(k):
            positive = x[i, j] > 0
            mask[i, j] = positive
            out[i, j] = x[i, j] if positive else x[i, j] * 0  # as NumPy's x·mask: −0.0 and NaN kept


@_jit
def relu_backward(
    grad_output: np.ndarray, mask: np.ndarray, grad_input: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``grad_input = grad_output · mask`` (the mask of the forward pass)."""
    n, k = grad_output.shape
    for i in range(n):
        for j in range(k):
            grad_input[i, j] = grad_output[i, j] * mask[i, j]


@_jit
def column_sums(a: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out = Σ_rows a``, adding row after row as NumPy's axis-0 reduction does (same result)."""
    n, k = a.shape
    for j in range(k):
        out[j] = 0
    for i in range(n):
        for j in range(k):
            out[j] += a[i, j]


@_jit
def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    keep: Any,
    momentum: Any,
    unbias: Any,
    eps: Any,
    x_hat: np.ndarray,
    out: np.ndarray,
    inv_std: np.ndarray,
    mean: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Batch norm in training mode: the batch's mean and biased variance per column, ``x_hat``,
    ``out = γ·x̂ + β``, ``inv_std``, and the running statistics moved towards the batch's
    (``running = keep·running + momentum·statistic``, the variance scaled by ``unbias`` = n/(n−1)).
    """
    n, k = x.shape
    for j in range(k):
        mean[j] = 0
        inv_std[j] = 0
    for i in range(n):
        for j in range(k):
            mean[j] += x[i, j]
    for j in range(k):
        mean[j] = mean[j] / n
    for i in range(n):
        for j in range(k):
            d = x[i, j] - mean[j]
            x_hat[i, j] = d
            inv_std[j] += d * d  # the sum of squares, turned into 1/σ below
    for j in range(k):
        var = inv_std[j] / n
        inv_std[j] = 1 / math.sqrt(var + eps)
        running_mean[j] = running_mean[j] * keep + momentum * mean[j]
        running_var[j] = running_var[j] * keep + (momentum * unbias) * var
    for i in range(n):
        for j in range(k):
            h = x_hat[i, j] * inv_std[j]
            x_hat[i, j] = h
            out[i, j] = h * gamma[j] + beta[j]


@_jit
def batchnorm_backward(
    grad_output: np.ndarray,
    x_hat: np.ndarray,
    gamma: np.ndarray,
    inv_std: np.ndarray,
    batch_statistics: Any,
    grad_gamma: np.ndarray,
    grad_beta: np.ndarray,
    grad_input: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Batch norm's backward flow: ``grad_gamma = Σ g·x̂``, ``grad_beta = Σ g`` and ``grad_input``
    (with batch statistics ``γ/σ · (g − Σg/n − x̂·Σ(g·x̂)/n)``, else ``γ/σ · g``)."""
    n, k = grad_output.shape
    for j in range(k):
        grad_gamma[j] = 0
        grad_beta[j] = 0
    for i in range(n):
        for j in range(k):
            g = grad_output[i, j]
            grad_beta[j] += g
            grad_gamma[j] += g * x_hat[i, j]
    scale = gamma * inv_std
    if batch_statistics:
        slope = grad_gamma / n
        shift = grad_beta / n
        for i in range(n):
            for j in range(k):
                grad_input[i, j] = (grad_output[i, j] - x_hat[i, j] * slope[j] - shift[j]) * scale[j]
    else:
        for i in range(n):
            for j in range(k):
                grad_input[i, j] = grad_output[i, j] * scale[j]
