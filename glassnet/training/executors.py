"""Where independent jobs run: in this process, in local processes (joblib), or on a Dask cluster.

An executor has one method, ``map(function, items, shared)``, returning
``[function(item, shared) for item in items]`` in order, and ``close()``, which releases what it
opened itself. ``shared`` (the data) is sent once per
worker where the backend allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class SequentialExecutor:
    """Run every job here, one after the other (the default)."""

    def map(self, function: Callable, items: Sequence, shared: Any) -> list:
        return [function(item, shared) for item in items]

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "SequentialExecutor()"


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

    def __init__(self, client: Any) -> None:
        self.owns_client = isinstance(client, str)
        if isinstance(client, str):
            from dask.distributed import Client

            client = Client(client)
        self.client = client

    def map(self, function: Callable, items: Sequence, shared: Any) -> list:
        # Wrapped in a list: a dict would be scattered key by key, under its keys' names.
        [shared_future] = self.client.scatter([shared], broadcast=True, hash=False)
        futures = [self.client.submit(function, item, shared_future, pure=False) for item in items]
        return self.client.gather(futures)

    def close(self) -> None:
        """Close the client when this executor opened it from an address (a given client stays open)."""
        if self.owns_client:
            self.client.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"


def get_executor(spec: Any = None) -> Any:
    """An executor from ``None``/"sequential", "joblib"/"processes", a Dask client or address, or
    any object with a ``map(function, items, shared)`` method."""
    if spec is None or spec == "sequential":
        return SequentialExecutor()
    if spec in ("joblib", "processes"):
        return JoblibExecutor()
    if isinstance(spec, str) and "://" in spec:
        return DaskExecutor(spec)
    if type(spec).__name__ == "Client" and type(spec).__module__.startswith("distributed"):
        return DaskExecutor(spec)
    if hasattr(spec, "map") and callable(spec.map):
        return spec
    raise ValueError(
        "executor must be None, 'sequential', 'joblib', a Dask Client, a scheduler "
        f"address 'tcp://host:port', or an object with map(function, items, shared); got {spec!r}."
    )
