"""Fuzz campaigns: generated programs × schedules × engine configurations.

Every case is a deterministic function of (campaign seed, case number):
generator input, engine and its configuration, yield points, wasmtime
optimization level, schedule and host seed.  The data flows one way:

* ``plan.py``: :class:`Options` and :class:`CasePlan` (what a case is);
* ``case.py``: :func:`run_case` generates (through the generator registry,
  ``resumefuzz.fuzz``), prepares and judges one case into a :class:`CaseResult`;
* ``findings.py``: a divergence is minimized (schedule, then the module by
  its generator) and written to ``OUT/findings/<signature>/``
  (:func:`write_finding`: complete or absent);
* ``pool.py``: :class:`Campaign` deals cases to worker processes and turns
  crashes, hangs and memory blow-ups into findings;
* ``cluster.py``: with ``Options.cluster``, blocks of cases go to Dask
  distributed workers instead (each runs the same worker pool, resident),
  and what becomes of each case comes back to the :class:`Campaign`;
* ``stats.py``: :class:`Stats`, the liveness :func:`gate` (the exit code) and
  the :func:`summary`.
"""

from .case import CaseResult, RecordedFinding, run_case
from .findings import write_finding
from .plan import CasePlan, Options, parse_engines
from .pool import Campaign
from .stats import EXIT_CLEAN, EXIT_DIVERGED, EXIT_INTERRUPTED, EXIT_UNEXERCISED, Stats, gate, summary

__all__ = [
    "EXIT_CLEAN",
    "EXIT_DIVERGED",
    "EXIT_INTERRUPTED",
    "EXIT_UNEXERCISED",
    "Campaign",
    "CasePlan",
    "CaseResult",
    "Options",
    "RecordedFinding",
    "Stats",
    "gate",
    "parse_engines",
    "run_case",
    "summary",
    "write_finding",
]
