"""Whole-network inference in one compiled call, for small networks and few rows.

A prediction of one row through a small network is pure overhead in NumPy: two or three array
operations per layer, each costing far more than its arithmetic. :class:`InferencePlan` turns a
stack of Dense → [BatchNorm] → [activation] blocks into a table the compiled ``mlp_infer`` kernel
walks row by row. The plan holds references to the live parameter arrays (views of the network's
flat store and the batch-norm running statistics), so it never goes stale when weights are
trained or loaded in place.
"""

from __future__ import annotations

import numpy as np

#: Rows and multiply-adds (rows × weights) up to which the compiled kernel beats BLAS; above
#: them NumPy's matmul (multi-threaded, blocked) is faster. Measured with benchmarks/train_speed.py.
MAX_ROWS = 16
MAX_WORK = 400_000


class InferencePlan:
    """A compiled inference route through ``layers``; build with :meth:`build` (None if unsupported)."""

    def __init__(
        self,
        arrays: tuple,
        spec: np.ndarray,
        fspec: np.ndarray,
        width: int,
        out_dim: int,
        n_weights: int,
        watched: list,
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

    def run(self, compiled, x: np.ndarray) -> np.ndarray:
        out = np.empty((x.shape[0], self.out_dim), dtype=self.dtype)
        work = np.empty((2, self.width), dtype=self.dtype)  # per call: predictions may run in threads
        compiled.mlp_infer(x, self.arrays, self.spec, self.fspec, out, work)
        return out

    @classmethod
    def build(cls, layers, compiled) -> InferencePlan | None:
        from ..layers import BatchNorm, Dense, Dropout
        from ..layers.activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh

        codes = {
            ReLU: compiled.RELU,
            LeakyReLU: compiled.LEAKY_RELU,
            Sigmoid: compiled.SIGMOID,
            Tanh: compiled.TANH,
            Softmax: compiled.SOFTMAX,
            Linear: compiled.IDENTITY,
        }
        arrays: list[np.ndarray] = []
        watched: list = []
        rows, frows = [], []

        def add(owner, attribute: str, array: np.ndarray) -> int:
            if (arrays and array.dtype != arrays[0].dtype) or not array.flags.c_contiguous:
                raise _Unsupported  # the kernel needs one dtype, and views (not copies) of the arrays
            flat = array.reshape(-1)
            watched.append((owner, attribute, array))
            arrays.append(flat)
            return len(arrays) - 1

        try:
            for layer in layers:
                if isinstance(layer, Dropout):
                    continue
                if isinstance(layer, Dense):
                    w = add(layer.W, "value", layer.W.value)
                    b = add(layer.b, "value", layer.b.value) if layer.b is not None else -1
                    rows.append([w, b, -1, -1, -1, -1, layer.input_dim, layer.units, compiled.IDENTITY])
                    frows.append([0.0, 0.0])
                    state = "dense"
                elif isinstance(layer, BatchNorm) and rows and state == "dense":
                    rows[-1][2:6] = [
                        add(layer, "running_mean", layer.running_mean),
                        add(layer, "running_var", layer.running_var),
                        add(layer.gamma, "value", layer.gamma.value),
                        add(layer.beta, "value", layer.beta.value),
                    ]
                    frows[-1][0] = layer.eps
                    state = "normalized"
                elif type(layer) in codes and rows and state in ("dense", "normalized"):
                    rows[-1][8] = codes[type(layer)]
                    if isinstance(layer, LeakyReLU):
                        frows[-1][1] = layer.negative_slope
                    state = "activated"
                else:
                    return None
        except _Unsupported:
            return None
        if not rows:
            return None
        spec = np.array(rows, dtype=np.int64)
        return cls(
            tuple(arrays),
            spec,
            np.array(frows, dtype=np.float64),
            int(spec[:, 7].max()),
            int(spec[-1, 7]),
            int((spec[:, 6] * spec[:, 7]).sum()),
            watched,
        )


class _Unsupported(Exception):
    pass
