"""The numba kernels behind :mod:`glassnet.kernels` (imported only when numba is installed).

Each kernel does in one pass what the NumPy reference code does in several array operations,
in the same order of float operations (no fast-math, so no reassociation or fused multiply-add
contraction): the optimizer updates give bit-identical weights to the NumPy path. Scalars are
passed already cast to the arrays' dtype, as NumPy would cast a Python float.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numba

if TYPE_CHECKING:
    import numpy as np

#: Array parameters are NumPy arrays; scalar ones are NumPy scalars of the arrays' dtype.
F = TypeVar("F", bound=Callable[..., Any])


def _jit(function: F) -> F:
    """Compile with numba, caching the machine code on disk when there is a writable place for it.

    ``error_model="numpy"``: x/0 gives inf/nan as in NumPy, with no ZeroDivisionError branch in
    the loops. Without a writable cache location (a read-only install and no writable home or
    ``NUMBA_CACHE_DIR``) the kernels are compiled anew in each process instead of failing.
    """
    try:
        compiled = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        compiled = numba.njit(cache=False, nogil=True, boundscheck=False, error_model="numpy")(function)
    return cast(F, compiled)


# -- optimizers ------------------------------------------------------------------------------
@_jit
def _sgd_range(
    value: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: Any, momentum: Any, nesterov: Any, decay: Any
) -> None:  # pragma: no cover - compiled
    # Mirrors optim.SGD._update: g ← ∇ + λw; v ← μv + g; w ← w − lr·(v or g + μv). One loop per
    # case, each free of branches, so that LLVM vectorizes it.
    if decay != 0:
        if momentum == 0:
            for i in range(value.shape[0]):
                value[i] = value[i] - (grad[i] + value[i] * decay) * lr
        elif nesterov:
            for i in range(value.shape[0]):
                g = grad[i] + value[i] * decay
                v = velocity[i] * momentum + g
                velocity[i] = v
                value[i] = value[i] - (g + v * momentum) * lr
        else:
            for i in range(value.shape[0]):
                v = velocity[i] * momentum + (grad[i] + value[i] * decay)
                velocity[i] = v
                value[i] = value[i] - v * lr
    elif momentum == 0:
        for i in range(value.shape[0]):
            value[i] = value[i] - grad[i] * lr
    elif nesterov:
        for i in range(value.shape[0]):
            g = grad[i]
            v = velocity[i] * momentum + g
            velocity[i] = v
            value[i] = value[i] - (g + v * momentum) * lr
    else:
        for i in range(value.shape[0]):
            v = velocity[i] * momentum + grad[i]
            velocity[i] = v
            value[i] = value[i] - v * lr


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
) -> None:  # pragma: no cover
    """One SGD update over a flat segment; weight decay on its first ``n_regularized`` entries."""
    zero = weight_decay - weight_decay  # a zero of the same type: `* 0` would make it float64
    # Slices, so that each loop runs from 0 with indices numba knows are non-negative (no
    # wrap-around checks, which would keep LLVM from vectorizing).
    k = n_regularized
    _sgd_range(value[:k], grad[:k], velocity[:k], lr, momentum, nesterov, weight_decay)
    _sgd_range(value[k:], grad[k:], velocity[k:], lr, momentum, nesterov, zero)


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
) -> None:  # pragma: no cover - compiled
    if decay != 0:
        for i in range(value.shape[0]):
            g = grad[i] + value[i] * decay
            mi = m[i] * beta1 + g * one_minus_beta1
            vi = v[i] * beta2 + (g * g) * one_minus_beta2
            m[i] = mi
            v[i] = vi
            value[i] = value[i] - (mi / (math.sqrt(vi) * inv_sqrt_bias2 + eps)) * step_size
    else:
        for i in range(value.shape[0]):
            g = grad[i]
            mi = m[i] * beta1 + g * one_minus_beta1
            vi = v[i] * beta2 + (g * g) * one_minus_beta2
            m[i] = mi
            v[i] = vi
            value[i] = value[i] - (mi / (math.sqrt(vi) * inv_sqrt_bias2 + eps)) * step_size


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
) -> None:  # pragma: no cover - compiled
    """One Adam/AdamW update; ``decoupled_factor`` (1 − lr·λ, or 1) scales the weights first."""
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


# -- inference -------------------------------------------------------------------------------
# One row of the plan per block (a Dense layer, optionally batch norm, then an activation):
# indices into the tuple of arrays (W, b, running mean, running var, gamma, beta; -1 = absent),
# then fan-in, fan-out and the activation code; fspec holds (batch-norm eps, leaky-ReLU slope).
IDENTITY, RELU, LEAKY_RELU, SIGMOID, TANH, SOFTMAX = range(6)


@_jit
def _activate(acc: np.ndarray, fan_out: Any, act: Any, slope: Any) -> None:  # pragma: no cover - compiled
    """Apply activation ``act`` to ``acc[:fan_out]`` in place."""
    if act == RELU:
        for j in range(fan_out):
            if acc[j] < 0:
                acc[j] = 0
    elif act == LEAKY_RELU:
        for j in range(fan_out):
            if acc[j] < 0:
                acc[j] = acc[j] * slope
    elif act == SIGMOID:
        for j in range(fan_out):
            acc[j] = 1 / (1 + math.exp(-acc[j]))
    elif act == TANH:
        for j in range(fan_out):
            acc[j] = math.tanh(acc[j])
    elif act == SOFTMAX:
        best = acc[0]
        for j in range(1, fan_out):
            if acc[j] > best:
                best = acc[j]
        s = 0.0
        for j in range(fan_out):
            acc[j] = math.exp(acc[j] - best)
            s += acc[j]
        for j in range(fan_out):
            acc[j] = acc[j] / s


@_jit
def mlp_infer(
    x: np.ndarray, arrays: Any, spec: np.ndarray, fspec: np.ndarray, out: np.ndarray, work: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Inference through Dense/batch-norm/activation blocks, row by row, without NumPy calls."""
    n = x.shape[0]
    blocks = spec.shape[0]
    for r in range(n):
        src = 0  # row of `work` holding the current activations; -1 means x itself
        for blk in range(blocks):
            w_i, b_i, mean_i, var_i, gamma_i, beta_i, fan_in, fan_out, act = (
                spec[blk, 0],
                spec[blk, 1],
                spec[blk, 2],
                spec[blk, 3],
                spec[blk, 4],
                spec[blk, 5],
                spec[blk, 6],
                spec[blk, 7],
                spec[blk, 8],
            )
            dst = 1 - src if blk > 0 else 0
            acc = work[dst]
            if b_i >= 0:
                bias = arrays[b_i]
                for j in range(fan_out):
                    acc[j] = bias[j]
            else:
                for j in range(fan_out):
                    acc[j] = 0
            # 2-D indices from loop counters are provably non-negative: no wrap-around checks, so
            # LLVM vectorizes the inner loop.
            weights = arrays[w_i].reshape((fan_in, fan_out))
            for i in range(fan_in):
                xi = x[r, i] if blk == 0 else work[src, i]
                if xi != 0:
                    for j in range(fan_out):
                        acc[j] += xi * weights[i, j]
            if mean_i >= 0:
                mean, var, gamma, beta = arrays[mean_i], arrays[var_i], arrays[gamma_i], arrays[beta_i]
                eps = fspec[blk, 0]
                for j in range(fan_out):
                    scale = gamma[j] / math.sqrt(var[j] + eps)
                    acc[j] = (acc[j] - mean[j]) * scale + beta[j]
            _activate(acc, fan_out, act, fspec[blk, 1])
            src = dst
        for j in range(out.shape[1]):
            out[r, j] = work[src, j]
