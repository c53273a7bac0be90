"""Optimizers: the search for the weights and intercepts that minimise the loss, updating in place.

Each optimizer has ``step()`` (apply one update from the gradients in ``Parameter.grad``) and
``zero_grad()``. An optimizer class is the one place glassnet learns about it: registered with
:func:`register_optimizer` under its ``name``, it is built by name (``fit(optimizer=...)``, the
command line's ``--optimizer``, the estimators' ``solver``), its default learning rate is its
constructor's, ``takes_momentum`` says whether ``momentum``/``nesterov`` apply, and its state
(``state_dict``) goes into checkpoints as arrays, whatever it holds. A subclass without a compiled
update (``_update_compiled``) runs its NumPy ``_update``.

When the parameters are the flat views a :class:`~glassnet.Sequential` creates, the update runs over
the whole flat array at once (a few vectorized operations per step instead of a few per parameter).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from . import kernels
from ._validation import check_fraction, check_positive_float
from .floats import flush_subnormals, smallest_normal
from .parameter import Parameter


class Segment:
    """A contiguous run of parameter memory updated as one array: value, grad and a decay mask."""

    def __init__(self, value: np.ndarray, grad: np.ndarray, n_regularized: int) -> None:
        self.value = value
        self.grad = grad
        self.n_regularized = n_regularized  # the first n_regularized entries take weight decay
        self.flush_workspace: tuple[np.ndarray, np.ndarray] | None = None  # scratch and mask of the flush


def _segments(params: list[Parameter]) -> list[Segment]:
    """One flat segment when ``params`` are exactly the parameters of one flat store, else one each."""
    store = getattr(params[0], "store", None)
    if (
        store is not None
        and len(params) == len(store.parameters)
        and {id(p) for p in params} == {id(p) for p in store.parameters}
    ):
        return [Segment(store.values, store.grads, store.n_regularized)]
    return [Segment(p.value.reshape(-1), p.grad.reshape(-1), p.size if p.regularize else 0) for p in params]


class Optimizer:
    """Base class: holds the parameters and the learning rate; subclasses define ``_update``."""

    #: The name it is registered and chosen under ("sgd", "adam", ...).
    name: str = ""
    #: Whether ``momentum`` and ``nesterov`` apply to it (the factory refuses them otherwise).
    takes_momentum: bool = False

    def __init__(self, params: Sequence[Parameter], lr: float) -> None:
        params = list(params)
        if not params:
            raise ValueError("params is empty: pass network.parameters() of a built network.")
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"params must hold glassnet Parameters; got {type(p).__name__}.")
        self.params = params
        self.lr = check_positive_float(lr, "lr")
        self.iterations = 0
        self._segments = _segments(params)
        self._state: list[dict[str, np.ndarray]] = [{} for _ in self._segments]

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its gradient.

        The backend is chosen once per step: with the compiled kernels on, each segment is updated
        in one compiled pass (``_update_compiled``), otherwise by NumPy (``_update``, the reference).
        """
        self.iterations += 1
        compiled = kernels.active()
        for segment, state in zip(self._segments, self._state):
            if compiled is None:
                self._update(segment, state)
            else:
                self._update_compiled(compiled, segment, state)

    def _update(self, segment: Segment, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def _update_compiled(self, compiled: ModuleType, segment: Segment, state: dict[str, np.ndarray]) -> None:
        """The same update as ``_update`` in one pass (kernels/_compiled.py); NumPy when a subclass has none."""
        self._update(segment, state)

    def _buffer(self, state: dict[str, Any], key: str, like: np.ndarray) -> np.ndarray:
        if key not in state:
            state[key] = np.zeros_like(like)
        buffer: np.ndarray = state[key]
        return buffer

    def _flush(self, segment: Segment, *arrays: np.ndarray) -> None:
        """Flush the subnormal entries of ``arrays`` (a segment's values and moments) to zero, through
        reused buffers (``glassnet.floats`` says why; the compiled kernels flush in the same place)."""
        # The workspace lives on the segment, not in the state: checkpoints do not carry it.
        if segment.flush_workspace is None:
            segment.flush_workspace = (np.zeros_like(arrays[0]), np.zeros(arrays[0].shape, dtype=bool))
        scratch, mask = segment.flush_workspace
        for array in arrays:
            flush_subnormals(array, scratch, mask)

    def reset_state(self) -> None:
        """Forget the moments/velocities (after a divergence they may hold inf or NaN)."""
        for state in self._state:
            state.clear()

    def state_dict(self) -> dict[str, Any]:
        """Optimizer state (moments, step count) for checkpoints."""
        return {
            "iterations": self.iterations,
            "lr": self.lr,
            "state": [{k: v.copy() for k, v in s.items()} for s in self._state],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["state"]) != len(self._state):
            raise ValueError("optimizer state does not match these parameters.")
        self.iterations = int(state["iterations"])
        self.lr = float(state["lr"])
        self._state = [{k: np.array(v, dtype=self.params[0].value.dtype) for k, v in s.items()} for s in state["state"]]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"


#: Optimizer classes by name (register_optimizer fills it).
OPTIMIZERS: dict[str, type[Optimizer]] = {}

OptimizerClass = TypeVar("OptimizerClass", bound=type[Optimizer])


def register_optimizer(cls: OptimizerClass) -> OptimizerClass:
    """Register an :class:`Optimizer` subclass under its ``name`` (a class decorator); a taken name is an error."""
    if not cls.name or OPTIMIZERS.get(cls.name, cls) is not cls:
        raise ValueError(f"optimizer name {cls.name!r} is empty or taken by {OPTIMIZERS.get(cls.name)}.")
    OPTIMIZERS[cls.name] = cls
    return cls


def optimizer_names() -> list[str]:
    """The registered optimizers' names.

    >>> optimizer_names()
    ['adam', 'adamw', 'rmsprop', 'sgd']
    """
    return sorted(OPTIMIZERS)


def optimizer_class(name: str) -> type[Optimizer]:
    """The registered optimizer class named ``name`` (any case)."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}; got optimizer={name!r}.")
    return OPTIMIZERS[name.lower()]


@register_optimizer
class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    PyTorch's formulation: ``g ← ∇ + λw``; ``v ← μv + g``; step ``w ← w − lr·v`` (classical) or
    ``w ← w − lr·(g + μv)`` (Nesterov). Weight decay applies to weights, not to intercepts or
    batch-norm γ/β.

    Examples
    --------
    >>> import glassnet as gn
    >>> net = gn.mlp([4], 1, input_dim=2)
    >>> opt = gn.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """

    name = "sgd"
    takes_momentum = True

    def __init__(
        self,
        params: Sequence[Parameter],
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = check_fraction(momentum, "momentum")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_positive_float(weight_decay, "weight_decay", allow_zero=True)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0; got momentum=0.")

    #: (dtype, lr, momentum, weight decay) of the scalars below: cast once, not on every step
    _scalars_for: tuple[Any, ...] | None = None
    _scalars: tuple[Any, ...] = ()

    def _update_compiled(self, compiled: ModuleType, segment: Segment, state: dict[str, Any]) -> None:
        velocity = self._buffer(state, "velocity", segment.grad) if self.momentum else segment.grad
        key = (segment.value.dtype, self.lr, self.momentum, self.weight_decay)
        if key != self._scalars_for:  # float32 scalars for float32 arrays: no mixed-type loop
            cast = segment.value.dtype.type
            self._scalars_for = key
            self._scalars = (*map(cast, key[1:]), cast(smallest_normal(segment.value.dtype)))
        lr, momentum, weight_decay, tiny = self._scalars
        # positional: numba's dispatcher matches keywords more slowly, and this runs every step
        compiled.sgd_step(
            segment.value,
            segment.grad,
            velocity,
            lr,
            momentum,
            self.nesterov,
            weight_decay,
            segment.n_regularized,
            tiny,
        )

    def _update(self, segment: Segment, state: dict[str, Any]) -> None:
        grad = segment.grad
        if self.weight_decay and segment.n_regularized:
            reg = slice(0, segment.n_regularized)
            scratch = self._buffer(state, "scratch", grad)[reg]
            np.multiply(segment.value[reg], self.weight_decay, out=scratch)
            grad[reg] += scratch
        if self.momentum:
            velocity = self._buffer(state, "velocity", grad)
            velocity *= self.momentum
            velocity += grad
            if self.nesterov:
                # grad + μ·v, formed in the gradient array (it is rewritten by the next backward).
                scratch = self._buffer(state, "scratch", grad)
                np.multiply(velocity, self.momentum, out=scratch)
                grad += scratch
                step_direction = grad
            else:
                step_direction = velocity
        else:
            step_direction = grad
        # w -= lr · direction, through a reused buffer (no temporary per step)
        scratch = self._buffer(state, "scratch", grad)
        np.multiply(step_direction, self.lr, out=scratch)
        segment.value -= scratch
        self._flush(segment, segment.value, *([state["velocity"]] if self.momentum else []))


@register_optimizer
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction; ``weight_decay`` adds λw to the gradient (L2).

    ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``w ← w − lr · m̂ / (sqrt(v̂) + eps)`` with
    ``m̂ = m/(1−β₁ᵗ)`` and ``v̂ = v/(1−β₂ᵗ)`` (PyTorch's formulation).
    """

    name = "adam"
    decoupled = False

    def __init__(
        self,
        params: Sequence[Parameter],
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.beta1 = check_fraction(beta1, "beta1")
        self.beta2 = check_fraction(beta2, "beta2")
        self.eps = check_positive_float(eps, "eps")
        self.weight_decay = check_positive_float(weight_decay, "weight_decay", allow_zero=True)

    def _update_compiled(self, compiled: ModuleType, segment: Segment, state: dict[str, Any]) -> None:
        grad, value = segment.grad, segment.value
        cast = value.dtype.type  # float32 scalars for float32 arrays: no mixed-type loop
        t = self.iterations
        decay = self.weight_decay if segment.n_regularized else 0.0
        compiled.adam_step(
            value,
            grad,
            self._buffer(state, "m", grad),
            self._buffer(state, "v", grad),
            beta1=cast(self.beta1),
            one_minus_beta1=cast(1.0 - self.beta1),
            beta2=cast(self.beta2),
            one_minus_beta2=cast(1.0 - self.beta2),
            inv_sqrt_bias2=cast(1.0 / math.sqrt(1.0 - self.beta2**t)),
            eps=cast(self.eps),
            step_size=cast(self.lr / (1.0 - self.beta1**t)),
            weight_decay=cast(0.0 if self.decoupled else decay),
            decoupled_factor=cast(1.0 - self.lr * decay if self.decoupled and decay else 1.0),
            n_regularized=segment.n_regularized,
            tiny=cast(smallest_normal(value.dtype)),
        )

    def _update(self, segment: Segment, state: dict[str, Any]) -> None:
        grad, value = segment.grad, segment.value
        m = self._buffer(state, "m", grad)
        v = self._buffer(state, "v", grad)
        scratch = self._buffer(state, "scratch", grad)  # every temporary goes through it
        if self.weight_decay and segment.n_regularized:
            reg = slice(0, segment.n_regularized)
            if self.decoupled:
                value[reg] *= 1.0 - self.lr * self.weight_decay
            else:
                np.multiply(value[reg], self.weight_decay, out=scratch[reg])
                grad[reg] += scratch[reg]
        m *= self.beta1
        np.multiply(grad, 1.0 - self.beta1, out=scratch)
        m += scratch
        v *= self.beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.beta2
        v += scratch
        t = self.iterations
        bias1 = 1.0 - self.beta1**t
        bias2 = 1.0 - self.beta2**t
        # w -= lr/bias1 · m / (sqrt(v)/sqrt(bias2) + eps)
        np.sqrt(v, out=scratch)
        scratch *= 1.0 / math.sqrt(bias2)  # a Python float: a NumPy float64 scalar would force a buffered cast
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / bias1
        value -= scratch
        self._flush(segment, value, m, v)


@register_optimizer
class AdamW(Adam):
    """Adam with *decoupled* weight decay (Loshchilov & Hutter): ``w ← w − lr·λ·w`` before the step."""

    name = "adamw"
    decoupled = True

    def __init__(
        self,
        params: Sequence[Parameter],
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr, beta1, beta2, eps, weight_decay)


def default_lr(name: str) -> float:
    """The learning rate of optimizer ``name`` when none is given: its class's own default (the one owner).

    >>> default_lr("sgd"), default_lr("adam")
    (0.01, 0.001)
    """
    return float(inspect.signature(optimizer_class(name).__init__).parameters["lr"].default)


def make_optimizer(
    name: str | Optimizer,
    params: Sequence[Parameter],
    *,
    lr: float | None = None,
    momentum: float | None = None,
    nesterov: bool | None = None,
    weight_decay: float = 0.0,
) -> Optimizer:
    """The one factory: optimizer ``name`` over ``params``, with its class's defaults for what is not given.

    ``momentum`` and ``nesterov`` apply to SGD only. An Optimizer instance is returned as it is.
    """
    if isinstance(name, Optimizer):
        return name
    cls = optimizer_class(name)
    kwargs: dict[str, Any] = {} if lr is None else {"lr": lr}
    if weight_decay:
        kwargs["weight_decay"] = weight_decay
    if cls.takes_momentum:
        if momentum is not None:
            kwargs["momentum"] = momentum
        if nesterov is not None:
            kwargs["nesterov"] = nesterov
    elif momentum is not None or nesterov:
        takers = [n for n, c in sorted(OPTIMIZERS.items()) if c.takes_momentum]
        raise ValueError(
            f"momentum and nesterov apply to optimizer={' or '.join(map(repr, takers))}; got optimizer={name!r}."
        )
    return cls(params, **kwargs)
