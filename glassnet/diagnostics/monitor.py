"""The Diagnostics callback: what each layer did, measured on a fixed probe of training rows.

Recorded per probe (by default once per epoch, or every ``every_steps`` optimizer steps):

- per Dense layer: weight gradient norm (the mean over every ``GRAD_NORM_EVERY``-th step of the
  epoch, into ``history.grad_norms``), update-to-weight ratio ``‖W_now − W_before‖ / ‖W_before‖``
  since the previous probe;
- per activation layer: 15th/50th/85th percentiles of its *input* (the pre-activation) over the
  probe rows, for the whole layer and for one tracked unit (as in the batch-normalization paper's
  Figure 1), the fraction of dead ReLU units (never positive on the probe) and of saturated
  sigmoid/tanh units (|input| above ``saturation_bound`` for more than half the probe rows);
- per BatchNorm layer: γ, β and the running mean/variance.

The probe is a fixed random subset of the training rows (``probe_size``, default 512) evaluated in
inference mode (dropout off), except that batch norm normalizes with the probe's own statistics as
in training (without updating its running statistics); the cost is one small forward pass per probe.
"Dead" therefore means never positive on the probe rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..layers import Activation, BatchNorm, Dense, Softmax
from ..training.callbacks import Callback

# Which units count as dead or saturated, and the bound of saturation, each activation declares
# (Activation.unit_rule and saturation_bound, glassnet/layers/activations.py).
#: Gradient norms are accumulated on every GRAD_NORM_EVERY-th step (steps 1, 5, 9, ...); their
#: mean estimates the epoch's mean gradient norm at a quarter of the cost.
GRAD_NORM_EVERY = 4


class Diagnostics(Callback):
    """Measure gradient flow, saturation and distributions during training (on by default in fit).

    Parameters
    ----------
    probe_size : int, default=512
        Training rows used for activation statistics.
    every_steps : int or None
        Probe every this many optimizer steps (for step-resolution curves); default once per epoch.
    track_unit : int, default=0
        The unit of each layer whose own input percentiles are recorded.
    seed : int, default=0
        Chooses the probe rows.

    Attributes
    ----------
    records : dict
        Written to ``history.diagnostics`` at the end of training (see the module docstring).
    """

    def __init__(
        self, probe_size: int = 512, every_steps: int | None = None, track_unit: int = 0, seed: int = 0
    ) -> None:
        self.probe_size = probe_size
        self.every_steps = every_steps
        self.track_unit = track_unit
        self.seed = seed
        self._steps, self._previous = 0, {}  # the state is defined before training (checkpoints read it)
        self._grad_sums: np.ndarray = np.zeros(0)
        self._epoch_steps = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        trainer = self.trainer
        network = trainer.network
        self._probe = trainer.sample_rows(self.probe_size, self.seed)
        self._dense = [layer for layer in network.layers if isinstance(layer, Dense)]
        self._previous = {layer.name: layer.W.value.copy() for layer in self._dense}
        self._steps = 0
        self._grad_sums, self._epoch_steps = np.zeros(len(self._dense)), 0
        existing = getattr(trainer.history, "diagnostics", None) or {}
        self.records = (
            existing if existing else {"step": [], "epoch": [], "update_ratio": {}, "activations": {}, "batch_norm": {}}
        )
        if not existing:
            self._measure(epoch=0)  # the state before training

    @property
    def wants_batch_end(self) -> bool:
        return bool(self.every_steps)  # per-epoch probing needs no per-batch call

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._steps += 1
        if self._steps % self.every_steps == 0:
            self._measure(epoch=None)

    def on_gradients(self, step: int) -> None:
        self._epoch_steps = step + 1
        if step % GRAD_NORM_EVERY == 0:  # a sample of the steps keeps the cost small
            for i, layer in enumerate(self._dense):
                grad = layer.W.grad.reshape(-1)
                self._grad_sums[i] += math.sqrt(float(np.dot(grad, grad)))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        sampled = max((self._epoch_steps + GRAD_NORM_EVERY - 1) // GRAD_NORM_EVERY, 1)
        norms = self.trainer.history.grad_norms
        for i, layer in enumerate(self._dense):
            norms.setdefault(layer.name, []).append(float(self._grad_sums[i] / sampled))
        self._grad_sums[:], self._epoch_steps = 0.0, 0
        if not self.every_steps:
            self._measure(epoch=epoch)
        else:
            self.records["epoch_end_steps"] = self.records.get("epoch_end_steps", []) + [self._total_steps()]

    def _total_steps(self) -> int:
        return int(self.trainer.optimizer.iterations)

    def _measure(self, epoch: int | None) -> None:
        records = self.records
        records["step"].append(self._total_steps())
        records["epoch"].append(epoch)
        for layer in self._dense:
            before = self._previous[layer.name]
            norm = float(np.linalg.norm(before))
            change = float(np.linalg.norm(layer.W.value - before))
            records["update_ratio"].setdefault(layer.name, []).append(change / norm if norm > 0 else 0.0)
            np.copyto(before, layer.W.value)
        x = self._probe
        for layer in self.trainer.network.layers:
            if isinstance(layer, Activation) and not isinstance(layer, Softmax):
                self._activation_stats(layer, x)
            elif isinstance(layer, BatchNorm):
                entry = records["batch_norm"].setdefault(
                    layer.name, {"gamma": [], "beta": [], "running_mean": [], "running_var": []}
                )
                entry["gamma"].append(layer.gamma.value.astype(float).tolist())
                entry["beta"].append(layer.beta.value.astype(float).tolist())
                entry["running_mean"].append(layer.running_mean.astype(float).tolist())
                entry["running_var"].append(layer.running_var.astype(float).tolist())
                # Normalize with the probe's own statistics, as training does, without touching
                # the running statistics (inference mode would show their lag instead).
                mean, var = x.mean(axis=0), x.var(axis=0)
                x = (x - mean) / np.sqrt(var + layer.eps) * layer.gamma.value + layer.beta.value
                continue
            x = layer.forward(x, training=False)

    def _activation_stats(self, layer: Activation, pre: np.ndarray) -> None:
        entry = self.records["activations"].setdefault(
            layer.name,
            {
                "kind": layer.kind,
                "rule": layer.unit_rule,
                "p15": [],
                "p50": [],
                "p85": [],
                "unit_p15": [],
                "unit_p50": [],
                "unit_p85": [],
                "dead_fraction": [],
                "saturated_fraction": [],
            },
        )
        p15, p50, p85 = np.percentile(pre, [15, 50, 85])
        unit = pre[:, min(self.track_unit, pre.shape[1] - 1)]
        u15, u50, u85 = np.percentile(unit, [15, 50, 85])
        for key, value in zip(
            ("p15", "p50", "p85", "unit_p15", "unit_p50", "unit_p85"), (p15, p50, p85, u15, u50, u85)
        ):
            entry[key].append(float(value))
        if layer.unit_rule == "dead":
            entry["dead_fraction"].append(float(np.mean(~np.any(pre > 0, axis=0))))
        else:
            entry["dead_fraction"].append(0.0)
        if layer.unit_rule == "saturated" and layer.saturation_bound is not None:
            bound = layer.saturation_bound
            entry["saturated_fraction"].append(float(np.mean(np.mean(np.abs(pre) > bound, axis=0) > 0.5)))
        else:
            entry["saturated_fraction"].append(0.0)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.trainer.history.diagnostics = self.records

    def state_dict(self) -> dict:
        return {
            "steps": self._steps,
            "previous": {k: v.copy() for k, v in self._previous.items()},
            "grad_norm_sums": self._grad_sums.copy(),
            "epoch_steps": self._epoch_steps,
        }

    def load_state_dict(self, state: dict) -> None:
        self._steps = int(state["steps"])
        if "grad_norm_sums" in state:  # checkpoints before 0.6 kept them in the loop's position
            np.copyto(self._grad_sums, np.asarray(state["grad_norm_sums"], dtype=np.float64))
            self._epoch_steps = int(state["epoch_steps"])
        for name, value in state["previous"].items():
            np.copyto(self._previous[name], value)
