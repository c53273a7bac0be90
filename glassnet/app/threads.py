"""How the job uses the machine's cores: members side by side, and BLAS threads by the size of the products.

Measured on 2 cores (glassnet/training/executors.py, ThreadExecutor): the tabular recipe's network
(64-256-128 at batch 64) gains only 1.1–1.3× from a second BLAS thread on a quiet machine, and runs
2.5× slower with it when another process keeps a core busy (the BLAS threads spin-wait for each
other). A product that small is worth one thread; the cross-fit's members then run one per core.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .options import JobOptions

#: A product of fewer multiply-adds than this (batch rows × inputs × outputs of the widest layer)
#: runs on one BLAS thread: below it, the threads' hand-over costs about what they save.
THREADED_PRODUCT = 1 << 22


def largest_product(widths: Sequence[int], batch_size: int) -> int:
    """The multiply-adds of the largest matrix product in a step: batch × fan-in × fan-out of the
    widest layer, for a network of layer ``widths`` (inputs first, outputs last).

    >>> largest_product([64, 256, 128, 2], 64)
    2097152
    """
    return max(batch_size * a * b for a, b in zip(widths[:-1], widths[1:]))


def product_threads(widths: Sequence[int], batch_size: int) -> int | None:
    """1 when the network's largest product is small (:data:`THREADED_PRODUCT`), else None (BLAS's own
    count: every core).

    >>> product_threads([64, 256, 128, 2], 64), product_threads([784, 256, 256, 10], 128)
    (1, None)
    """
    return 1 if largest_product(widths, batch_size) < THREADED_PRODUCT else None


def network_threads(options: JobOptions, n_inputs: int, outputs: int) -> int | None:
    """:func:`product_threads` for the job's network on ``n_inputs`` features and ``outputs`` outputs."""
    return product_threads([n_inputs, *options.hidden, outputs], options.batch_size)


def member_executor(executor: Any) -> Any:
    """Where the cross-fit's members train: the executor given, else side by side in threads when the
    machine has more than one core (the same weights as one after the other), else here in turn."""
    from ..training.executors import usable_cores

    if executor is None and usable_cores() > 1:
        return "threads"
    return executor


def threads_for(runner: Any, options: JobOptions, n_inputs: int, outputs: int) -> int | None:
    """The BLAS threads for members trained by ``runner`` in this process: one member at a time gets
    :func:`network_threads`; threads already run each member on one BLAS thread; other executors'
    workers choose for themselves (None: unchanged)."""
    from ..training.executors import SequentialExecutor

    return network_threads(options, n_inputs, outputs) if isinstance(runner, SequentialExecutor) else None


@contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Run a block with at most ``threads`` BLAS threads (None: as it is)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads, user_api="blas"):
        yield
