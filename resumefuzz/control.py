"""The flag of yield-point mode ``flag`` and the control thread that raises it.

The deployment the harness stands in for: a program runs on one thread, and
another thread (the embedder's control thread) asks it to park by setting a
byte in a shared memory; the program polls the byte at its yield points
(:mod:`resumefuzz.yieldpoints`, mode ``flag``; the ABI is Flag in
:mod:`resumefuzz.abi`).

:class:`Flag` is the flag byte of whichever instance currently runs: the
runner *attaches* each instance (the first one, then each fresh one a restore
makes) and *detaches* it when it suspends, so the control thread never writes
into an instance that is being dropped.  The byte's value travels from the
suspended instance to the fresh one (the flag memory is the embedder's, it
outlives any instance), and the resume path clears it.

A *raise* is a 0 -> 1 transition made by the control thread; a suspension
that happens with no raise since the instance was attached and at no
scheduled crossing is *spurious* (the flag stayed set: it was never cleared,
or the program wrote it): the runner reports it.

:class:`ControlThread` raises the flag again and again at seeded random
delays (``check --signal thread``) until it is stopped.  Its first raise comes
early: with probability EARLY it raises before the run starts (``start`` returns
once the thread itself has set the byte: the run's first yield point suspends),
otherwise after a first delay drawn from (0, high) rather than (low, high), so
that a program shorter than one delay is still suspended now and then.  In a
restoring process (``--restore-in process``) the thread is seeded from the case
seed and the restore number (STREAM), so every hop is reproducible in its draws.
"""

from __future__ import annotations

import ctypes
import random
import threading
from typing import Any

#: the control thread's delay between raises, in seconds (seeded, uniform)
DELAY = (0.0002, 0.003)
#: the probability that the control thread raises the flag before the run starts (seeded)
EARLY = 0.25


class Flag:
    """The flag byte of the instance that runs now (None: none attached), shared with a control thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._address: int | None = None
        self._keep: Any = None  # what keeps the byte's memory alive while attached
        self._raised = False  # a raise happened since the instance was attached
        self._closed = False
        #: raises so far (0 -> 1 transitions made by raise_)
        self.raises = 0

    def attach(self, address: int, keep: Any, value: int) -> None:
        """Make the byte at ADDRESS (in memory KEEP) the flag, holding VALUE (the suspended instance's)."""
        with self._lock:
            ctypes.memmove(address, bytes((value,)), 1)
            self._address, self._keep, self._raised = address, keep, False

    def detach(self) -> tuple[int, bool]:
        """(the flag's value, whether it was raised since the attach); no instance is attached after."""
        with self._lock:
            if self._address is None:
                return 0, False
            value = ctypes.string_at(self._address, 1)[0]
            raised = self._raised
            self._address, self._keep, self._raised = None, None, False
            return value, raised

    def close(self) -> None:
        """No raise takes effect any more (the run reached its suspension cap, or ended)."""
        with self._lock:
            self._closed = True

    def raise_(self) -> bool:
        """Set the flag of the attached instance if it is clear; whether that was a raise."""
        with self._lock:
            if self._address is None or self._closed or ctypes.string_at(self._address, 1)[0]:
                return False
            ctypes.memmove(self._address, b"\x01", 1)
            self.raises += 1
            self._raised = True
            return True


class ControlThread:
    """A daemon thread raising FLAG at delays drawn from SEED (and STREAM) until stopped: the first raise
    before the run starts (probability EARLY) or after a delay in (0, high), then uniform in DELAY."""

    def __init__(self, flag: Flag, seed: int, delay: tuple[float, float] = DELAY, stream: str = "") -> None:
        self.flag = flag
        self._random = random.Random(f"control-thread:{seed}" + (f":{stream}" if stream else ""))
        self._delay = delay
        #: the first delay, seconds (0: raise before the run starts)
        self.first = 0.0 if self._random.random() < EARLY else self._random.uniform(0.0, delay[1])
        self._stop = threading.Event()
        self._ready = threading.Event()  # the early raise is done (first == 0)
        self._thread = threading.Thread(target=self._loop, name="resumefuzz-control", daemon=True)

    def _loop(self) -> None:
        if self.first == 0.0:
            self.flag.raise_()
            self._ready.set()
        elif self._stop.wait(self.first):
            return
        else:
            self.flag.raise_()
        while not self._stop.wait(self._random.uniform(*self._delay)):
            self.flag.raise_()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> "ControlThread":
        """Start the thread; with an early first raise, return once the thread has made it."""
        self._thread.start()
        if self.first == 0.0:
            self._ready.wait()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.flag.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
