"""``--max-time``: one deadline for the whole job, and how its time is shared among the phases.

The job's clock starts before the data is read. Training gets the time up to its own deadline, which
keeps a reserve for what follows: :data:`BASELINE_SHARE` of the limit for the classical baselines
(when they run) and :data:`CLOSING_SHARE` for the importance, the report and the files. With
``--folds 1`` the run with validation gets :data:`VALIDATION_SHARE` of the training time and the
refit the rest. A network stops at the end of the last epoch that fits before its deadline
(``glassnet.training.callbacks.TimeLimit``) and keeps its best weights. The baselines' budget is the
smaller of ``--baseline-budget`` and half of what is left before the closing reserve; the
importance is skipped when less than the closing reserve is left. Whatever the limit cut is said in
the output, ``metrics.json`` and the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: Shares of the limit kept for the phases after training.
BASELINE_SHARE = 0.25
CLOSING_SHARE = 0.1
#: With one network and a refit: the run with validation's share of the training time.
VALIDATION_SHARE = 0.6


@dataclass
class JobClock:
    """The job's deadline (``limit`` seconds after ``started``, wall clock) and what it cut."""

    limit: float | None
    started: float = field(default_factory=time.time)
    cut: list[str] = field(default_factory=list)

    @property
    def deadline(self) -> float | None:
        return None if self.limit is None else self.started + self.limit

    def left(self) -> float:
        """Seconds until the deadline (infinite without a limit)."""
        return float("inf") if self.deadline is None else self.deadline - time.time()

    def training_deadline(self, baselines: bool) -> float | None:
        """When training must end: the deadline less the reserve for the phases after it.

        >>> JobClock(100.0, started=0.0).training_deadline(baselines=True)
        65.0
        """
        if self.limit is None or self.deadline is None:
            return None
        return self.deadline - self.limit * ((BASELINE_SHARE if baselines else 0.0) + CLOSING_SHARE)

    def validation_deadline(self, baselines: bool) -> float | None:
        """With a refit to follow: when the run with validation must end.

        >>> JobClock(100.0, started=0.0).validation_deadline(baselines=False)
        54.0
        """
        end = self.training_deadline(baselines)
        return None if end is None else self.started + VALIDATION_SHARE * (end - self.started)

    def baseline_budget(self, budget: float) -> float:
        """Each baseline model's seconds: ``budget``, or half of what is left before the closing reserve."""
        if self.limit is None:
            return budget
        share = max(0.5 * (self.left() - CLOSING_SHARE * self.limit), 1.0)
        if share < budget:
            self.cut.append(f"the baselines had {share:.0f} s each instead of {budget:g} s")
        return min(budget, share)

    def importance_fits(self) -> bool:
        """Whether there is time for the importance (the closing reserve is still there)."""
        fits = self.limit is None or self.left() >= CLOSING_SHARE * self.limit
        if not fits:
            self.cut.append("the importance was skipped (not enough time left)")
        return fits

    def summary(self) -> dict | None:
        """What metrics.json and the report say of the limit (None without one)."""
        if self.limit is None:
            return None
        return {"seconds": self.limit, "used": time.time() - self.started, "cut": list(self.cut)}

    def sentence(self) -> str:
        """One line for the end of ``train``."""
        if self.limit is None:
            return ""
        what = "; ".join(self.cut) if self.cut else "nothing was cut"
        return f"time limit: {self.limit:g} s for the whole job, {time.time() - self.started:.0f} s used; {what}."
