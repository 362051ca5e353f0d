"""One case judged on every installed Binaryen release: which releases are affected.

Several npm releases of Binaryen are installed side by side (package.json: the
default ``binaryen`` and aliases ``binaryen-NNN``) and selected by the
Asyncify engine's ``version`` option.  :func:`rejudge` runs one module under
one engine spec once per installed release, changing only the release (same
seed, schedule, yield points, Cranelift level), and returns each release's
:class:`Outcome`; :func:`affected` names the releases showing the finding
(first..last): for a divergence every release that diverges (on any facet), for an engine defect
every release that refuses the module with the finding's message class (another refusal is
``other-refusal: <class>``).  Campaign findings are re-judged so (``campaign/findings.py``,
recorded as ``versions`` / ``affected`` in case.json and report.txt), and so
is one module by ``resumefuzz check M --all-versions``.

Each release is judged in process, through that release's resident Binaryen
worker, on a thread of its own that is given at most TIMEOUT seconds (the
campaign's case timeout); one still running then is recorded as
``timeout`` (its Binaryen worker is stopped, so a hung transform ends too),
and releases not started before UNTIL as ``not-run``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .errors import BadInput, EngineDefect, EngineError, Inconclusive, ResumefuzzError, Unsupported

#: what a release can come to (a verdict's status, or why there is none)
DIVERGENT, EQUAL, INCONCLUSIVE = "divergent", "equal", "inconclusive"
ENGINE_DEFECT, UNSUPPORTED, ENGINE_ERROR, ERROR = "engine-defect", "unsupported", "engine-error", "error"
ACCEPTS = "accepts"  # prepared (validated and transformed) without complaint; not judged (prepare_only)
#: an engine defect's re-judging: a release that refuses the module with another message class is not
#: affected by the finding; its status is ``other-refusal: <that class>``
OTHER_REFUSAL = "other-refusal"
TIMEOUT, NOT_RUN = "timeout", "not-run"
#: exit status of `resumefuzz check --all-versions` per outcome (1 wins: any release diverging)
EXIT = {DIVERGENT: 1, ENGINE_DEFECT: 5, OTHER_REFUSAL: 5, ERROR: 2, ENGINE_ERROR: 3, TIMEOUT: 4, NOT_RUN: 4,
        INCONCLUSIVE: 4, UNSUPPORTED: 3, EQUAL: 0, ACCEPTS: 0}
_SEVERITY = (DIVERGENT, ENGINE_DEFECT, OTHER_REFUSAL, ERROR, ENGINE_ERROR, TIMEOUT, NOT_RUN, INCONCLUSIVE, UNSUPPORTED)


@dataclass(frozen=True)
class Outcome:
    status: str  # one of the statuses above
    detail: str = ""  # the verdict's headline, or the error's message
    seconds: float = 0.0
    spec: str = ""  # the engine spec this release was judged with
    message_class: str = ""  # an engine defect's (errors.message_class of the engine's full message)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"status": self.status, "detail": self.detail, "seconds": round(self.seconds, 2),
                                   "spec": self.spec}
        if self.message_class:
            data["message_class"] = self.message_class
        return data


def release_specs(spec: str) -> dict[str, str] | None:
    """SPEC with each installed Binaryen release (oldest first): release -> spec.

    None when SPEC's engine has no ``version`` option (it does not run Binaryen's npm releases).
    """
    from .engines import get_engine
    from .binaryen import installed_versions

    engine = get_engine(spec)
    if "version" not in engine.defaults:
        return None
    return {version: engine.reconfigured(version=version).spec() for version in installed_versions()}


def rejudge(spec: str, wasm: bytes, *, seed: int = 0, schedule: str = "quick", yield_points: str = "all",
            wasmtime_opt: str = "speed", timeout: float | None = None, until: float | None = None,
            prepare_only: bool = False, known: dict[str, Outcome] | None = None, message_class: str | None = None,
            progress: Callable[[str, Outcome], None] | None = None, out: Path | None = None,
            source: str = "module.wasm") -> dict[str, Outcome]:
    """WASM judged under SPEC on every installed Binaryen release: release -> Outcome (oldest first).

    PREPARE_ONLY: validate, instrument and transform only (an engine defect's question: which
    releases refuse the module), never run.  TIMEOUT bounds each release (seconds); no release is
    started after UNTIL (epoch seconds).  KNOWN: outcomes already established (the release a
    finding was found on), reused as they are.  MESSAGE_CLASS (an engine defect's): a release refusing
    the module with another message class is ``other-refusal: <its class>``, not ``engine-defect`` (a
    parser limitation is ``unsupported`` in any case).  OUT: each release's report, verdict and snapshots go
    to OUT/binaryen-NNN/ (as ``check --out``; SOURCE names the module there).  A SPEC whose engine
    has no ``version`` option is BadInput.
    """
    specs = release_specs(spec)
    if specs is None:
        raise BadInput(f"--engine {spec}: the engine has no Binaryen releases to choose from (no version option)")
    outcomes: dict[str, Outcome] = {}
    for version, release in specs.items():
        if known is not None and version in known:
            outcome = known[version]
        elif until is not None and time.time() >= until:
            outcome = Outcome(NOT_RUN, "the time budget ran out before this release was judged", 0.0, release)
        else:
            limit = timeout
            if until is not None:
                limit = max(0.1, until - time.time()) if limit is None else max(0.1, min(limit, until - time.time()))
            folder = None if out is None else out / f"binaryen-{version}"
            outcome = _bounded(version, release, limit, lambda release=release, folder=folder: _judge(
                release, wasm, seed=seed, schedule=schedule, yield_points=yield_points, wasmtime_opt=wasmtime_opt,
                prepare_only=prepare_only, out=folder, source=source))
        if (message_class is not None and outcome.status == ENGINE_DEFECT and outcome.message_class
                and outcome.message_class != message_class):
            outcome = replace(outcome, status=f"{OTHER_REFUSAL}: {outcome.message_class}")
        outcomes[version] = outcome
        if progress is not None:
            progress(version, outcome)
    return outcomes


def _bounded(version: str, spec: str, limit: float | None, work: Callable[[], Outcome]) -> Outcome:
    """WORK on a thread of its own for at most LIMIT seconds (a timeout outcome after that)."""
    result: list[Outcome] = []
    started = time.monotonic()

    def body() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - a harness bug on one release is that release's outcome
            result.append(Outcome(ERROR, f"{type(exc).__name__}: {exc}", time.monotonic() - started, spec))

    thread = threading.Thread(target=body, name=f"rejudge-binaryen-{version}", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        from . import binaryen

        binaryen.worker(version).close()  # a transform in progress ends (its reply never comes)
        return Outcome(TIMEOUT, f"not judged within {limit:.0f}s", time.monotonic() - started, spec)
    return result[0]


def _judge(spec: str, wasm: bytes, *, seed: int, schedule: str, yield_points: str, wasmtime_opt: str,
           prepare_only: bool, out: Path | None = None, source: str = "module.wasm") -> Outcome:
    from .checker import check
    from .engines import get_engine
    from .preparation import prepare
    from .yieldpoints import YieldPoints

    started = time.monotonic()

    def outcome(status: str, detail: str, cls: str = "") -> Outcome:
        line = detail.splitlines()[0] if detail else ""
        if out is not None and status not in (EQUAL, DIVERGENT, INCONCLUSIVE):  # no report was written
            out.mkdir(parents=True, exist_ok=True)
            (out / "report.txt").write_text(f"resumefuzz check: {status}: {line}\n")
        return Outcome(status, line, time.monotonic() - started, spec, cls)

    try:
        engine = get_engine(spec)
        if prepare_only:
            prepare(wasm, engine, YieldPoints.parse(yield_points), wasmtime_opt=wasmtime_opt)
            return outcome(ACCEPTS, "validated, instrumented and transformed (not run)")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        verdict = check(wasm, engine, seed=seed, schedule=schedule, yield_points=yield_points,
                        wasmtime_opt=wasmtime_opt, source=source, out=out)
        return outcome(verdict.status, verdict.headline)
    except EngineDefect as exc:
        return outcome(ENGINE_DEFECT, exc.detail, exc.message_class)
    except EngineError as exc:
        return outcome(ENGINE_ERROR, str(exc))
    except Inconclusive as exc:
        return outcome(INCONCLUSIVE, str(exc))
    except Unsupported as exc:
        return outcome(UNSUPPORTED, str(exc))
    except ResumefuzzError as exc:
        return outcome(ERROR, str(exc))


def affected(outcomes: dict[str, Outcome], status: str) -> list[str]:
    """The releases (oldest first) whose outcome is STATUS (the finding's: divergent, engine-defect)."""
    return sorted((v for v, o in outcomes.items() if o.status == status), key=int)


def span(versions: list[str]) -> str:
    """``first..last`` of VERSIONS (one release: itself; none: ``none``)."""
    if not versions:
        return "none"
    return versions[0] if len(versions) == 1 else f"{versions[0]}..{versions[-1]}"


def exit_code(outcomes: dict[str, Outcome]) -> int:
    """1 if any release diverges; else the most severe outcome's check exit status (0: all equal)."""
    for status in _SEVERITY:
        if any(o.status.split(":")[0] == status for o in outcomes.values()):
            return EXIT[status]
    return 0
