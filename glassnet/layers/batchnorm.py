"""Batch normalization (Ioffe & Szegedy, 2015), placed between a Dense layer and its activation."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import kernels
from .._validation import check_fraction, check_positive_float
from ..parameter import Parameter
from .base import Layer


class BatchNorm(Layer):
    """Normalize each unit over the mini-batch, then scale by γ and shift by β.

    Training: ``x̂ = (x − μ_B) / sqrt(σ²_B + eps)`` with the mean μ_B and the *biased* variance
    σ²_B (divide by n) of the current mini-batch, then ``y = γ x̂ + β``.  Inference: the running
    statistics replace the batch ones, so a prediction never depends on the other rows.

    Parameters
    ----------
    momentum : float, default=0.1
        PyTorch's convention: ``running = (1 − momentum) · running + momentum · batch_statistic``
        (Keras' ``momentum=0.99`` corresponds to 0.01 here).
    eps : float, default=1e-5
        Added to the variance before the square root.

    Notes
    -----
    - The running variance is updated with the *unbiased* batch variance (divide by n − 1), as in
      PyTorch and the paper's inference procedure; the normalization itself uses the biased one.
    - A training batch of a single row has no variance to normalize by. Rather than producing
      ``β`` for every input (zero gradient) or NaN, such a batch is normalized with the running
      statistics, exactly as at inference, and the running statistics are left unchanged. A
      ``RuntimeWarning`` says so once per layer.
    - Parameters γ (``gamma``) and β (``beta``) are not subject to weight decay.

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> bn = gn.BatchNorm()
    >>> bn.build(3, np.float64, np.random.default_rng(0))
    >>> y = bn.forward(np.random.default_rng(1).normal(5, 2, (64, 3)), training=True)
    >>> np.allclose(y.mean(axis=0), 0, atol=1e-7)
    True
    """

    kind = "batch_norm"
    is_linear = True  # affine at inference

    writes_fresh_gradients = True  # through Parameter.accumulate
    gamma: Parameter  # created by build, with beta and the running statistics
    beta: Parameter
    running_mean: np.ndarray
    running_var: np.ndarray

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5, name: str | None = None) -> None:
        super().__init__(name)
        self.momentum = check_fraction(momentum, "momentum", low_open=False, high_open=False)
        self.eps = check_positive_float(eps, "eps")
        self._warned_single_row = False

    def build(self, input_dim: int, dtype: np.dtype, rng: np.random.Generator) -> None:
        super().build(input_dim, dtype, rng)
        prefix = self.name or "batch_norm"
        self.gamma = Parameter(np.ones(input_dim, dtype=self.dtype), f"{prefix}.gamma", regularize=False)
        self.beta = Parameter(np.zeros(input_dim, dtype=self.dtype), f"{prefix}.beta", regularize=False)
        self.running_mean = np.zeros(input_dim, dtype=self.dtype)
        self.running_var = np.ones(input_dim, dtype=self.dtype)
        self.num_batches_tracked = 0

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta] if self.built else []

    def buffers(self) -> dict[str, np.ndarray]:
        if not self.built:
            return {}
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def inference_scale_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """The affine map of inference mode: ``y = x · scale + shift``."""
        scale = self.gamma.value / np.sqrt(self.running_var + self.eps)
        shift = self.beta.value - self.running_mean * scale
        return scale.astype(self.dtype, copy=False), shift.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        n = x.shape[0]
        out = self._workspace("out", n, self.input_dim)
        x_hat = self._workspace("x_hat", n, self.input_dim)
        self._batch_statistics = training and n > 1
        if training and n == 1 and not self._warned_single_row:
            warnings.warn(
                f"{self.describe()}: a training batch of 1 row has no variance; it is "
                "normalized with the running statistics (as at inference), which are "
                "not updated.",
                RuntimeWarning,
                stacklevel=2,
            )
            self._warned_single_row = True
        compiled = kernels.active()
        if self._batch_statistics and compiled is not None:
            stats = self._workspace("stats", 2, self.input_dim)  # 1/σ, and the mean
            self._inv_std = stats[0]
            dtype = self.dtype.type
            compiled.batchnorm_forward(
                x,
                self.gamma.value,
                self.beta.value,
                self.running_mean,
                self.running_var,
                dtype(1.0 - self.momentum),
                dtype(self.momentum),
                dtype(n / (n - 1)),
                dtype(self.eps),
                x_hat,
                out,
                stats[0],
                stats[1],
            )
            self.num_batches_tracked += 1
            self._mark_forward(x)
            return out
        if self._batch_statistics:
            mean = x.mean(axis=0)
            np.subtract(x, mean, out=x_hat)
            var = np.einsum("ij,ij->j", x_hat, x_hat) / n  # biased variance, one pass, no temporary
            inv_std = 1.0 / np.sqrt(var + self.eps)
            x_hat *= inv_std
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += (m * n / (n - 1)) * var
            self.num_batches_tracked += 1
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            np.subtract(x, self.running_mean, out=x_hat)
            x_hat *= inv_std
        self._inv_std = inv_std.astype(self.dtype, copy=False)
        np.multiply(x_hat, self.gamma.value, out=out)
        out += self.beta.value
        self._mark_forward(x)
        return out

    def infer(self, x: np.ndarray) -> np.ndarray:
        scale = self.gamma.value / np.sqrt(self.running_var + self.dtype.type(self.eps))
        out: np.ndarray = x - self.running_mean
        out *= scale
        out += self.beta.value
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        n = grad_output.shape[0]
        x_hat = self._workspaces["x_hat"][:n]
        compiled = kernels.active()
        if compiled is not None:
            grads = self._workspace("grads", 2, self.input_dim)
            grad_input = self._workspace("grad_input", n, self.input_dim)
            compiled.batchnorm_backward(
                grad_output,
                x_hat,
                self.gamma.value,
                self._inv_std,
                self._batch_statistics,
                grads[0],
                grads[1],
                grad_input,
            )
            self.gamma.accumulate(grads[0])
            self.beta.accumulate(grads[1])
            return grad_input
        grad_beta = grad_output.sum(axis=0)
        grad_gamma = np.einsum("ij,ij->j", grad_output, x_hat)
        self.gamma.accumulate(grad_gamma)
        self.beta.accumulate(grad_beta)
        grad_input = self._workspace("grad_input", n, self.input_dim)
        scale = self.gamma.value * self._inv_std
        if self._batch_statistics:
            # Compact form: dx = γ/σ · (g − mean(g) − x̂ · mean(g ⊙ x̂)), since μ and σ depend on x.
            np.multiply(x_hat, grad_gamma / n, out=grad_input)
            np.subtract(grad_output, grad_input, out=grad_input)
            grad_input -= grad_beta / n
            grad_input *= scale
        else:
            np.multiply(grad_output, scale, out=grad_input)
        return grad_input

    def config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "eps": self.eps}
