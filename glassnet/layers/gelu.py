"""GELU, the Gaussian error linear unit (Hendrycks & Gimpel, 2016), in its tanh form.

``f(x) = ½ x (1 + tanh(u))`` with ``u = √(2/π) (x + 0.044715 x³)``: x weighted by about the chance
that a standard normal falls below it, smooth where ReLU has a corner. The tanh form is the one of
BERT and GPT-2 and PyTorch's ``gelu(approximate="tanh")``; it differs from the exact x·Φ(x) by less
than 5e-4. By the chain rule, with t = tanh(u):

``f'(x) = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²)``.

This module is all of GELU: registered, it is built by name (``--activation gelu``), saved, rebuilt,
exported to ONNX (as Tanh and arithmetic nodes), and checked against finite differences and PyTorch
in the tests. The compiled whole-network kernels do not know it: a network with it runs layer by
layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .activations import Activation, register_activation

#: √(2/π) and the cubic coefficient of the tanh form.
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715


@register_activation
class GELU(Activation):
    """Gaussian error linear unit, tanh form: ``f(x) = ½ x (1 + tanh(√(2/π)(x + 0.044715 x³)))``.

    Examples
    --------
    >>> import numpy as np, glassnet as gn
    >>> net = gn.mlp([4], 2, activation="gelu", input_dim=3, seed=0)
    >>> type(net.layers[1]).__name__
    'GELU'
    """

    kind = "gelu"
    init = "he_normal"  # ReLU-like for large |x|

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.check_input(x)
        n = x.shape[0]
        t = self._workspace("tanh", n, self.input_dim)
        out = self._workspace("out", n, self.input_dim)
        self._tanh_of_u(x, t)
        np.add(t, 1.0, out=out)
        out *= x
        out *= 0.5
        self._workspace("x", n, self.input_dim)[...] = x
        self._mark_forward(x)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_backward_ready(grad_output)
        n = grad_output.shape[0]
        x, t = self._workspaces["x"][:n], self._workspaces["tanh"][:n]
        grad_input = self._workspace("grad_input", n, self.input_dim)
        scratch = self._workspace("scratch", n, self.input_dim)
        # ½ x (1 − t²) √(2/π) (1 + 3c x²)
        np.multiply(x, x, out=scratch)
        scratch *= 3.0 * CUBIC
        scratch += 1.0
        scratch *= SQRT_2_OVER_PI
        np.multiply(t, t, out=grad_input)
        np.subtract(1.0, grad_input, out=grad_input)
        grad_input *= scratch
        grad_input *= x
        # + (1 + t), then the common ½ and the incoming gradient
        grad_input += t
        grad_input += 1.0
        grad_input *= 0.5
        grad_input *= grad_output
        return grad_input

    def infer(self, x: np.ndarray) -> np.ndarray:
        t = np.empty_like(x)
        self._tanh_of_u(x, t)
        t += 1.0
        t *= x
        t *= 0.5
        return t

    @staticmethod
    def _tanh_of_u(x: np.ndarray, out: np.ndarray) -> None:
        """``out = tanh(√(2/π) (x + 0.044715 x³))``."""
        np.multiply(x, x, out=out)
        out *= x
        out *= CUBIC
        out += x
        out *= SQRT_2_OVER_PI
        np.tanh(out, out=out)

    def onnx(self, graph: Any, x: str) -> str:
        name = self.name

        def emit(op: str, inputs: list[str], part: str) -> str:
            return str(graph.emit(op, inputs, f"{name}_{part}"))

        cube = emit("Mul", [emit("Mul", [x, x], "square"), x], "cube")
        inner = emit("Add", [x, emit("Mul", [cube, graph.constant(f"{name}.cubic", CUBIC)], "cubic")], "inner")
        u = emit("Mul", [inner, graph.constant(f"{name}.scale", SQRT_2_OVER_PI)], "u")
        one_plus = emit("Add", [emit("Tanh", [u], "tanh"), graph.constant(f"{name}.one", 1.0)], "one_plus")
        half_x = emit("Mul", [x, graph.constant(f"{name}.half", 0.5)], "half_x")
        return str(graph.emit("Mul", [half_x, one_plus], name))
