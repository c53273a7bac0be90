"""Ctrl-C during training: the first one asks the loop to stop after the current batch, a second aborts."""

from __future__ import annotations

import signal
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType

#: The flags of every training loop running now, in any thread (see :func:`request_stop_everywhere`).
_ACTIVE: weakref.WeakSet[InterruptFlag] = weakref.WeakSet()
#: Set by :func:`request_stop_everywhere` until :func:`clear_stop_request`: a loop that starts
#: meanwhile (a member whose thread was still building its network) stops at once too.
_STOP = threading.Event()


def request_stop_everywhere() -> None:
    """Ask every training loop, in any thread, to stop after its current batch: those running now
    and those that start before :func:`clear_stop_request`.

    Loops in other threads install no signal handler: the thread that waits for them calls this when
    it receives Ctrl-C (``training.executors.ThreadExecutor``).
    """
    _STOP.set()
    for flag in list(_ACTIVE):
        flag.requested = True


def clear_stop_request() -> None:
    """Let loops that start from now on run (the jobs :func:`request_stop_everywhere` stopped have ended)."""
    _STOP.clear()


@contextmanager
def stop_requests_here() -> Iterator[None]:
    """While the main thread waits for loops in other threads: every Ctrl-C asks them all to stop
    after their batch (:func:`request_stop_everywhere`), and nothing is raised in the waiting thread.
    Elsewhere than in the main thread it changes nothing. The stop request is cleared at the end."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: request_stop_everywhere()) if main else None
    clear_stop_request()
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        clear_stop_request()


class InterruptFlag:
    """A context manager that turns the first SIGINT into ``requested = True``.

    Outside the main thread (where Python cannot install signal handlers) it does nothing, and
    Ctrl-C keeps its usual effect. The previous handler is restored on exit, and at once on a
    second Ctrl-C, which then raises KeyboardInterrupt.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: signal.Handlers | object | None = None

    def __enter__(self) -> InterruptFlag:
        _ACTIVE.add(self)
        if _STOP.is_set():  # Ctrl-C came while this loop's thread was still setting it up
            self.requested = True
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            self._restore()
            raise KeyboardInterrupt
        self.requested = True

    def _restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._previous = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        _ACTIVE.discard(self)
        self._restore()
