"""The whole job's progress in a terminal: one bar per phase, with its count, rate and ETA.

``glassnet train`` runs in phases (training the networks, the baselines, the importance). In a
terminal each phase gets a bar labelled ``[i/N] phase`` that shows how much of it is done and how
long the rest will take, with the epoch bar of the network in training nested under it. Off a
terminal (a log file, CI, a notebook) the bars are off: the job's own lines, with an epoch line
every few seconds, say the same in plain text.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO


class Phase:
    """One phase's bar (or nothing, off a terminal): ``advance()`` as work is done.

    With a job ``clock`` that has a limit (``--max-time``), the bar also shows the whole job's time
    left against it.
    """

    def __init__(self, bar: Any = None, log: Callable[[str], object] = print, clock: Any = None) -> None:
        self.bar = bar
        self._log = log
        self.clock = clock if clock is not None and clock.limit is not None else None
        self._show_limit()

    def _show_limit(self) -> None:
        if self.bar is not None and self.clock is not None:
            left = max(self.clock.left(), 0.0)
            self.bar.set_postfix_str(f"job: {left:.0f} s left of {self.clock.limit:g} s", refresh=False)

    def advance(self, steps: int = 1) -> None:
        if self.bar is not None:
            self._show_limit()
            self.bar.update(steps)

    def reach(self, done: int, total: int | None = None) -> None:
        """Set the count done (and the total, once known)."""
        if self.bar is not None:
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self._show_limit()
            self.bar.update(done - self.bar.n)

    def log(self, text: str) -> None:
        """Print a line of the job's log above the bar (the bar is redrawn under it)."""
        if self.bar is None:
            self._log(text)
        else:
            from tqdm.auto import tqdm

            tqdm.write(text, file=sys.stdout)


class JobProgress:
    """Bars for the job's ``phases``, drawn when ``stream`` is a terminal (or ``force``) and ``verbose``."""

    def __init__(
        self, phases: Sequence[str], verbose: int = 1, stream: TextIO | None = None, force: bool = False,
        log: Callable[[str], object] = print, clock: Any = None,
    ) -> None:  # fmt: skip
        self.phases = list(phases)
        self.clock = clock  # the job's deadline (app/budget.py), shown on each bar when it has a limit
        self.stream = stream if stream is not None else sys.stderr
        interactive = force or (hasattr(self.stream, "isatty") and self.stream.isatty())
        self.active = bool(verbose) and interactive
        self._log = log

    @contextmanager
    def phase(self, name: str, total: int | None = None, unit: str = "step") -> Iterator[Phase]:
        """A bar for phase ``name`` while the block runs (closed, and left on screen, at its end)."""
        if not self.active:
            yield Phase(log=self._log, clock=self.clock)
            return
        from tqdm.auto import tqdm  # imported lazily: the core import stays light

        label = f"[{self.phases.index(name) + 1}/{len(self.phases)}] {name}" if name in self.phases else name
        bar = tqdm(total=total, desc=label, unit=unit, file=self.stream, position=0, leave=True, dynamic_ncols=True)
        try:
            yield Phase(bar, self._log, self.clock)
        finally:
            bar.close()
