"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is a safetensors file like a model file (no pickle, digest-checked) holding the
weights, batch-norm statistics, optimizer state (momentum / Adam moments), the random generators'
states, the epoch and position inside it, the callbacks' state (early stopping's best weights)
and the history so far. Resuming from it gives bit-identical weights to an uninterrupted run on the
same machine and thread count.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..exceptions import OutputError
from .atomic import atomic_write_bytes
from .modelfile import FORMAT_VERSION, ModelFileError, from_bytes, to_bytes
from .owned import is_glassnet_checkpoint
from .schema import ARCHITECTURE, HISTORY, NUMBER, TAGGED_FLOAT, TENSOR

if TYPE_CHECKING:
    from ..training.loop import Trainer

FORMAT_NAME = "glassnet-checkpoint"

_NON_FINITE = ("inf", "-inf", "nan")

_STATE_VALUE: dict = {}  # anything nested: tensors, tagged floats, plain JSON

#: The structure of a checkpoint's metadata (see :mod:`glassnet.io.schema` for the shared parts).
SCHEMA = {
    "type": "object",
    "required": ["format", "format_version", "state"],
    "properties": {
        "format": {"const": "glassnet-checkpoint"},
        "format_version": {"type": "integer", "minimum": 1},
        "state": {
            "type": "object",
            "required": [
                "fingerprint",
                "epoch",
                "position",
                "network",
                "optimizer",
                "rng",
                "noise_rng",
                "history",
                "callbacks",
            ],
            "properties": {
                "fingerprint": {
                    "type": "object",
                    "required": ["data_sha256", "n_samples", "architecture"],
                    "properties": {
                        "data_sha256": {"type": "string"},
                        "n_samples": {"type": "integer"},
                        "batch_size": {"type": "integer"},
                        "architecture": ARCHITECTURE,
                    },
                },
                "epoch": {"type": "integer", "minimum": 0},
                "position": {
                    "anyOf": [
                        {"type": "null"},
                        {
                            "type": "object",
                            "required": [
                                "order",
                                "next_start",
                                "total_loss",
                                "correct",
                                "steps",
                                "elapsed",
                            ],
                            "properties": {
                                "order": TENSOR,
                                "grad_norm_sums": TENSOR,
                                "next_start": {"type": "integer", "minimum": 0},
                                "total_loss": {"anyOf": [NUMBER, TAGGED_FLOAT]},
                                "correct": {"type": "integer", "minimum": 0},
                                "steps": {"type": "integer", "minimum": 0},
                                "elapsed": {"type": "number"},
                            },
                        },
                    ]
                },
                "network": {"type": "object", "additionalProperties": TENSOR},
                "optimizer": {
                    "type": "object",
                    "required": ["iterations", "lr", "state"],
                    "properties": {
                        "iterations": {"type": "integer", "minimum": 0},
                        "lr": {"type": "number"},
                        "state": {"type": "array", "items": {"type": "object", "additionalProperties": TENSOR}},
                    },
                },
                "rng": {"type": "object", "required": ["bit_generator", "state"]},
                "noise_rng": {"type": "object", "required": ["bit_generator", "state"]},
                "history": HISTORY,
                "callbacks": {"type": "array", "items": {"type": "object"}},
                "callback_types": {"type": "array", "items": {"type": "string"}},
                "stopped": {"type": "boolean"},
            },
        },
    },
}


def flatten_state(prefix: str, state: Any, tensors: dict[str, np.ndarray]) -> Any:
    """Move arrays of a nested state into ``tensors`` (by path) and return the JSON remainder."""
    if isinstance(state, np.ndarray):
        tensors[prefix] = state
        return {"__tensor__": prefix}
    if isinstance(state, dict):
        return {str(k): flatten_state(f"{prefix}.{k}", v, tensors) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return [flatten_state(f"{prefix}.{i}", v, tensors) for i, v in enumerate(state)]
    if isinstance(state, np.generic):
        state = state.item()
    if isinstance(state, float) and not math.isfinite(state):
        return {"__float__": repr(state)}  # JSON has no inf/nan: tagged, so that they come back as floats
    return state


def unflatten_state(state: Any, tensors: dict[str, np.ndarray]) -> Any:
    if isinstance(state, dict):
        if set(state) == {"__tensor__"}:
            name = state["__tensor__"]
            if not isinstance(name, str) or name not in tensors:
                raise ModelFileError(f"checkpoint references a missing tensor {name!r}.")
            return tensors[name]
        if set(state) == {"__float__"}:
            if state["__float__"] not in _NON_FINITE:
                raise ModelFileError(f"checkpoint holds an invalid float {state['__float__']!r}.")
            return float(state["__float__"])
        return {k: unflatten_state(v, tensors) for k, v in state.items()}
    if isinstance(state, list):
        return [unflatten_state(v, tensors) for v in state]
    return state


def write_checkpoint(path: str | Path, state: dict) -> None:
    """Write a nested state dict (arrays anywhere) atomically."""
    tensors: dict[str, np.ndarray] = {}
    body = flatten_state("state", state, tensors)
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "state": body}
    atomic_write_bytes(path, to_bytes(meta, tensors))


def read_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by :func:`write_checkpoint`; raises ModelFileError when damaged."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    meta, tensors = from_bytes(raw, str(path), FORMAT_NAME, SCHEMA)
    return unflatten_state(meta.get("state"), tensors)


class Checkpointer:
    """Writes a trainer's state to ``path`` every ``every`` epochs, at the end and on Ctrl-C.

    Parameters
    ----------
    path : path
        The checkpoint file. An existing file that is no glassnet checkpoint is refused
        (OutputError), so that a typo never overwrites a user's file.
    every : int, default=1
        Epochs between checkpoints.
    resume : bool, default=False
        Continue from ``path`` when it exists: :meth:`attach` loads it into the trainer.
    """

    def __init__(self, path: str | Path, every: int = 1, resume: bool = False) -> None:
        self.path = str(path)
        self.every = every
        self.resume = resume
        target = Path(path)
        if target.is_dir() or (target.exists() and not resume and not is_glassnet_checkpoint(target)):
            raise OutputError(
                f"checkpoint={self.path!r} exists and is not a glassnet checkpoint; it would "
                "be overwritten. Choose another path."
            )

    def attach(self, trainer: Trainer) -> None:
        """Load the saved state into ``trainer`` when resuming from an existing file."""
        if not (self.resume and Path(self.path).is_file()):
            return
        state = read_checkpoint(self.path)  # a file that is no checkpoint: ModelFileError
        try:  # the schema checked the structure; values a hostile file could still get wrong end here
            trainer.load_state_dict(state)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            detail = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
            raise ModelFileError(f"checkpoint {self.path} cannot be resumed from: {detail}") from None

    def due(self, epoch: int, last: bool) -> bool:
        """Whether to write after ``epoch`` (``last``: training ends after it)."""
        return last or epoch % self.every == 0

    def save(self, trainer: Trainer, epoch: int, position: dict | None) -> None:
        """Write ``trainer``'s state after ``epoch`` (and ``position`` inside the next one), atomically."""
        write_checkpoint(self.path, trainer.state_dict(epoch, position))
