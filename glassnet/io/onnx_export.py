"""Export the inference network to ONNX (Gemm, activations, batch norm, softmax)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layers import BatchNorm, Dense, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from ..network import Sequential
from .atomic import atomic_write_bytes


def export_onnx(
    network: Sequential,
    path: str | Path,
    *,
    mean: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    fold_batch_norm: bool = True,
    opset: int = 17,
    input_name: str = "input",
    output_name: str = "output",
    output_scale: np.ndarray | None = None,
    output_shift: np.ndarray | None = None,
) -> Path:
    """Write an ONNX graph computing ``network.predict`` (inference mode).

    Parameters
    ----------
    network : Sequential
    path : str or Path
    mean, scale : ndarray of shape (input_dim,), optional
        Standardization applied to the raw input first (``(x − mean) / scale``), when the model's
        preprocessing is expressible in ONNX.
    fold_batch_norm : bool, default=True
        Fold each batch norm into the Dense layer before it (one Gemm); otherwise emit
        ``BatchNormalization`` nodes with the running statistics.
    opset : int, default=17
    output_scale, output_shift : ndarray of shape (output_dim,), optional
        Map the network's outputs back to the targets' units (``output · scale + shift``), for
        networks trained on standardized targets.

    Returns
    -------
    Path
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not network.built:
        raise ValueError("the network is not built; train it (or call it once) before exporting.")
    element = TensorProto.FLOAT if network.dtype == np.float32 else TensorProto.DOUBLE
    dtype = network.dtype
    nodes, initializers = [], []
    current = input_name

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def emit(op: str, inputs: list[str], name: str, **attributes) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    if mean is not None:
        current = emit("Sub", [current, constant("preprocess_mean", np.asarray(mean))], "standardize_sub")
    if scale is not None:
        current = emit("Div", [current, constant("preprocess_scale", np.asarray(scale))], "standardize_div")

    layers = list(network.layers)
    position = 0
    while position < len(layers):
        layer = layers[position]
        name = layer.name
        if isinstance(layer, Dense):
            weights = layer.W.value.astype(np.float64)
            bias = layer.b.value.astype(np.float64) if layer.b is not None else np.zeros(layer.units)
            following = layers[position + 1] if position + 1 < len(layers) else None
            if fold_batch_norm and isinstance(following, BatchNorm):
                bn_scale, bn_shift = (a.astype(np.float64) for a in following.inference_scale_shift())
                weights, bias = weights * bn_scale, bias * bn_scale + bn_shift
                position += 1
            current = emit("Gemm", [current, constant(f"{name}.W", weights), constant(f"{name}.b", bias)], name)
        elif isinstance(layer, BatchNorm):
            current = emit(
                "BatchNormalization",
                [
                    current,
                    constant(f"{name}.gamma", layer.gamma.value),
                    constant(f"{name}.beta", layer.beta.value),
                    constant(f"{name}.running_mean", layer.running_mean),
                    constant(f"{name}.running_var", layer.running_var),
                ],
                name,
                epsilon=float(layer.eps),
            )
        elif isinstance(layer, ReLU):
            current = emit("Relu", [current], name)
        elif isinstance(layer, LeakyReLU):
            current = emit("LeakyRelu", [current], name, alpha=float(layer.negative_slope))
        elif isinstance(layer, Sigmoid):
            current = emit("Sigmoid", [current], name)
        elif isinstance(layer, Tanh):
            current = emit("Tanh", [current], name)
        elif isinstance(layer, Softmax):
            current = emit("Softmax", [current], name, axis=1)
        elif isinstance(layer, (Linear, Dropout)):
            pass  # the identity at inference
        else:
            raise ValueError(f"layer {layer.name} ({type(layer).__name__}) has no ONNX equivalent here.")
        position += 1
    if output_scale is not None:
        current = emit("Mul", [current, constant("target_scale", np.asarray(output_scale))], "unstandardize_mul")
    if output_shift is not None:
        current = emit("Add", [current, constant("target_shift", np.asarray(output_shift))], "unstandardize_add")
    nodes.append(helper.make_node("Identity", [current], [output_name], name="output_identity"))
    graph = helper.make_graph(
        nodes,
        "glassnet",
        [helper.make_tensor_value_info(input_name, element, ["batch", network.input_dim])],
        [helper.make_tensor_value_info(output_name, element, ["batch", network.output_dim])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="glassnet")
    model.ir_version = min(model.ir_version, 10)  # readable by onnxruntime releases of the last years
    onnx.checker.check_model(model)
    path = Path(path)
    atomic_write_bytes(path, model.SerializeToString())
    return path
