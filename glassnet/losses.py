"""Losses: the error between prediction and truth, and its gradient with respect to the prediction.

Each loss averages over the batch (optionally weighted by ``sample_weight``) so that the
learning rate does not depend on the batch size.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np

from . import kernels


class Loss:
    """Base class: ``forward(y_pred, y_true, sample_weight=None) -> float`` then ``backward()``."""

    name = "loss"
    #: The activation the network's output applies at prediction time for this loss.
    output_activation = "linear"

    def __init__(self) -> None:
        self._ready = False
        self._grad: np.ndarray | None = None
        self._grad_full: np.ndarray | None = None

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """dL/d(y_pred) for the last ``forward`` call (a reused buffer)."""
        if not self._ready or self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward() was called before forward().")
        return self._grad

    def _grad_buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        full = self._grad_full
        if full is None or full.shape[0] < shape[0] or full.shape[1:] != shape[1:] or full.dtype != dtype:
            full = self._grad_full = np.empty(shape, dtype=dtype)
        grad = full if full.shape[0] == shape[0] else full[: shape[0]]
        self._grad = grad
        return grad

    @overload
    @staticmethod
    def _weights(sample_weight: None, n: int, dtype: np.dtype[Any]) -> tuple[None, float]: ...

    @overload
    @staticmethod
    def _weights(sample_weight: np.ndarray, n: int, dtype: np.dtype[Any]) -> tuple[np.ndarray, float]: ...

    @staticmethod
    def _weights(sample_weight: np.ndarray | None, n: int, dtype: np.dtype[Any]) -> tuple[np.ndarray | None, float]:
        """Per-row weights as a column and their sum (None and n without weights).

        A batch whose weights are all zero contributes nothing: its loss and gradient are zero (the sum
        is taken as 1 so that nothing divides by zero), as a repeated row's absent copies would.
        """
        if sample_weight is None:
            return None, float(n)
        total = float(np.sum(sample_weight))
        if total < 0 or not np.isfinite(total):
            raise ValueError(f"sample_weight must have a non-negative, finite sum over the batch; got {total}.")
        return np.asarray(sample_weight, dtype=dtype).reshape(-1, 1), total if total > 0 else 1.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """``L = 1/(n·k) Σ_i Σ_j (ŷ_ij − y_ij)²`` over n rows and k outputs (PyTorch's ``MSELoss``).

    Gradient: ``2 (ŷ − y) / (n·k)``.
    """

    name = "mse"

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        y_true = y_true.reshape(y_pred.shape)
        n, k = y_pred.shape
        grad = self._grad_buffer(y_pred.shape, y_pred.dtype)
        np.subtract(y_pred, y_true, out=grad)
        weights, total = self._weights(sample_weight, n, y_pred.dtype)
        if weights is None:
            loss: float = float(np.einsum("ij,ij->", grad, grad)) / (n * k)
            grad *= 2.0 / (n * k)
        else:
            loss = float(np.sum(weights * grad * grad)) / (total * k)
            grad *= weights * (2.0 / (total * k))
        self._ready = True
        return loss


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy *from logits* z (one or several independent outputs).

    ``L = mean(max(z, 0) − z·y + log(1 + e^{−|z|}))``: no overflow or ``log(0)`` for any finite z
    (tested to ``|z| = 1e4``). Gradient: ``(σ(z) − y) / (n·k)``.
    """

    name = "binary_cross_entropy"
    output_activation = "sigmoid"

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        z = y_pred
        y_true = y_true.reshape(z.shape)
        n, k = z.shape
        per_element = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        weights, total = self._weights(sample_weight, n, z.dtype)
        grad = self._grad_buffer(z.shape, z.dtype)
        stable_sigmoid(z, out=grad)
        grad -= y_true
        if weights is None:
            loss: float = float(per_element.sum()) / (n * k)
            grad *= 1.0 / (n * k)
        else:
            loss = float((weights * per_element).sum()) / (total * k)
            grad *= weights * (1.0 / (total * k))
        self._ready = True
        return loss


class SoftmaxCrossEntropy(Loss):
    """Softmax fused with cross-entropy, from logits z of shape (n, k).

    ``L = mean_i(logsumexp(z_i) − Σ_k t_ik z_ik)`` with targets t given as class indices (n,) or
    as rows of probabilities (n, k). The log-sum-exp subtracts the row maximum, so large logits
    are safe. Gradient: ``(softmax(z) − t) / n``.

    Parameters
    ----------
    label_smoothing : float in [0, 1), default=0
        Train towards ``(1 − ε)·t + ε/k`` instead of t (Szegedy et al. 2016; PyTorch's
        ``label_smoothing``): the network is not pushed to ever larger logits for the classes it
        already gets right.
    """

    name = "cross_entropy"
    output_activation = "softmax"
    #: Rows of the last ``forward`` whose arg-max is the true class, when the compiled kernel
    #: counted them on the way (class-index targets, no sample weights); None otherwise.
    n_correct: int | None = None
    _offsets = np.arange(0)
    _offsets_k = 0

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1); got label_smoothing={label_smoothing!r}.")
        self.label_smoothing = float(label_smoothing)

    def __repr__(self) -> str:
        smoothing = f"label_smoothing={self.label_smoothing:g}" if self.label_smoothing else ""
        return f"{type(self).__name__}({smoothing})"

    def _row_offsets(self, n: int, k: int) -> np.ndarray:
        if len(self._offsets) < n or self._offsets_k != k:
            self._offsets = np.arange(max(n, len(self._offsets))) * k
            self._offsets_k = k
        return self._offsets[:n]

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        z = y_pred
        n, k = z.shape
        grad = self._grad_buffer(z.shape, z.dtype)
        self.n_correct = None
        compiled = kernels.active()
        smoothing = self.label_smoothing
        hard = y_true.ndim == 1 and y_true.dtype.kind in "iu"
        if compiled is not None and sample_weight is None and hard and not smoothing:
            total, correct, bad = compiled.softmax_cross_entropy(z, y_true, grad, z.dtype.type(1.0 / n))
            if bad >= 0:
                raise ValueError(f"y_true[{bad}] = {y_true[bad]} is not a class index in [0, {k}).")
            self.n_correct = correct
            self._ready = True
            return float(total / n)
        # One pass serves both the loss and the gradient: e = exp(z − max), s = Σe,
        # log-sum-exp = max + log s, p = e / s.
        row_max = z.max(axis=1, keepdims=True)
        np.subtract(z, row_max, out=grad)
        np.exp(grad, out=grad)
        total_exp = np.add.reduce(grad, axis=1, keepdims=True)
        grad /= total_exp
        log_norm = (row_max + np.log(total_exp)).ravel()
        if y_true.ndim == 1 or (y_true.ndim == 2 and y_true.shape[1] == 1 and k > 1):
            # Positions of the true classes in the flattened (n, k) arrays: i·k + label_i.
            flat = self._row_offsets(n, k) + y_true.reshape(-1)
            per_row = log_norm - z.reshape(-1).take(flat)
            flat_grad = grad.reshape(-1)
            flat_grad[flat] -= 1.0 - smoothing
            if smoothing:  # targets (1 − ε)·onehot + ε/k
                per_row = (1.0 - smoothing) * per_row + smoothing * (log_norm - z.mean(axis=1))
                grad -= smoothing / k
        else:
            targets = y_true.reshape(z.shape)
            if smoothing:
                targets = (1.0 - smoothing) * targets + smoothing / k
            per_row = log_norm - np.einsum("ij,ij->i", targets, z)
            grad -= targets
        if sample_weight is None:
            loss: float = float(np.add.reduce(per_row)) / n
            grad *= 1.0 / n
            self._ready = True
            return loss
        weights, total = self._weights(sample_weight, n, z.dtype)
        loss = float((weights.ravel() * per_row).sum()) / total
        grad *= weights * (1.0 / total)
        self._ready = True
        return loss


def stable_sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """σ(z) computed through e^{−|z|}, which never overflows."""
    if out is None:
        out = np.empty_like(z)
    e = np.exp(-np.abs(z))
    positive = z >= 0
    np.divide(1.0, 1.0 + e, out=out, where=positive)
    np.divide(e, 1.0 + e, out=out, where=~positive)
    return out


#: Loss classes by name and alias (register_loss fills it; ``fit(loss=...)`` and model files read it).
LOSSES: dict[str, type[Loss]] = {}


def register_loss(cls: type[Loss], *aliases: str) -> type[Loss]:
    """Register a :class:`Loss` subclass under its ``name`` and ``aliases``; a taken name is an error."""
    for name in (cls.name, *aliases):
        if LOSSES.get(name, cls) is not cls:
            raise ValueError(f"loss name {name!r} is taken by {LOSSES[name].__name__}.")
        LOSSES[name] = cls
    return cls


register_loss(MeanSquaredError, "mean_squared_error", "squared_error")
register_loss(BinaryCrossEntropy, "bce")
register_loss(SoftmaxCrossEntropy, "categorical_cross_entropy", "log_loss")


def get_loss(name: str | Loss) -> Loss:
    """Return a loss from its name: ``"mse"``, ``"binary_cross_entropy"`` or ``"cross_entropy"``."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str) or name.lower() not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}; got loss={name!r}.")
    return LOSSES[name.lower()]()
