"""Which consecutive layers form a purely linear block, and what single layer they equal."""

from __future__ import annotations

from dataclasses import dataclass

from ..layers import Dense


@dataclass
class LinearBlock:
    """A run of layers with no non-linearity: equal to one Dense of ``input_dim → output_dim``."""

    layers: list[str]
    dense_layers: list[str]
    input_dim: int
    output_dim: int
    parameters: int

    @property
    def redundant(self) -> bool:
        return len(self.dense_layers) >= 2

    def statement(self) -> str:
        equivalent = self.input_dim * self.output_dim + self.output_dim
        if self.redundant:
            return (
                f"these {len(self.dense_layers)} layers add no expressive power: "
                f"{' → '.join(self.layers)} is one affine map {self.input_dim} → {self.output_dim} "
                f"({equivalent:,} parameters would do what {self.parameters:,} do)."
            )
        return f"{' → '.join(self.layers)}: one affine map {self.input_dim} → {self.output_dim}."


def linear_block_report(network) -> list[LinearBlock]:
    """The linear blocks of a built network that contain at least one Dense layer."""
    blocks = []
    for positions in network.linear_blocks():
        layers = [network.layers[i] for i in positions]
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        if not dense:
            continue
        blocks.append(
            LinearBlock(
                [layer.name for layer in layers],
                [layer.name for layer in dense],
                layers[0].input_dim,
                layers[-1].output_dim,
                sum(p.size for layer in layers for p in layer.parameters()),
            )
        )
    return blocks
