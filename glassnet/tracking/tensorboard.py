"""The TensorBoard callback: what the loop and the Diagnostics probe see, as TensorBoard shows it.

Written with tensorboardX's ``SummaryWriter`` (the maintained writer that needs neither TensorFlow
nor PyTorch). Per epoch: every logged quantity (losses, metrics, the learning rate); per Dense layer
its gradient norm and update-to-weight ratio; per activation its dead and saturated fractions; and
at the probe's cadence (each epoch) histograms of each layer's weights and of each activation's
outputs on a fixed sample of training rows. The gradient and probe figures come from the
:class:`~glassnet.diagnostics.Diagnostics` callback when the trainer has one (``fit`` adds it);
they are written when the next epoch begins (or training ends), once the probe has recorded them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..layers import Activation, Dense, Softmax
from ..training.callbacks import Callback


class TensorBoard(Callback):
    """Write a run's curves, gradient flow and distributions for TensorBoard (``tensorboard --logdir DIR``).

    Parameters
    ----------
    log_dir : str or Path
        The run's folder of event files (TensorBoard compares the runs in sub-folders of its logdir).
    histograms : bool, default=True
        Also write weight and activation histograms every epoch.
    probe_size : int, default=512
        Training rows whose activations the histograms show (the same rows every epoch).
    seed : int, default=0
        Chooses the probe rows.
    """

    def __init__(self, log_dir: str | Path, histograms: bool = True, probe_size: int = 512, seed: int = 0) -> None:
        try:
            import tensorboardX  # noqa: F401
        except ImportError as error:
            hint = "the TensorBoard callback writes with tensorboardX: pip install 'glassnet[tensorboard]'"
            raise ImportError(hint, name="tensorboardX") from error
        self.log_dir, self.histograms, self.probe_size, self.seed = str(log_dir), histograms, probe_size, seed
        self.writer: Any = None
        self._written = 0  # probe records written so far
        self._norms_written: dict[str, int] = {}  # per layer: gradient norms written so far

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(self.log_dir)
        trainer = self.trainer
        self._probe = trainer.sample_rows(self.probe_size, self.seed)
        self._written, self._norms_written = 0, {}

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._write_probe_records()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            if isinstance(value, (int, float)) and np.isfinite(value):
                self.writer.add_scalar(f"epoch/{key}", float(value), epoch)
        if self.histograms:
            self._histograms(epoch)
        self.writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._write_probe_records()
        if self.writer is not None:
            self.writer.close()

    def _diagnostics(self) -> Any:
        from ..diagnostics.monitor import Diagnostics

        return next((c for c in self.trainer.callbacks if isinstance(c, Diagnostics)), None)

    def _write_probe_records(self) -> None:
        """The gradient norms, update ratios and unit fractions the probe recorded since the last call."""
        history = self.trainer.history
        for layer, values in history.grad_norms.items():
            done = self._norms_written.get(layer, 0)
            for epoch, value in zip(history.epochs[done:], values[done:]):
                self.writer.add_scalar(f"gradients/{layer}/norm", value, epoch)
            self._norms_written[layer] = len(values)
        probe = self._diagnostics()
        records = getattr(probe, "records", None) or {}
        epochs = records.get("epoch", [])
        for index in range(self._written, len(epochs)):
            epoch = epochs[index] if epochs[index] is not None else records["step"][index]
            for layer, ratios in records.get("update_ratio", {}).items():
                if index:  # the first probe is the state before training: no update yet
                    self.writer.add_scalar(f"gradients/{layer}/update_to_weight", ratios[index], epoch)
            for layer, entry in records.get("activations", {}).items():
                self.writer.add_scalar(f"units/{layer}/dead_fraction", entry["dead_fraction"][index], epoch)
                self.writer.add_scalar(f"units/{layer}/saturated_fraction", entry["saturated_fraction"][index], epoch)
        self._written = len(epochs)
        self.writer.flush()

    def _histograms(self, epoch: int) -> None:
        x = self._probe
        for layer in self.trainer.network.layers:
            if isinstance(layer, Dense):
                self.writer.add_histogram(f"weights/{layer.name}", layer.W.value, epoch)
            x = layer.forward(x, training=False)
            if isinstance(layer, Activation) and not isinstance(layer, Softmax):
                self.writer.add_histogram(f"activations/{layer.name}", x, epoch)
