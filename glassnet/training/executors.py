"""Where independent jobs run: in this process, in local processes (joblib), or on a Dask cluster.

An executor has one method, ``map(function, items, shared)``, returning
``[function(item, shared) for item in items]`` in order, and ``close()``, which releases what it
opened itself. ``shared`` (the data) goes to the workers as the backend allows: joblib memory-maps
its large arrays; on a Dask cluster the callers put large arrays in files first
(:func:`share_by_path`), and the rest travels with each task.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


class SequentialExecutor:
    """Run every job here, one after the other (the default)."""

    def map(self, function: Callable, items: Sequence, shared: Any) -> list:
        return [function(item, shared) for item in items]

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "SequentialExecutor()"


class ThreadExecutor:
    """Run jobs in threads of this process, each matrix product on one BLAS thread (the default for
    the cross-fit members on a machine with several cores).

    The members of a cross-fit are small networks: their matrix products gain little from a second
    BLAS thread (1.1–1.3× for the tabular recipe's network), and lose 2.5× when another process
    keeps a core busy. One member per core, each on one thread, uses the cores better, in one
    process (no start-up, no copies of the rows), and gives the same weights as one member after
    the other on one BLAS thread: each job's arithmetic is the same, only where it runs differs.
    NumPy's products and the compiled kernels release the GIL; the Python between them does not,
    which caps the gain (two members at once: about 1.3× on 2 cores).

    Ctrl-C reaches the main thread, which waits here: its handler only asks every member to stop after
    its batch (``interrupts.stop_requests_here``), also one whose thread is still setting up; the
    members end, and their results say so. (A KeyboardInterrupt raised at a random point of the main
    thread could be swallowed there, for example in a finalizer, and the members trained on.)
    """

    def __init__(self, n_threads: int | None = None, warm_up: Callable[[Any], object] | None = None) -> None:
        self.n_threads = n_threads or usable_cores()
        #: Run here, with ``shared``, before the threads start: a short piece of the jobs' work that
        #: compiles the kernels they use (numba compiling in two threads at once failed inside numba).
        self.warm_up = warm_up

    def map(self, function: Callable, items: Sequence, shared: Any) -> list:
        from concurrent.futures import ThreadPoolExecutor, wait

        from threadpoolctl import threadpool_limits

        from .interrupts import stop_requests_here

        with (
            threadpool_limits(1, user_api="blas"),
            ThreadPoolExecutor(self.n_threads) as pool,
            stop_requests_here(),  # Ctrl-C: every job stops after its batch, also one not started yet
        ):
            if self.warm_up is not None and len(items) > 1:
                self.warm_up(shared)
            futures = [pool.submit(function, item, shared) for item in items]
            wait(futures)
            # in order: the first job's own error (a member's "interrupted in epoch 3") is the one raised
            return [future.result() for future in futures]

    def close(self) -> None:
        """Nothing to release (the threads end with each map)."""

    def __repr__(self) -> str:
        return f"ThreadExecutor(n_threads={self.n_threads})"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class JoblibExecutor:
    """Run jobs in local worker processes with joblib (large arrays are memory-mapped, not copied)."""

    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = n_jobs

    def map(self, function: Callable, items: Sequence, shared: Any) -> list:
        from joblib import Parallel, delayed

        return Parallel(n_jobs=self.n_jobs)(delayed(function)(item, shared) for item in items)

    def close(self) -> None:
        """Nothing to release (joblib's workers are reused, then shut down by joblib)."""

    def __repr__(self) -> str:
        return f"JoblibExecutor(n_jobs={self.n_jobs})"


class DaskExecutor:
    """Run jobs on a Dask distributed cluster.

    A worker that dies mid-task is replaced and its task rerun by Dask (up to the scheduler's
    ``distributed.scheduler.allowed-failures``, 3 by default); glassnet's tasks are functions of
    their inputs, so a rerun gives the same result.

    Parameters
    ----------
    client : dask.distributed.Client or str
        A connected client, or a scheduler address such as ``"tcp://10.0.0.5:8786"``.
    """

    #: Its workers may be other machines: large arrays are passed by the path of a file, not sent.
    by_path = True

    def __init__(self, client: Any, shared_dir: str | os.PathLike | None = None) -> None:
        #: Where the arrays tasks read are written: a folder every worker sees (None: a temporary
        #: folder on this machine, which only a cluster on this machine sees).
        self.shared_dir = shared_dir
        self.owns_client = isinstance(client, str)
        if isinstance(client, str):
            from dask.distributed import Client

            client = Client(client)
        self.client = client

    def map(self, function: Callable, items: Sequence, shared: Any) -> list:
        # ``shared`` travels with each task, not scattered ahead: scattered data that lived only on a
        # worker that died cannot be recovered (the task's rerun then fails), while a task's own
        # arguments stay with the scheduler. Large arrays come by path (share_by_path), so it is small.
        futures = [self.client.submit(function, item, shared, pure=False) for item in items]
        return self.client.gather(futures)

    def close(self) -> None:
        """Close the client when this executor opened it from an address (a given client stays open)."""
        if self.owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"


def get_executor(spec: Any = None, shared_dir: str | os.PathLike | None = None) -> Any:
    """An executor from ``None``/"sequential", "threads", "joblib"/"processes", a Dask client or address (whose
    tasks read large arrays from files in ``shared_dir``), or any object with a
    ``map(function, items, shared)`` method."""
    if spec is None or spec == "sequential":
        return SequentialExecutor()
    if spec in ("joblib", "processes"):
        return JoblibExecutor()
    if spec == "threads":
        return ThreadExecutor()
    if isinstance(spec, str) and "://" in spec:
        return DaskExecutor(spec, shared_dir)
    if type(spec).__name__ == "Client" and type(spec).__module__.startswith("distributed"):
        return DaskExecutor(spec, shared_dir)
    if hasattr(spec, "map") and callable(spec.map):
        return spec
    raise ValueError(
        "executor must be None, 'sequential', 'threads', 'joblib', a Dask Client, a scheduler "
        f"address 'tcp://host:port', or an object with map(function, items, shared); got {spec!r}."
    )


@contextmanager
def executor_for(spec: Any = None, shared_dir: str | os.PathLike | None = None) -> Iterator[Any]:
    """:func:`get_executor` for a block: what it opened here (a client from an address) is closed
    when the block ends; an executor the caller passed in is left open."""
    runner = get_executor(spec, shared_dir)
    try:
        yield runner
    finally:
        if runner is not spec and hasattr(runner, "close"):
            runner.close()


class SharedFile(str):
    """The path of a ``.npy`` file that a task opens (memory-mapped) instead of receiving the array."""


def share_by_path(shared: dict, keys: Sequence[str], folder: str | os.PathLike | None) -> tuple[dict, list[Path]]:
    """``shared`` with the arrays under ``keys`` written to ``.npy`` files and replaced by their paths.

    For an executor whose workers may be other machines (``by_path``): the tasks get the files'
    names, not the rows. The files go into ``folder`` (a temporary folder when None) under names of
    their own; the second value lists what to remove afterwards (:func:`remove_shared`).
    """
    made = folder is None
    where = Path(tempfile.mkdtemp(prefix="glassnet-")) if folder is None else Path(folder)
    result, written = dict(shared), []
    for key in keys:
        handle, name = tempfile.mkstemp(prefix=f".glassnet-{key}-", suffix=".npy", dir=where)
        written.append(Path(name))
        with os.fdopen(handle, "wb") as file:
            np.save(file, shared[key])
        result[key] = SharedFile(Path(name).resolve())
    return result, written + ([where] if made else [])


@contextmanager
def sent_by_path(runner: Any, shared: dict, keys: Sequence[str]) -> Iterator[dict]:
    """``shared`` as ``runner``'s tasks should get it: with the arrays under ``keys`` in files when its
    workers may be other machines (``by_path``), removed when the block ends; unchanged otherwise."""
    if not getattr(runner, "by_path", False):
        yield shared
        return
    sent, written = share_by_path(shared, keys, getattr(runner, "shared_dir", None))
    try:
        yield sent
    finally:
        remove_shared(written)


def remove_shared(written: list[Path]) -> None:
    """Remove what :func:`share_by_path` wrote: the files, then the temporary folder it made."""
    for path in written:
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)


def opened(shared: dict) -> dict:
    """``shared`` with every :class:`SharedFile` opened as a read-only memory map (in the task)."""
    return {
        key: np.load(value, mmap_mode="r") if isinstance(value, SharedFile) else value for key, value in shared.items()
    }
