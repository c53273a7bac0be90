"""Whole-network inference in one compiled call, for small networks and few rows.

A prediction of one row through a small network is pure overhead in NumPy: two or three array
operations per layer, each costing far more than its arithmetic. :class:`InferencePlan` turns a
stack of Dense → [BatchNorm] → [activation] blocks into a table the compiled ``mlp_infer`` kernel
walks row by row. The plan holds references to the live parameter arrays (views of the network's
flat store and the batch-norm running statistics), so it never goes stale when weights are
trained or loaded in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..layers import Layer

#: Rows and multiply-adds (rows × weights) up to which the compiled kernel beats BLAS; above
#: them NumPy's matmul (multi-threaded, blocked) is faster. Measured with benchmarks/train_speed.py.
MAX_ROWS = 16
MAX_WORK = 400_000


class InferencePlan:
    """A compiled inference route through ``layers``; build with :meth:`build` (None if unsupported)."""

    def __init__(
        self,
        arrays: tuple[Any, ...],
        spec: np.ndarray,
        fspec: np.ndarray,
        width: int,
        out_dim: int,
        n_weights: int,
        watched: list[Any],
    ) -> None:
        self.arrays, self.spec, self.fspec = arrays, spec, fspec
        self.width, self.out_dim, self.n_weights = width, out_dim, n_weights
        self._watched = watched  # (owner, attribute, array): a reassigned array invalidates the plan
        self.dtype = arrays[0].dtype

    def valid(self) -> bool:
        for owner, attribute, array in self._watched:
            if getattr(owner, attribute) is not array:
                return False
        return True

    def suits(self, rows: int) -> bool:
        return rows <= MAX_ROWS and rows * self.n_weights <= MAX_WORK

    def run(self, compiled: ModuleType, x: np.ndarray) -> np.ndarray:
        out = np.empty((x.shape[0], self.out_dim), dtype=self.dtype)
        work = np.empty((2, self.width), dtype=self.dtype)  # per call: predictions may run in threads
        compiled.mlp_infer(x, self.arrays, self.spec, self.fspec, out, work)
        return out

    @classmethod
    def build(cls, layers: Sequence[Layer], compiled: ModuleType) -> InferencePlan | None:
        """The plan for ``layers``, or None when they are not Dense/batch-norm/activation blocks."""
        table = _PlanTable(compiled)
        try:
            for layer in layers:
                if not table.add_layer(layer):
                    return None
        except _Unsupported:
            return None
        if not table.rows:
            return None
        spec = np.array(table.rows, dtype=np.int64)
        return cls(
            tuple(table.arrays),
            spec,
            np.array(table.frows, dtype=np.float64),
            int(spec[:, 7].max()),
            int(spec[-1, 7]),
            int((spec[:, 6] * spec[:, 7]).sum()),
            table.watched,
        )


class _PlanTable:
    """The rows of a plan as its layers are read, with the arrays they point into."""

    def __init__(self, compiled: ModuleType) -> None:
        from ..layers.activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh

        self.codes = {
            ReLU: compiled.RELU,
            LeakyReLU: compiled.LEAKY_RELU,
            Sigmoid: compiled.SIGMOID,
            Tanh: compiled.TANH,
            Softmax: compiled.SOFTMAX,
            Linear: compiled.IDENTITY,
        }
        self.identity = compiled.IDENTITY
        self.arrays: list[np.ndarray] = []
        self.watched: list[Any] = []
        self.rows: list[list[int]] = []
        self.frows: list[list[float]] = []
        self.state = "start"

    def _array(self, owner: object, attribute: str, array: np.ndarray) -> int:
        if (self.arrays and array.dtype != self.arrays[0].dtype) or not array.flags.c_contiguous:
            raise _Unsupported  # the kernel needs one dtype, and views (not copies) of the arrays
        self.watched.append((owner, attribute, array))
        self.arrays.append(array.reshape(-1))
        return len(self.arrays) - 1

    def add_layer(self, layer: Layer) -> bool:
        """Extend the table by ``layer``; False when the kernel cannot run it."""
        from ..layers import BatchNorm, Dense, Dropout
        from ..layers.activations import LeakyReLU

        if isinstance(layer, Dropout):
            return True
        if isinstance(layer, Dense):
            w = self._array(layer.W, "value", layer.W.value)
            b = self._array(layer.b, "value", layer.b.value) if layer.b is not None else -1
            self.rows.append([w, b, -1, -1, -1, -1, layer.input_dim, layer.units, self.identity])
            self.frows.append([0.0, 0.0])
            self.state = "dense"
        elif isinstance(layer, BatchNorm) and self.state == "dense":
            self.rows[-1][2:6] = [
                self._array(layer, "running_mean", layer.running_mean),
                self._array(layer, "running_var", layer.running_var),
                self._array(layer.gamma, "value", layer.gamma.value),
                self._array(layer.beta, "value", layer.beta.value),
            ]
            self.frows[-1][0] = layer.eps
            self.state = "normalized"
        elif type(layer) in self.codes and self.state in ("dense", "normalized"):
            self.rows[-1][8] = self.codes[type(layer)]
            if isinstance(layer, LeakyReLU):
                self.frows[-1][1] = layer.negative_slope
            self.state = "activated"
        else:
            return False
        return True


class _Unsupported(Exception):
    pass
