"""A network from a file's architecture and tensors: every argument, name, shape and size checked first."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import ModelFileError
from ..network import Sequential

#: Parameter values an architecture may declare beyond the tensors its file holds before loading refuses
#: to build it (so the missing ones can be named); beyond it, a small file could reserve a huge network.
_ALLOCATION_SLACK = 2**20

#: Constructor arguments the non-activation layer types may take in a file, with their allowed Python
#: types; an activation declares its own (``Activation.file_arguments``, glassnet/layers/activations.py).
_LAYER_ARGUMENTS: dict[str, dict[str, tuple]] = {
    "Dense": {"units": (int,), "use_bias": (bool,), "init": (str, type(None)), "init_scale": (float, int, type(None))},
    "BatchNorm": {"momentum": (float, int), "eps": (float, int)},
    "Dropout": {"rate": (float, int)},
}


def layer_arguments() -> dict[str, dict[str, tuple]]:
    """Every layer type a file may name (the registry's, now), with the arguments it may take."""
    from ..layers import Activation, layer_types

    return {
        name: (dict(cls.file_arguments) if issubclass(cls, Activation) else _LAYER_ARGUMENTS[name])
        for name, cls in layer_types().items()
    }


def _checked_architecture(config: Any, source: str) -> Sequential:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) or not config["layers"]:
        raise ModelFileError(f"{source}: the architecture is missing or empty.")
    input_dim, dtype = config.get("input_dim"), config.get("dtype")
    if not isinstance(input_dim, int) or isinstance(input_dim, bool) or not 0 < input_dim < 10**8:
        raise ModelFileError(f"{source}: invalid input_dim {input_dim!r}.")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{source}: invalid dtype {dtype!r}.")
    layers = []
    known = layer_arguments()
    for position, spec in enumerate(config["layers"]):
        if not isinstance(spec, dict) or spec.get("type") not in known:
            kind = spec.get("type") if isinstance(spec, dict) else spec
            raise ModelFileError(f"{source}: layer {position} has unknown type {kind!r}; allowed: {sorted(known)}.")
        allowed = known[spec["type"]]
        arguments = {k: v for k, v in spec.items() if k not in ("type", "name")}
        for key, value in arguments.items():
            if key not in allowed or not isinstance(value, allowed[key]):
                raise ModelFileError(
                    f"{source}: layer {position} ({spec['type']}) has invalid argument {key}={value!r}."
                )
        name = spec.get("name")
        if name is not None and (not isinstance(name, str) or not name.replace("_", "").isalnum()):
            raise ModelFileError(f"{source}: layer {position} has an invalid name {name!r}.")
        layers.append({**arguments, "type": spec["type"], "name": name})
    seed = config.get("seed")
    try:
        return Sequential.from_config(
            {"input_dim": input_dim, "dtype": dtype, "seed": seed if isinstance(seed, int) else 0, "layers": layers}
        )
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{source}: the architecture cannot be built: {exc}") from None


def declared_parameter_count(config: dict) -> int:
    """Values the architecture's parameters and buffers hold, computed without allocating them."""
    width, total = config["input_dim"], 0
    for spec in config["layers"]:
        if spec.get("type") == "Dense":
            units = spec.get("units")
            total += width * units + (units if spec.get("use_bias", True) else 0)
            width = units
        elif spec.get("type") == "BatchNorm":
            total += 4 * width  # gamma, beta, running mean and variance
    return total


def network_from(meta: dict, tensors: dict[str, np.ndarray], source: str) -> Sequential:
    """Rebuild a network from checked metadata and tensors (names, shapes and dtypes verified).

    The sizes the architecture declares must add up to the tensors the file really holds before
    anything is allocated, so that a small file cannot make the loader reserve a huge network.
    """
    config = meta.get("architecture")
    if (
        isinstance(config, dict)
        and isinstance(config.get("layers"), list)
        and isinstance(config.get("input_dim"), int)
        and all(isinstance(spec, dict) and isinstance(spec.get("units", 1), int) for spec in config["layers"])
    ):
        declared, present = declared_parameter_count(config), sum(int(t.size) for t in tensors.values())
        if declared > present + _ALLOCATION_SLACK:  # within the slack, the name check below says what is missing
            raise ModelFileError(
                f"{source}: the architecture declares {declared:,} parameter values but the file "
                f"holds only {present:,}; refusing to build it."
            )
    network = _checked_architecture(config, source)
    expected = {p.name: p.value for p in network.parameters()}
    expected.update(network.buffers())
    missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{source}: tensors do not match the architecture: missing {missing}, unexpected {extra}.")
    for name, target in expected.items():
        array = tensors[name]
        if array.shape != target.shape or array.dtype != target.dtype:
            raise ModelFileError(
                f"{source}: tensor {name!r} has shape {array.shape} and dtype {array.dtype}; "
                f"the architecture needs {target.shape} {target.dtype}."
            )
    network.load_state_dict(tensors)
    return network
