"""Which hidden units still carry anything: a census of each hidden layer's units.

A unit whose incoming weights are all exactly zero computes the same value for every row: it adds
an intercept to the next layer and nothing else. Under an L2 penalty a unit the data stops using
(a ReLU unit no row activates) decays to exactly that (``glassnet.floats`` tells how), so its
count is capacity the network lost, and the report says it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class UnitCensus:
    """One hidden layer's units.

    Attributes
    ----------
    layer : str
        The Dense layer's name.
    units : int
    decayed : int
        Units whose incoming weights are all zero (constant: they carry no information on the rows).
    """

    layer: str
    units: int
    decayed: int

    @property
    def alive(self) -> int:
        """Units with at least one non-zero incoming weight."""
        return self.units - self.decayed


def unit_census(network) -> list[UnitCensus]:
    """The census of every hidden Dense layer of ``network`` (not the output layer).

    >>> import glassnet as gn
    >>> net = gn.mlp([4], 2, input_dim=3, seed=0)
    >>> net.layers[0].W.value[:, 1] = 0
    >>> [(c.layer, c.units, c.alive) for c in unit_census(net)]
    [('dense_1', 4, 3)]
    """
    from ..layers import Dense

    dense = [layer for layer in network.layers if isinstance(layer, Dense)]
    return [
        UnitCensus(layer.name, layer.units, int(np.count_nonzero(~np.any(layer.W.value != 0, axis=0))))
        for layer in dense[:-1]
    ]


def describe_census(networks: list) -> str:
    """One sentence on the hidden units of ``networks`` (one, or an ensemble's members): how many are
    alive per layer, with the range over members.

    >>> import glassnet as gn
    >>> describe_census([gn.mlp([4, 3], 2, input_dim=3, seed=0)])
    'Hidden units alive (at least one non-zero incoming weight): dense_1 4 of 4, dense_2 3 of 3.'
    """
    censuses = [unit_census(network) for network in networks]
    if not censuses or not censuses[0]:
        return ""
    parts = []
    for position, first in enumerate(censuses[0]):
        alive = [census[position].alive for census in censuses]
        counted = f"{min(alive)}" if min(alive) == max(alive) else f"{min(alive)}–{max(alive)}"
        parts.append(f"{first.layer} {counted} of {first.units}")
    members = f" in each of the {len(networks)} members" if len(networks) > 1 else ""
    text = f"Hidden units alive (at least one non-zero incoming weight){members}: {', '.join(parts)}."
    decayed = [sum(c.decayed for c in census) for census in censuses]
    if max(decayed):
        text += (
            " The others' weights decayed to zero under the L2 penalty once the data stopped using them "
            "(ReLU units no row activates): capacity the network does not use."
        )
    return text
