"""The network: a stack of layers, its forward flow, its backward flow and its parameters."""

from __future__ import annotations

import warnings
from collections.abc import Sequence as SequenceABC
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from . import kernels
from ._validation import all_finite, check_dtype, check_features, check_positive_int
from .affine import collapse_affine, collapsible_layers, linear_blocks, warn_linear_stacks
from .exceptions import LinearCollapseWarning
from .floats import flush_subnormals
from .kernels.plan import MAX_ROWS as MAX_PLAN_ROWS
from .kernels.plan import InferencePlan, TrainingPlan
from .layers import Activation, Dense, Dropout, Layer, Linear, Sigmoid, Softmax
from .losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy
from .pages import row_blocks
from .parameter import FlatStore, Parameter

if TYPE_CHECKING:
    from .training.history import History


#: A compiled plan kind (``kernels.plan``): built from layers, stale when their arrays change.
Plan = TypeVar("Plan", InferencePlan, TrainingPlan)


class Sequential:
    """A feed-forward network: input → hidden layers → output, and back by the chain rule.

    Parameters
    ----------
    layers : sequence of Layer
        In forward order, for example ``[Dense(64), BatchNorm(), ReLU(), Dense(10), Softmax()]``.
    input_dim : int, optional
        Width of the input; when omitted the network is built on the first call.
    dtype : float32 (default) or float64
        The dtype of every parameter, activation and gradient. Inputs of another dtype are
        refused by the layers (never silently cast) and cast once by ``fit``/``predict``.
    seed : int or None, default=0
        Seeds weight initialisation and dropout masks: the same seed gives the same weights.

    Notes
    -----
    After building, every parameter's ``value`` (and ``grad``) is a view into one flat array,
    weights first, so optimizers update all of them with a handful of vectorized operations.

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> net = gn.Sequential([gn.Dense(8), gn.ReLU(), gn.Dense(8), gn.ReLU(), gn.Dense(3), gn.Softmax()],
    ...                     input_dim=4, seed=0)
    >>> net.predict(np.zeros((2, 4))).shape
    (2, 3)
    """

    def __init__(
        self,
        layers: SequenceABC[Layer],
        input_dim: int | None = None,
        dtype: type | str | np.dtype = np.float32,
        seed: int | None = 0,
    ) -> None:
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one layer; got an empty list.")
        for position, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{position}] must be a glassnet Layer; got {type(layer).__name__}.")
        self.layers = layers
        self.dtype = check_dtype(dtype)
        self.seed = seed
        self.input_dim = None if input_dim is None else check_positive_int(input_dim, "input_dim")
        self.built = False
        self._fused_for: Loss | None = None
        self._fused_stop: int | None = None
        self._plans: dict[int | None, InferencePlan | None] = {}  # compiled inference plans, by stop layer
        self._training_plans: dict[int | None, TrainingPlan | None] = {}  # and training steps, by loss stop
        self._name_layers()
        if self.input_dim is not None:
            self.build(self.input_dim)

    # -- building -------------------------------------------------------------------------
    def _name_layers(self) -> None:
        counts: dict[str, int] = {}
        taken = {layer.name for layer in self.layers if layer.name}
        for layer in self.layers:
            if layer.name:
                continue
            while True:
                counts[layer.kind] = counts.get(layer.kind, 0) + 1
                candidate = f"{layer.kind}_{counts[layer.kind]}"
                if candidate not in taken:
                    break
            layer.name = candidate
            taken.add(candidate)

    def build(self, input_dim: int) -> None:
        """Create every layer's parameters for inputs of width ``input_dim``."""
        input_dim = check_positive_int(input_dim, "input_dim")
        seeds = np.random.SeedSequence(self.seed).spawn(2)
        init_rng, noise_rng = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])
        self.noise_rng = noise_rng
        width = input_dim
        for position, layer in enumerate(self.layers):
            if isinstance(layer, Dense) and layer.init is None:
                layer.resolved_init = self._init_for(position)
            layer.build(width, self.dtype, noise_rng if isinstance(layer, Dropout) else init_rng)
            width = layer.output_dim
        self.input_dim = input_dim
        self.output_dim = width
        self._flatten_parameters()
        self.built = True
        warn_linear_stacks(self.layers)

    def _init_for(self, position: int) -> str:
        """The initialization the first activation after layer ``position`` (before the next Dense) asks
        for (``Activation.init``); Glorot's uniform when none follows (a linear output)."""
        for layer in self.layers[position + 1 :]:
            if isinstance(layer, Dense):
                break
            if isinstance(layer, Activation):
                return layer.init
        return Activation.init

    def _flatten_parameters(self) -> None:
        self._store = FlatStore(self.parameters(), self.dtype)
        self._plans, self._training_plans = {}, {}
        # The gradient contract (Layer): which parameters are written fresh, which must be cleared first.
        self._fresh_params = [p for layer in self.layers if layer.writes_fresh_gradients for p in layer.parameters()]
        self._cleared_params = [
            p for layer in self.layers if not layer.writes_fresh_gradients for p in layer.parameters()
        ]
        self._first_trainable = next((i for i, layer in enumerate(self.layers) if layer.parameters()), 0)

    def linear_blocks(self) -> list[list[int]]:
        """Runs of consecutive layer positions with no non-linearity among them (inference mode)."""
        return linear_blocks(self.layers)

    def ensure_built(self, x: np.ndarray) -> None:
        """Build the network for ``x``'s width when it is not built yet."""
        if not self.built:
            if x.ndim != 2:
                raise ValueError(f"x must be 2-D (n_samples, n_features); got shape {x.shape}.")
            self.build(x.shape[1])

    # -- parameters and state -------------------------------------------------------------
    def parameters(self) -> list[Parameter]:
        """Every trainable parameter (weights and intercepts, γ and β), each with name, value, grad."""
        return [p for layer in self.layers for p in layer.parameters()]

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state such as batch-norm running statistics, by qualified name."""
        return {f"{layer.name}.{key}": value for layer in self.layers for key, value in layer.buffers().items()}

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Clear all gradients (one fill over the flat gradient array)."""
        if self.built:
            self._store.grads.fill(0)
            for p in self._store.parameters:
                p.fresh = True

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of all parameters and buffers, by qualified name, subnormal values flushed to zero
        (``glassnet.floats``: model files and checkpoints never carry them)."""
        state = {p.name: p.value.copy() for p in self.parameters()}
        state.update({name: value.copy() for name, value in self.buffers().items()})
        for value in state.values():
            flush_subnormals(value)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values into the existing arrays in place (references stay valid), with subnormal values
        flushed to zero (``glassnet.floats``: a loaded model never computes on the slow path)."""
        targets = {p.name: p.value for p in self.parameters()}
        targets.update(self.buffers())
        missing = sorted(set(targets) - set(state))
        extra = sorted(set(state) - set(targets))
        if missing or extra:
            raise ValueError(f"state does not match the network: missing {missing}, unexpected {extra}.")
        for name, target in targets.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(f"state[{name!r}] has shape {value.shape}; the network needs {target.shape}.")
            np.copyto(target, value, casting="same_kind")
            flush_subnormals(target)

    # -- the two flows --------------------------------------------------------------------
    def _forward(self, x: np.ndarray, training: bool, stop: int | None = None) -> np.ndarray:
        for layer in self.layers if stop is None else self.layers[:stop]:
            x = layer.forward(x, training=training)
        return x

    def _backward(self, grad: np.ndarray, stop: int | None = None, input_grad: bool = True) -> np.ndarray | None:
        layers = self.layers[:stop]
        # Without input_grad, layers before the first trainable one need no gradient at all, and
        # that layer skips its dL/dx GEMM (about a third of the first layer's backward work).
        first = 0 if input_grad else self._first_trainable
        for position in range(len(layers) - 1, first - 1, -1):
            layer = layers[position]
            if position == first and not input_grad:
                layer.needs_input_grad = False
                try:
                    layer.backward(grad)
                finally:
                    layer.needs_input_grad = True
                return None
            grad = layer.backward(grad)
        return grad

    def forward(self, x: np.ndarray, *, training: bool = False, stop: int | None = None) -> np.ndarray:
        """Run the forward flow; returns a new array of shape (n, output width).

        ``training=True`` uses mini-batch statistics in batch norm and active dropout. ``stop``
        runs only the layers before position ``stop`` (for example the logits before a softmax).
        """
        x = np.asarray(x)
        self.ensure_built(x)
        out: np.ndarray = self._forward(x, training, stop).copy()
        return out

    def backward(self, grad_output: np.ndarray, *, stop: int | None = None) -> np.ndarray:
        """Backpropagate dL/d(output) through every layer; accumulates parameter gradients.

        ``stop`` matches the forward call's: the gradient enters after layer ``stop - 1``.
        Returns dL/d(input) as a new array of shape (n, input_dim).
        """
        if not self.built:
            raise RuntimeError("backward() was called before forward(); the network is not built yet.")
        grad = cast(np.ndarray, self._backward(np.asarray(grad_output, dtype=self.dtype), stop))
        out: np.ndarray = grad.copy()
        return out

    def fused_output(self, loss: Loss) -> int | None:
        """Layers to run in training: the output activation is dropped when the loss fuses it.

        Softmax + cross-entropy and sigmoid + binary cross-entropy are computed from logits
        (stable, and the gradient is simply ``(p − t)/n``).
        """
        last = self.layers[-1]
        if (isinstance(loss, SoftmaxCrossEntropy) and isinstance(last, Softmax)) or (
            isinstance(loss, BinaryCrossEntropy) and isinstance(last, Sigmoid)
        ):
            return len(self.layers) - 1
        if (
            isinstance(loss, (SoftmaxCrossEntropy, BinaryCrossEntropy))
            and isinstance(last, Activation)
            and not isinstance(last, Linear)
        ):
            raise ValueError(
                f"{type(loss).__name__} takes logits; the network ends with "
                f"{type(last).__name__}. End it with {loss.output_activation!r} or a Dense layer."
            )
        return None

    def train_step(
        self, x: np.ndarray, y: np.ndarray, loss: Loss, sample_weight: np.ndarray | None = None
    ) -> tuple[float, int | None]:
        """Forward (training mode), loss, backward: fills every parameter's ``grad``.

        Gradients are *written* (the step clears them first). Returns ``(loss, correct)``: the
        batch loss and, for class-index targets, how many of the batch's rows the network
        classified correctly (None for other targets).
        """
        if loss is not self._fused_for:  # decided once per loss object, not every step
            self._fused_stop, self._fused_for = self.fused_output(loss), loss
        stop = self._fused_stop
        plan = self._training_plan(loss, y, sample_weight)
        if plan is not None and plan.suits(len(x)):  # small Dense stacks: the whole step compiled
            return plan.step(x, y)
        params = self._fresh_params
        for p in params:  # these layers write each gradient instead of adding: no need to clear them
            p.fresh = True
        for p in self._cleared_params:  # layers that add (p.grad += ...) start from zero
            p.grad.fill(0)
            p.fresh = False
        output = self._forward(x, True, stop)
        value = loss.forward(output, y, sample_weight)
        correct = None
        if y.ndim == 1 and isinstance(loss, SoftmaxCrossEntropy):
            # The compiled loss kernel counts them on the way; otherwise one argmax.
            correct = loss.n_correct
            if correct is None:
                correct = int(np.count_nonzero(output.argmax(axis=1) == y))
        self._backward(loss.backward(), stop, input_grad=False)
        for p in params:
            if p.fresh:  # a parameter the backward flow did not reach has a zero gradient
                p.grad.fill(0)
        return value, correct

    def _training_plan(self, loss: Loss, y: np.ndarray, sample_weight: np.ndarray | None) -> TrainingPlan | None:
        """The compiled whole-step plan for this step, or None (``kernels.plan.TrainingPlan``)."""
        if kernels.active() is None or not TrainingPlan.applies(loss, y, sample_weight):
            return None
        return self._cached_plan(self._training_plans, TrainingPlan, self._fused_stop)

    def _cached_plan(self, plans: dict[int | None, Plan | None], kind: type[Plan], stop: int | None) -> Plan | None:
        """``plans[stop]``: the ``kind`` of plan for the layers before ``stop`` (None where they are
        unsupported), built when missing or stale."""
        plan = plans.get(stop)
        if stop not in plans or (plan is not None and not plan.valid()):
            plan = plans[stop] = kind.build(self.layers[:stop])
        return plan

    def infer(self, x: np.ndarray, stop: int | None = None, batch_size: int = 4096) -> np.ndarray:
        """Inference through each layer's lean ``infer``, in chunks; returns a new array.

        ``x`` must already be a checked 2-D array of the network's dtype (``predict`` checks
        it); ``stop`` runs only the layers before that position.
        """
        layers = self.layers[:stop] if stop is not None else self.layers
        if len(x) <= MAX_PLAN_ROWS:  # few rows: one compiled call through the whole network
            if kernels.active() is not None:
                plan = self._cached_plan(self._plans, InferencePlan, stop)
                if plan is not None and plan.suits(len(x)):
                    return plan.run(x)
        if len(x) <= batch_size:
            for layer in layers:
                x = layer.infer(x)
            return x if x.base is None and x.flags.owndata else x.copy()
        width = layers[-1].output_dim
        out = np.empty((len(x), width), dtype=self.dtype)
        for start, chunk in row_blocks(x, batch_size):  # a file-mapped x: its pages released as it is read
            for layer in layers:
                chunk = layer.infer(chunk)
            out[start : start + batch_size] = chunk
        return out

    def _checked_input(self, x: Any) -> np.ndarray:
        # Fast path for what predict usually receives: a finite C-contiguous array of our dtype.
        if (
            self.built
            and type(x) is np.ndarray
            and x.dtype == self.dtype
            and x.ndim == 2
            and x.shape[1] == self.input_dim
            and x.shape[0] > 0
            and x.flags.c_contiguous
        ):
            if not all_finite(x):
                raise ValueError("x contains NaN or infinite values; impute or drop them first.")
            return x
        checked = check_features(x, "x", self.dtype, self.input_dim if self.built else None)
        self.ensure_built(checked)
        return checked

    def predict(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Inference-mode output (probabilities for a softmax/sigmoid output), as a new array."""
        return self.infer(self._checked_input(x), None, batch_size)

    def logits(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Inference-mode output before a final softmax/sigmoid (equals ``predict`` otherwise)."""
        x = self._checked_input(x)
        stop = len(self.layers) - 1 if isinstance(self.layers[-1], (Softmax, Sigmoid)) else None
        return self.infer(x, stop, batch_size)

    def fit(self, x: Any, y: Any, **kwargs: Any) -> History:
        """Train this network; see :func:`glassnet.fit` for the arguments. Returns a History."""
        from .training.fit import fit

        return fit(self, x, y, **kwargs)

    __call__ = forward

    # -- linear collapse ------------------------------------------------------------------
    def collapse(self, logits: bool = False) -> Dense:
        """The single Dense layer equal to this network when every layer is linear.

        Dense layers, ``Linear`` activations, batch norm (inference mode, folded in) and dropout
        (the identity at inference) compose into ``y = x · W + b``; the returned layer computes
        exactly that, which is the seed's f(f(f(x))) = c³x in matrix form.

        Parameters
        ----------
        logits : bool, default=False
            Leave out a final Softmax/Sigmoid: the returned layer computes the logits (a linear
            classifier is then exactly multinomial/binary logistic regression on them).

        Raises
        ------
        ValueError
            If any (other) layer is non-linear (names the first such layer).
        """
        if not self.built or self.input_dim is None:
            raise RuntimeError("collapse() needs a built network; call build(input_dim) or predict first.")
        weights, bias = collapse_affine(collapsible_layers(self.layers, logits), self.input_dim)
        dense = Dense(weights.shape[1], input_dim=self.input_dim, name="collapsed")
        dense.build(self.input_dim, self.dtype, np.random.default_rng(0))
        np.copyto(dense.W.value, weights, casting="same_kind")
        np.copyto(cast(Parameter, dense.b).value, bias, casting="same_kind")
        return dense

    # -- description ----------------------------------------------------------------------
    def summary(self) -> str:
        """A Keras-like table: layer, output width, parameter count."""
        lines = [f"{'layer':<18}{'type':<12}{'output':>8}{'params':>10}", "-" * 48]
        for layer in self.layers:
            count = sum(p.size for p in layer.parameters())
            lines.append(f"{layer.name:<18}{type(layer).__name__:<12}{layer.output_dim or '?':>8}{count:>10,}")
        lines.append("-" * 48)
        lines.append(f"total parameters: {self.n_parameters:,}   (input width {self.input_dim}, {self.dtype})")
        return "\n".join(lines)

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture (not the weights)."""
        return {
            "input_dim": self.input_dim,
            "dtype": str(self.dtype),
            "seed": self.seed,
            "layers": [{"type": type(layer).__name__, "name": layer.name, **layer.config()} for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild the architecture described by :meth:`config` (fresh weights)."""
        from .layers import layer_types

        known = layer_types()
        layers = []
        for spec in config["layers"]:
            spec = dict(spec)
            kind = spec.pop("type")
            if kind not in known:
                raise ValueError(f"unknown layer type {kind!r}; known: {sorted(known)}.")
            layers.append(known[kind](**spec))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LinearCollapseWarning)  # the user was warned when building it
            return cls(layers, input_dim=config["input_dim"], dtype=config["dtype"], seed=config["seed"])

    def astype(self, dtype: Any) -> Sequential:
        """A copy of this network (weights and batch-norm statistics) in another float dtype."""
        config = {**self.config(), "dtype": str(check_dtype(dtype))}
        copy = Sequential.from_config(config)
        if self.built:
            copy.load_state_dict(self.state_dict())
        return copy

    def __getstate__(self) -> dict[str, Any]:
        # Pickle as architecture + arrays, so that parameters are views of one flat store again
        # after unpickling (pickling the views themselves would detach them).
        return {"config": self.config(), "state": self.state_dict() if self.built else None}

    def __setstate__(self, data: dict[str, Any]) -> None:
        rebuilt = Sequential.from_config(data["config"])
        self.__dict__.update(rebuilt.__dict__)
        if data["state"] is not None:
            self.load_state_dict(data["state"])

    def __repr__(self) -> str:
        return f"Sequential({self.layers!r}, input_dim={self.input_dim}, dtype={self.dtype})"

    def _repr_html_(self) -> str:
        """Jupyter's display: the layers as a table, the totals, and the linear stacks that collapse."""
        import html

        cells = "".join(
            f"<tr><td>{html.escape(str(layer.name))}</td><td>{type(layer).__name__}</td>"
            f"<td>{layer.output_dim or '?'}</td><td>{sum(p.size for p in layer.parameters()):,}</td></tr>"
            for layer in self.layers
        )
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("layer", "type", "output", "parameters"))
        built = "" if self.built else " · not built yet (weights are made on the first call or fit)"
        notes = "".join(
            "<p style='color:#a15c00'>⚠ layers " + ", ".join(html.escape(str(self.layers[i].name)) for i in block)
            + " have no non-linear activation between them: together they are one affine map "
            "(Sequential.collapse())</p>"
            for block in self.linear_blocks()
            if sum(isinstance(self.layers[i], Dense) for i in block) > 1
        )  # fmt: skip
        return (
            f"<div><b>Sequential</b><table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
            f"<p>{self.n_parameters:,} parameters · input width {self.input_dim} · {self.dtype}{built}</p>{notes}</div>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text display: the summary table."""
        printer.text(self.summary() if not cycle else "Sequential(...)")
