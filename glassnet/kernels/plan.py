"""Whole-network inference and training steps in one compiled call, for small networks.

A prediction of one row through a small network is pure overhead in NumPy: two or three array
operations per layer, each costing far more than its arithmetic. :class:`InferencePlan` turns a
stack of Dense → [BatchNorm] → [activation] blocks into a table the compiled ``mlp_infer``
kernel (``kernels/_networks.py``) walks row by row. The plan holds references to the live
parameter arrays (views of the network's flat store and the batch-norm running statistics), so
it never goes stale when weights are trained or loaded in place. :class:`TrainingPlan` does the
same for a whole training step of a small Dense/activation stack (``mlp_train_step``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..losses import SoftmaxCrossEntropy

if TYPE_CHECKING:
    from ..layers import Layer

#: Rows and multiply-adds (rows × weights) up to which the compiled kernel beats BLAS; above
#: them NumPy's matmul (multi-threaded, blocked) is faster. Measured with benchmarks/train_speed.py.
MAX_ROWS = 16
MAX_WORK = 400_000
#: Rows × weights up to which one compiled training step (one thread) beats the layer-by-layer
#: step (BLAS, two threads). Measured on 2 cores, AMD EPYC Zen 3 (train_step of 64-32-32-10 on
#: 32 rows, 109k: 28 µs against 60; 64-64-64-10 on 64 rows, 565k: 96 against 109; 64-128-128-10
#: on 32 rows, 827k: 162 against 124).
MAX_TRAIN_WORK = 600_000


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

    def run(self, x: np.ndarray) -> np.ndarray:
        out = np.empty((x.shape[0], self.out_dim), dtype=self.dtype)
        work = np.empty((2, self.width), dtype=self.dtype)  # per call: predictions may run in threads
        _networks().mlp_infer(x, self.arrays, self.spec, self.fspec, out, work)
        return out

    @classmethod
    def build(cls, layers: Sequence[Layer]) -> InferencePlan | None:
        """The plan for ``layers``, or None when they are not Dense/batch-norm/activation blocks."""
        table = _PlanTable(_networks())
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


class TrainingPlan:
    """A compiled training step (forward, softmax cross-entropy, backward) through ``layers``.

    For small Dense/activation stacks trained on class indices: one call instead of a dozen
    NumPy calls per layer, whose overhead dominates a small network's step. The kernel reads the
    weights from, and writes the gradients into, the network's flat parameter store. Its sums
    run in another order than BLAS's, so the weights agree with the layer-by-layer step to
    float32 rounding, not bit for bit; the same seed still gives the same weights.
    """

    def __init__(self, first: Layer, store: Any, spec: np.ndarray, fspec: np.ndarray, owners: list[Any]) -> None:
        self._first, self.store, self.spec, self.fspec = first, store, spec, fspec
        # (parameter, its value, its gradient): a parameter given new arrays invalidates the plan
        self._watched = [(p, p.value, p.grad) for p in owners]
        self.n_weights = int((spec[:, 6] * spec[:, 7]).sum())
        self._width = int(spec[:, 7].max())
        self._outputs = int(spec[:, 7].sum())
        self._work = np.empty(0, dtype=store.values.dtype)

    def valid(self) -> bool:
        for p, value, grad in self._watched:  # a loop, not all(...): this runs on every step
            if p.value is not value or p.grad is not grad:
                return False
        return True

    def suits(self, rows: int) -> bool:
        return rows * self.n_weights <= MAX_TRAIN_WORK

    def work_size(self, rows: int) -> int:
        """Scratch elements for ``rows``: the transposed weights, each block's output, two gradients."""
        return self.n_weights + rows * (self._outputs + 2 * self._width)

    def step(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
        """Fill every gradient; returns (the mean loss, rows classified correctly), as ``train_step``.

        ``x`` is checked as the first layer checks it (width and dtype: the kernel reads without
        bounds checks), and ``labels`` must have one entry per row.
        """
        self._first.check_input(x)  # the first layer's own check and message
        if labels.shape != (x.shape[0],):
            raise ValueError(f"y_true must have one class index per row, shape ({x.shape[0]},); got {labels.shape}.")
        x = np.ascontiguousarray(x)  # a strided view would need a kernel compiled for it
        size = self.work_size(x.shape[0])
        if self._work.size < size:
            self._work = np.empty(size, dtype=self._work.dtype)
        store = self.store
        total, correct, bad = _networks().mlp_train_step(
            x,
            labels.astype(np.int64, copy=False),  # one compiled version for every integer type
            store.values,
            store.grads,
            self.spec,
            self.fspec,
            self._work,
            store.values.dtype.type(1.0 / len(x)),
        )
        if bad >= 0:
            raise ValueError(f"y_true[{bad}] = {labels[bad]} is not a class index in [0, {self.spec[-1, 7]}).")
        for p, _, _ in self._watched:
            p.fresh = False
        return float(total) / len(x), int(correct)

    @staticmethod
    def applies(loss: Any, y: np.ndarray, sample_weight: np.ndarray | None) -> bool:
        """Whether a step with this loss and these targets can be compiled: softmax cross-entropy on
        class indices, without label smoothing or sample weights."""
        return (
            type(loss) is SoftmaxCrossEntropy
            and not loss.label_smoothing
            and sample_weight is None
            and y.ndim == 1
            and y.dtype.kind in "iu"
        )

    @classmethod
    def build(cls, layers: Sequence[Layer]) -> TrainingPlan | None:
        """The plan for ``layers`` (their output is the logits), or None when the kernel cannot run
        them: batch norm, dropout, a subclass of a built-in layer, or parameters outside one store."""
        from ..layers import Activation, Dense

        def runs(layer: Layer) -> bool:  # the training kernel: Dense and hidden activations it has a code for
            if isinstance(layer, Activation):
                return compiled_code(layer) is not None and layer.hidden
            return type(layer) is Dense

        if not layers or not all(runs(layer) for layer in layers):
            return None
        inference = InferencePlan.build(layers)
        owners = [p for layer in layers for p in layer.parameters()]  # W then b, as the plan's arrays
        store = owners[0].store if owners else None
        if inference is None or store is None or len(owners) != len(inference.arrays):
            return None
        if any(
            p.store is not store or p.value.base is not store.values or p.grad.base is not store.grads for p in owners
        ):
            return None  # a parameter no longer a view of the store
        offsets = [p.offset for p in owners]
        spec = inference.spec.copy()
        for column in (0, 1):  # the plan's array indices become offsets into the store
            spec[:, column] = [offsets[i] if i >= 0 else -1 for i in inference.spec[:, column]]
        return cls(layers[0], store, spec, inference.fspec, owners)


class _PlanTable:
    """The rows of a plan as its layers are read, with the arrays they point into."""

    def __init__(self, networks: ModuleType) -> None:
        self.networks = networks
        self.identity = networks.IDENTITY
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
        from ..layers import Activation, BatchNorm, Dense, Dropout

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
        elif isinstance(layer, Activation) and compiled_code(layer) and self.state in ("dense", "normalized"):
            # the activation's code in the kernels (Activation.compiled); without one the network runs
            # layer by layer (this plan is not built)
            self.rows[-1][8] = getattr(self.networks, str(compiled_code(layer)))
            self.frows[-1][1] = layer.compiled_argument()
            self.state = "activated"
        else:
            return False
        return True


def compiled_code(layer: Layer) -> str | None:
    """The kernels' code of an activation, when its own class declares one: a subclass that does not
    (and may compute something else) runs layer by layer."""
    return type(layer).__dict__.get("compiled")


class _Unsupported(Exception):
    pass


def _networks() -> ModuleType:
    """The compiled whole-network kernels (numba is in use whenever a plan is built); the module is
    kept after the first call, since an import statement costs more than a one-row prediction."""
    global _NETWORKS
    if _NETWORKS is None:
        from . import _networks as networks

        _NETWORKS = networks
    return _NETWORKS


_NETWORKS: ModuleType | None = None
