"""Imports run as background jobs on a worker thread owned by the app: a request handler only starts one
and the progress page reads it, so a 100,000-line file never ties up a web thread (or a request timeout).

Jobs live in memory, in this process: an import is a few minutes of one operator's attention, not a
record (the audit log keeps that, gate.store.imports). The uploaded file is held here between the dry
run and the apply and dropped after it; generated PINs are held only until their letters are shown once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import Clock
from gate.errors import ConflictError
from gate.store import imports
from gate.store.import_files import ImportError_, open_table

#: Lines kept for the report page (every refused, added and changed one up to this; then only counted).
KEPT_LINES = 2000
#: Finished jobs remembered (with their report) before the oldest is forgotten.
KEPT_JOBS = 8


@dataclass
class ImportJob:
    id: str
    owner: str
    filename: str
    dry_run: bool
    generate_pins: bool
    data: bytes | None
    kind: str = ""
    total: int | None = None
    state: str = "running"  # running, done, stopped
    result: imports.ImportResult | None = None
    lines: list[imports.LineResult] = field(default_factory=list)
    hidden: int = 0
    #: Set when the file could not be read at all: a catalogue message and its values.
    error: tuple[str, dict[str, str]] | None = None
    letters: list[imports.Letter] | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    #: The apply job started from this dry run, once there is one (the file is then no longer here).
    applied_as: str | None = None

    @property
    def done(self) -> int:
        return self.result.done if self.result else 0

    @property
    def percent(self) -> int:
        if self.state != "running":
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0

    def keep(self, line: imports.LineResult) -> None:
        if line.verdict == imports.Verdict.SAME or len(self.lines) >= KEPT_LINES:
            self.hidden += 1
        else:
            self.lines.append(line)


class ImportJobs:
    """The app's import jobs; one runs at a time, so two operators' imports never interleave their lines."""

    def __init__(self, sessions: sessionmaker[Session], hasher: PasswordHasher, clock: Clock) -> None:
        self.sessions, self.hasher, self.clock = sessions, hasher, clock
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def get(self, job_id: str) -> ImportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def recent(self) -> list[ImportJob]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def start(self, *, owner: str, filename: str, data: bytes, dry_run: bool, generate_pins: bool) -> ImportJob:
        job = ImportJob(secrets.token_urlsafe(12), owner, filename, dry_run, generate_pins, data)
        with self._lock:
            if any(j.state == "running" for j in self._jobs.values()):
                raise ConflictError("An import is already running: wait for it to finish, then try again.")
            self._jobs[job.id] = job
            while len(self._jobs) > KEPT_JOBS:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].state == "running":
                    break
                del self._jobs[oldest]
        thread = threading.Thread(target=self._run, args=(job,), name=f"import-{job.id}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return job

    def apply(self, dry_run: ImportJob, owner: str) -> ImportJob:
        """The import of a file already dry-run, with the same options; the dry run gives up its copy."""
        if dry_run.data is None or dry_run.applied_as is not None:
            raise ConflictError("This file was already imported, or its dry run is too old: upload it again.")
        job = self.start(owner=owner, filename=dry_run.filename, data=dry_run.data, dry_run=False,
                         generate_pins=dry_run.generate_pins)
        dry_run.applied_as, dry_run.data = job.id, None
        return job

    def take_letters(self, job: ImportJob) -> list[imports.Letter] | None:
        """The job's PIN letters, once: the second call gets None."""
        with self._lock:
            letters, job.letters = job.letters, None
            return letters

    def join(self, timeout: float = 5.0) -> None:
        """Wait for running jobs (tests, and a clean shutdown)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _run(self, job: ImportJob) -> None:
        try:
            data = job.data or b""
            table = open_table(data, job.filename)
            job.kind, job.total = table.kind, table.total
            result = imports.ImportResult(table.kind, job.dry_run)
            job.result = result

            def progress(current: imports.ImportResult) -> None:
                job.result = current

            final = imports.run_import(
                self.sessions, table, self.hasher, actor=job.owner,
                options=imports.Options(dry_run=job.dry_run, generate_pins=job.generate_pins),
                on_line=job.keep, on_progress=progress, now=self.clock())
            job.result = final
            job.letters = final.letters or None
            job.state = "stopped" if final.failure else "done"
        except ImportError_ as err:
            job.error = (err.template, err.params)
            job.state = "stopped"
        finally:
            if not job.dry_run:
                job.data = None  # applied: the upload's personal data need not stay in memory
            job.finished = time.monotonic()
