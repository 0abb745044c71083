"""A hard deadline on the database work the gate loop asks for, run off the loop.

Server-side limits (statement_timeout, lock_timeout) cannot fire when the server never sees the
query, and libpq has no read timeout: over a stalled link (packets dropped, no reset) a query waits
until TCP gives up, which takes minutes. So the loop never calls the database itself: it hands the
work to one worker thread (`run()`), waits on a future for at most `seconds`, and on the deadline
raises `DatabaseStalled` (an `SQLAlchemyError`, so every caller's existing "database away" path
opens the circuit and decides from the offline copy).

The abandoned work is not cancelled mid-call (a thread cannot be), but nothing of it counts:

* its result is never read (a late answer is discarded);
* its transaction is refused at commit (`veto_late_commits`) and rolled back, so a late decision
  leaves no row, no counter and no deletion behind;
* work queued behind it whose deadline passes before it starts is never started.

The PIN's argon2 check runs inside a decision's transaction but is CPU work that cannot stall;
`paused()` keeps it out of the deadline, so a slow gate computer does not take a PIN for a stall.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from argon2 import PasswordHasher
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

#: How long the loop waits on the database for one step of a decision before it decides offline.
DEFAULT_DEADLINE_MS = 1000
#: How often the waiting loop looks whether a paused job's deadline moved.
_TICK = 0.05


class DatabaseStalled(SQLAlchemyError):
    """The database did not answer within the deadline (a stalled link or a hung server)."""


@dataclass(eq=False)
class _Job:
    fn: Callable[[], object]
    deadline: float
    future: Future[object] = field(default_factory=Future)
    paused: bool = False
    late: bool = False


class DatabaseDeadline:
    """`run(fn)` from the loop (or the re-probe's timer): `fn()` on the worker, within `seconds`."""

    def __init__(self, seconds: float = DEFAULT_DEADLINE_MS / 1000,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.now = now
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stalls = 0

    # -- the caller's side ----------------------------------------------------------------------
    def run(self, fn: Callable[[], T]) -> T:
        """`fn()`'s result, or DatabaseStalled once the deadline passed (then `fn` is abandoned)."""
        if threading.current_thread() is self._thread:
            return fn()  # already on the worker (work nested in work): the outer job's deadline holds
        job = _Job(fn, self.now() + self.seconds)
        self._start()
        self._jobs.put(job)
        while True:
            wait = _TICK if job.paused else max(0.0, min(job.deadline - self.now(), _TICK))
            try:
                return job.future.result(timeout=wait)  # type: ignore[return-value]
            except FutureTimeout:
                pass
            if job.paused or self.now() < job.deadline:
                continue
            job.late = True
            # Not started: it never will be. Started: it runs on, its commit refused, its answer unread.
            job.future.cancel()
            self.stalls += 1
            raise DatabaseStalled(f"the database did not answer within {self.seconds * 1000:.0f} ms")

    def veto_late_commits(self, sessions: sessionmaker[Session]) -> None:
        """Refuse the commit of a transaction whose job the loop has given up on (rolled back instead)."""
        def before_commit(_session: Session) -> None:
            job: _Job | None = getattr(self._local, "job", None)
            if job is not None and job.late:
                raise DatabaseStalled("the answer came after the deadline; its transaction is rolled back")

        event.listen(sessions, "before_commit", before_commit)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """CPU work inside a job (the PIN check) that does not count toward its deadline."""
        job: _Job | None = getattr(self._local, "job", None)
        if job is None:
            yield
            return
        job.paused = True
        started = self.now()
        try:
            yield
        finally:
            job.deadline += self.now() - started
            job.paused = False

    def hasher(self, hasher: PasswordHasher) -> PasswordHasher:
        """The same argon2 parameters, with each verification kept out of the deadline."""
        return _PausingHasher(self, hasher)

    def stop(self) -> None:
        self._jobs.put(None)

    # -- the worker ------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # A daemon: a worker stuck on a dead link must not keep the process from exiting.
                self._thread = threading.Thread(target=self._work, name="gate-db", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue  # given up on while it waited behind another job: never started
            if self.now() >= job.deadline:
                job.late = True
                job.future.set_exception(DatabaseStalled("the work waited past its deadline"))
                continue
            self._local.job = job
            try:
                job.future.set_result(job.fn())
            except BaseException as err:  # noqa: BLE001 - handed to the caller, who decides
                job.future.set_exception(err)
            finally:
                self._local.job = None


class _PausingHasher(PasswordHasher):
    def __init__(self, deadline: DatabaseDeadline, hasher: PasswordHasher) -> None:
        params = hasher._parameters  # noqa: SLF001 - the same parameters, read where argon2 keeps them
        super().__init__(time_cost=params.time_cost, memory_cost=params.memory_cost,
                         parallelism=params.parallelism, hash_len=params.hash_len, salt_len=params.salt_len,
                         type=params.type)
        self._deadline = deadline

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 - argon2's own names
        with self._deadline.paused():
            return super().verify(hash, password)
