"""Export the inference network to ONNX (Gemm, activations, batch norm, softmax)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..ensemble import Ensemble
from ..layers import Activation, BatchNorm, Dense, Dropout
from ..network import Sequential
from .atomic import atomic_write_bytes


def export_onnx(
    network: Sequential | Ensemble,
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
    clip: float | None = None,
    calibration: dict | None = None,
) -> Path:
    """Write an ONNX graph computing ``network.predict`` (inference mode).

    Parameters
    ----------
    network : Sequential or Ensemble
        An ensemble becomes one graph: each member's nodes (names prefixed ``member{i}/``) and a
        ``Mean`` of their outputs, as :meth:`Ensemble.predict` computes.
    path : str or Path
    mean, scale : ndarray of shape (input_dim,), optional
        Standardization applied to the raw input first (``(x − mean) / scale``), when the model's
        preprocessing is expressible in ONNX.
    fold_batch_norm : bool, default=True
        Fold each batch norm into the Dense layer before it (one Gemm); otherwise emit
        ``BatchNormalization`` nodes with the running statistics.
    opset : int, default=17
    clip : float, optional
        After standardization, clip smoothly as the table preprocessing does:
        ``x / √(1 + (x/clip)²)``.
    output_scale, output_shift : ndarray of shape (output_dim,), optional
        Map the network's outputs back to the targets' units (``output · scale + shift``), for
        networks trained on standardized targets.
    calibration : dict, optional
        A calibration of the probabilities, as a model file records it (``glassnet.app.calibration``):
        ``{"method": "temperature", "temperature": T}`` (``softmax(log p / T)``) or
        ``{"method": "platt", "slope": a, "intercept": b, "positive": k}`` (two classes:
        ``sigmoid(a · (log p_k − log p_other) + b)``).

    Returns
    -------
    Path
    """
    from onnx import helper

    members = network.members if isinstance(network, Ensemble) else [network]
    if not all(member.built for member in members):
        raise ValueError("the network is not built; train it (or call it once) before exporting.")
    graph = _Graph(network.dtype)
    current = input_name
    if mean is not None:
        current = graph.emit("Sub", [current, graph.constant("preprocess_mean", mean)], "standardize_sub")
    if scale is not None:
        current = graph.emit("Div", [current, graph.constant("preprocess_scale", scale)], "standardize_div")
    if clip:
        current = graph.smooth_clip(current, clip)
    ends = []
    for index, member in enumerate(members):
        graph.prefix = f"member{index}/" if len(members) > 1 else ""
        layers, position, end = list(member.layers), 0, current
        while position < len(layers):
            end, position = graph.add_layer(layers, position, end, fold_batch_norm)
        ends.append(end)
    graph.prefix = ""
    current = ends[0] if len(ends) == 1 else graph.emit("Mean", ends, "ensemble_mean")
    if output_scale is not None:
        current = graph.emit("Mul", [current, graph.constant("target_scale", output_scale)], "unstandardize_mul")
    if output_shift is not None:
        current = graph.emit("Add", [current, graph.constant("target_shift", output_shift)], "unstandardize_add")
    if calibration:
        current = graph.calibrate(current, calibration)
    graph.nodes.append(helper.make_node("Identity", [current], [output_name], name="output_identity"))
    return _write(graph, network, input_name, output_name, opset, Path(path))


def _write(graph: _Graph, network, input_name: str, output_name: str, opset: int, path: Path) -> Path:
    """The graph as a checked ONNX model, written atomically to ``path``."""
    import onnx
    from onnx import TensorProto, helper

    element = TensorProto.FLOAT if network.dtype == np.float32 else TensorProto.DOUBLE
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "glassnet",
            [helper.make_tensor_value_info(input_name, element, ["batch", network.input_dim])],
            [helper.make_tensor_value_info(output_name, element, ["batch", network.output_dim])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="glassnet",
    )
    model.ir_version = min(model.ir_version, 10)  # readable by onnxruntime releases of the last years
    onnx.checker.check_model(model)
    atomic_write_bytes(path, model.SerializeToString())
    return path


class _Graph:
    """ONNX nodes and initializers, added layer by layer."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.prefix = ""  # before every node and initializer name (an ensemble's member)
        self.nodes: list = []
        self.initializers: list = []

    def constant(self, name: str, value) -> str:
        from onnx import numpy_helper

        array = np.ascontiguousarray(np.asarray(value), dtype=self.dtype)
        name = self.prefix + name
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def emit(self, op: str, inputs: list[str], name: str, **attributes) -> str:
        from onnx import helper

        name = self.prefix + name
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def calibrate(self, current: str, calibration: dict) -> str:
        """The recorded calibration of probabilities (see ``export_onnx``), after the network."""
        floor = self.constant("calibration_floor", np.array(1e-12))
        logs = self.emit("Log", [self.emit("Max", [current, floor], "calibration_floor_max")], "calibration_log")
        if calibration["method"] == "temperature":
            scaled = self.emit("Div", [logs, self.constant("temperature", np.array(calibration["temperature"]))],
                               "temperature_div")  # fmt: skip
            return self.emit("Softmax", [scaled], "temperature_softmax", axis=1)
        # Platt: the positive column's logit, a·logit + b, then [1 − p, p] in the classes' order
        k = int(calibration["positive"])
        sign = np.array([-1.0, 1.0]) if k == 1 else np.array([1.0, -1.0])
        logit = self.emit("MatMul", [logs, self.constant("platt_difference", sign.reshape(2, 1))], "platt_logit")
        affine = self.emit("Mul", [logit, self.constant("platt_slope", np.array(calibration["slope"]))], "platt_mul")
        affine = self.emit("Add", [affine, self.constant("platt_intercept", np.array(calibration["intercept"]))],
                           "platt_add")  # fmt: skip
        both = self.emit("Mul", [affine, self.constant("platt_sides", sign.reshape(1, 2))], "platt_both")
        return self.emit("Sigmoid", [both], "platt_sigmoid")

    def smooth_clip(self, current: str, bound: float) -> str:
        """``x / √(1 + (x/bound)²)``, element by element."""
        ratio = self.emit("Div", [current, self.constant("clip_bound", np.array(bound))], "clip_ratio")
        square = self.emit("Mul", [ratio, ratio], "clip_square")
        one_plus = self.emit("Add", [square, self.constant("clip_one", np.array(1.0))], "clip_one_plus")
        root = self.emit("Sqrt", [one_plus], "clip_sqrt")
        return self.emit("Div", [current, root], "clip_divide")

    def add_layer(self, layers: list, position: int, current: str, fold_batch_norm: bool) -> tuple[str, int]:
        """Emit ``layers[position]`` (a Dense folds the batch norm after it); returns output and next position."""
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
            inputs = [current, self.constant(f"{name}.W", weights), self.constant(f"{name}.b", bias)]
            return self.emit("Gemm", inputs, name), position + 1
        if isinstance(layer, BatchNorm):
            inputs = [current] + [
                self.constant(f"{name}.{key}", value)
                for key, value in (
                    ("gamma", layer.gamma.value),
                    ("beta", layer.beta.value),
                    ("running_mean", layer.running_mean),
                    ("running_var", layer.running_var),
                )
            ]
            return self.emit("BatchNormalization", inputs, name, epsilon=float(layer.eps)), position + 1
        if isinstance(layer, Activation):  # each activation emits its own nodes (Activation.onnx)
            try:
                return layer.onnx(self, current), position + 1
            except NotImplementedError as error:
                raise ValueError(f"layer {layer.name}: {error}") from None
        if isinstance(layer, Dropout):
            return current, position + 1  # the identity at inference
        raise ValueError(f"layer {layer.name} ({type(layer).__name__}) has no ONNX equivalent here.")
