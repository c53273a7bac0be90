"""Model files: one safetensors file holding every tensor, with the rest as JSON in its header.

Loading never runs code: safetensors stores raw little-endian arrays, the JSON is parsed with
``json``, and layers are created only from a fixed list of glassnet types with checked arguments.
A SHA-256 digest over the JSON and every tensor (name, dtype, shape, bytes) detects any change to
the file. See ``docs/model-format.md``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..ensemble import Ensemble
from ..exceptions import ModelFileError
from ..network import Sequential
from .atomic import atomic_write_bytes
from .rebuild import network_from
from .schema import MODEL

FORMAT_NAME = "glassnet-model"
FORMAT_VERSION = 1
#: The safetensors metadata keys of the JSON header and of its digest.
META_KEY = "glassnet"
#: Tensor-name prefix of ensemble member i ≥ 1 (member 0 keeps the plain names of a single network).
MEMBER_PREFIX = "member{}."
DIGEST_KEY = "glassnet_sha256"
_ALLOWED_DTYPES = {"float32", "float64", "int64", "uint8"}


@dataclass
class SavedModel:
    """What a model file holds.

    Attributes
    ----------
    network : Sequential
        The network, or the first member of an ensemble.
    members : list of Sequential
        Every member of an ensemble (``[network]`` for a single network).
    task : str
        "multiclass", "binary", "multilabel", "regression" or "" when unknown.
    classes : list or None
        Class labels in output order.
    preprocessing : dict or None
        A JSON description of the input preprocessing (glassnet.tabular / images).
    preprocessing_arrays : dict of str to ndarray
        Arrays belonging to the preprocessing (means, scales, ...).
    history : dict or None
        ``History.to_dict()`` of the training run.
    metadata : dict
        Anything else the writer stored (data description, metrics, ...).
    glassnet_version : str
        Version that wrote the file.
    """

    network: Sequential
    task: str = ""
    classes: list | None = None
    preprocessing: dict | None = None
    preprocessing_arrays: dict[str, np.ndarray] = field(default_factory=dict)
    history: dict | None = None
    metadata: dict = field(default_factory=dict)
    glassnet_version: str = __version__
    members: list[Sequential] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [self.network]

    @property
    def predictor(self) -> Sequential | Ensemble:
        """What predicts: the network, or the ensemble of the members (their mean prediction)."""
        return self.network if len(self.members) == 1 else Ensemble(self.members)


def _digest(meta_json: str, tensors: dict[str, np.ndarray]) -> str:
    hasher = hashlib.sha256(meta_json.encode("utf-8"))
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        hasher.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays converted, tuples as lists, non-finite floats as null.

    glassnet's one JSON sanitizer (model files, metrics.json). JSON has no NaN or infinity; null is
    what standard readers (pandas, JavaScript) take for a missing number, and the loader turns the
    nulls of numeric curves back into NaN.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_bytes(meta: dict, tensors: dict[str, np.ndarray]) -> bytes:
    """Serialize metadata and tensors as safetensors bytes with a digest."""
    from safetensors.numpy import save

    tensors = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    for name, array in tensors.items():
        if array.dtype.name not in _ALLOWED_DTYPES:
            raise TypeError(f"tensor {name!r} has dtype {array.dtype}; allowed: {sorted(_ALLOWED_DTYPES)}.")
    meta_json = json.dumps(jsonable(meta), sort_keys=True, allow_nan=False)
    return save(tensors, metadata={META_KEY: meta_json, DIGEST_KEY: _digest(meta_json, tensors)})


def from_bytes(raw: bytes, source: str, expected_format: str, schema: dict) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse and verify safetensors bytes written by :func:`to_bytes`; the metadata must fit ``schema``."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    if len(raw) < 8:
        raise ModelFileError(f"{source} is not a glassnet file: only {len(raw)} bytes.")
    header_length = int.from_bytes(raw[:8], "little")
    if header_length > len(raw) - 8:
        if (raw[0] == 0x80 and 2 <= raw[1] <= 5) or raw[:4] == b"PK\x03\x04":
            raise ModelFileError(
                f"{source} looks like a pickle/zip file; glassnet never unpickles. "
                "Only glassnet model files (safetensors) can be loaded."
            )
        raise ModelFileError(
            f"{source} is truncated or not a glassnet file (header of {header_length} "
            f"bytes announced, {len(raw) - 8} present)."
        )
    try:
        header = json.loads(raw[8 : 8 + header_length])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{source} has a damaged header: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__"), dict):
        raise ModelFileError(f"{source} is not a glassnet file: no glassnet metadata.")
    stored = header["__metadata__"]
    meta_json, digest = stored.get(META_KEY), stored.get(DIGEST_KEY)
    if not isinstance(meta_json, str) or not isinstance(digest, str):
        raise ModelFileError(f"{source} is not a glassnet file: its metadata lacks the glassnet entries.")
    try:
        tensors = load(raw)
    except (SafetensorError, ValueError, OverflowError, TypeError) as exc:
        raise ModelFileError(f"{source} has damaged tensor data: {exc}") from None
    if _digest(meta_json, tensors) != digest:
        raise ModelFileError(
            f"{source} fails its integrity check (SHA-256 digest mismatch): the file was "
            "modified or corrupted after it was written."
        )
    try:
        meta = json.loads(meta_json)
    except json.JSONDecodeError as exc:  # pragma: no cover - guarded by the digest
        raise ModelFileError(f"{source} has damaged metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(
            f"{source} has invalid metadata: a JSON {type(meta).__name__} where an object is required."
        )
    if meta.get("format") != expected_format:
        raise ModelFileError(f"{source} is not a {expected_format} file (format {meta.get('format')!r}).")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{source} has no valid format_version.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{source} uses file format version {version}, newer than this glassnet "
            f"{__version__} reads (up to {FORMAT_VERSION}); upgrade glassnet to load it."
        )
    from .validation import numbers_back, validate

    validate(meta, schema, source)
    return numbers_back(meta), tensors


def save_model(
    network: Sequential | Ensemble,
    path: str | Path,
    *,
    task: str = "",
    classes: list | None = None,
    preprocessing: dict | None = None,
    preprocessing_arrays: dict[str, np.ndarray] | None = None,
    history: Any = None,
    metadata: dict | None = None,
    overwrite: bool = True,
) -> Path:
    """Write a trained network and everything needed to use it to one file, atomically.

    Parameters
    ----------
    network : Sequential or Ensemble
        Must be built. An ensemble's members share the architecture; member ``i ≥ 1`` is stored
        under the tensor names ``member{i}.*``.
    path : str or Path
        Conventionally ``*.glassnet``.
    task, classes, preprocessing, preprocessing_arrays, history, metadata :
        Stored alongside the weights; ``history`` may be a :class:`History` or its ``to_dict()``.
    overwrite : bool, default=True
        When False, an existing file is never replaced (``FileExistsError``).

    Returns
    -------
    Path
    """
    path = Path(path)
    members = network.members if isinstance(network, Ensemble) else [network]
    if not all(member.built for member in members):
        raise ValueError("the network is not built (never trained or called); nothing to save.")
    if len({json.dumps({**m.config(), "seed": None}, sort_keys=True, default=str) for m in members}) > 1:
        raise ValueError("an ensemble's members must share one architecture to be saved in one file.")
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    tensors = members[0].state_dict()
    for index, member in enumerate(members[1:], start=1):
        tensors.update({MEMBER_PREFIX.format(index) + k: v for k, v in member.state_dict().items()})
    for name, array in (preprocessing_arrays or {}).items():
        tensors[f"preprocessing.{name}"] = np.asarray(array)
    if history is not None and hasattr(history, "to_dict"):
        history = history.to_dict()
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "glassnet_version": __version__,
        "architecture": members[0].config(),
        "members": len(members),
        "task": task,
        "classes": classes,
        "preprocessing": preprocessing,
        "history": history,
        "metadata": metadata or {},
    }
    atomic_write_bytes(path, to_bytes(meta, tensors))
    return path


def _members_from(meta: dict, tensors: dict[str, np.ndarray], source: str) -> list[Sequential]:
    """The network, or every member of an ensemble, each checked against the architecture."""
    count = int(meta.get("members") or 1)
    own = {k: v for k, v in tensors.items() if not k.startswith("preprocessing.")}
    prefixes = [MEMBER_PREFIX.format(index) for index in range(1, count)]
    networks = []
    for prefix in prefixes:
        part = {k[len(prefix) :]: v for k, v in own.items() if k.startswith(prefix)}
        networks.append(network_from(meta, part, source))
        own = {k: v for k, v in own.items() if not k.startswith(prefix)}
    return [network_from(meta, own, source), *networks]


def load_model(path: str | Path) -> SavedModel:
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        For a missing, truncated, modified or garbage file, a newer format version, unknown
        layers or arguments, or tensors that do not match the architecture.
    """
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"no such model file: {path}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    meta, tensors = from_bytes(raw, source, FORMAT_NAME, MODEL)
    try:
        networks = _members_from(meta, tensors, source)
        network = networks[0]
        classes = meta.get("classes")
        if classes is not None and (
            not isinstance(classes, list)
            or len(classes) != network.output_dim
            and meta.get("task") in ("multiclass", "binary", "multilabel")
        ):
            raise ModelFileError(f"{source}: class labels do not match the network's outputs.")
        preprocessing = meta.get("preprocessing")
        if preprocessing is not None and not isinstance(preprocessing, dict):
            raise ModelFileError(f"{source}: invalid preprocessing description.")
        return SavedModel(
            network=network,
            task=str(meta.get("task") or ""),
            classes=classes,
            preprocessing=preprocessing,
            preprocessing_arrays={
                k[len("preprocessing.") :]: v for k, v in tensors.items() if k.startswith("preprocessing.")
            },
            history=meta.get("history") if isinstance(meta.get("history"), dict) else None,
            metadata=meta.get("metadata") if isinstance(meta.get("metadata"), dict) else {},
            glassnet_version=str(meta.get("glassnet_version")),
            members=networks,
        )
    except ModelFileError:
        raise
    except Exception as exc:  # anything unforeseen in a hostile file is still a file error
        raise ModelFileError(f"{source} is not a valid glassnet model: {type(exc).__name__}: {exc}") from None
