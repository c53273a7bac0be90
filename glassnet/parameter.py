"""A trainable tensor that carries its own gradient."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A named array of trainable values together with the gradient of the loss with respect to it.

    Parameters
    ----------
    value : ndarray
        The initial values; the parameter keeps this array (no copy).
    name : str
        A readable name such as ``"dense_1.W"``.
    regularize : bool, default=True
        Whether weight decay (L2) applies to it. Weights are regularized; intercepts and
        batch-norm scale/shift are not.

    Notes
    -----
    Layers *accumulate* into ``grad`` (``+=``) unless the gradient was just cleared by
    ``zero_grad``, in which case the first contribution is written directly (no extra pass).
    Optimizers update ``value`` in place, so every reference to it stays valid.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.zeros((2, 3), dtype=np.float32), "W")
    >>> p.shape, p.grad.dtype
    ((2, 3), dtype('float32'))
    """

    __slots__ = ("value", "grad", "name", "regularize", "fresh", "store", "offset")

    def __init__(self, value: np.ndarray, name: str = "", regularize: bool = True) -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.regularize = regularize
        # True right after zero_grad: the next backward may overwrite grad instead of adding.
        self.fresh = True
        #: The FlatStore holding value and grad when they are views of one flat array, and where
        #: they start in its ``values`` and ``grads``.
        self.store: FlatStore | None = None
        self.offset = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def zero_grad(self) -> None:
        """Clear the accumulated gradient."""
        self.grad.fill(0)
        self.fresh = True

    def accumulate(self, contribution: np.ndarray) -> None:
        """Add ``contribution`` to the gradient (or write it, right after ``zero_grad``)."""
        if self.fresh:
            np.copyto(self.grad, contribution)
            self.fresh = False
        else:
            self.grad += contribution

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.value.dtype})"


class FlatStore:
    """Values and gradients of many parameters as two flat arrays, regularized parameters first.

    Every parameter's ``value`` and ``grad`` become reshaped views into ``values`` and ``grads``,
    so an optimizer can update all of them with a few vectorized operations.
    """

    def __init__(self, parameters: list[Parameter], dtype: np.dtype) -> None:
        ordered = [p for p in parameters if p.regularize] + [p for p in parameters if not p.regularize]
        total = sum(p.size for p in ordered)
        self.values = np.empty(total, dtype=dtype)
        self.grads = np.zeros(total, dtype=dtype)
        self.parameters = ordered
        self.n_regularized = sum(p.size for p in ordered if p.regularize)
        offset = 0
        for p in ordered:
            view = self.values[offset : offset + p.size].reshape(p.shape)
            view[...] = p.value
            p.value = view
            p.grad = self.grads[offset : offset + p.size].reshape(p.shape)
            p.store, p.offset = self, offset
            offset += p.size
