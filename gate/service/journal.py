"""The gate's local journal: events taken while the database is away, on the gate's own disk.

A decision taken from the offline copy (and a door or reader event) while the database does not
answer is appended here as one JSON line with a unique id, and the file is fsync'ed before the
decision is acted on: a power cut or a SIGKILL loses nothing the gate already did. When the database
answers again (and at start, for a previous run's journal) the event log replays the lines into
`access_events`, each row carrying its line's id in `journal_id` (unique), so a replay cut short
between the commit and the truncation of this file writes no row twice.

The file is 0600 in `<data folder>/journal/`: it holds resident ids and reasons, never a PIN, a card
number or a face. Every append is fsync'ed (no batching): offline decisions are a few per minute at
a gate, and an fsync costs milliseconds, well inside a decision's budget.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from pathlib import Path

log = logging.getLogger("gate.service")

JournalEntry = dict[str, object]


def journal_path(data_dir: Path, gate_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", gate_name) or "gate"
    return data_dir / "journal" / f"{safe}.jsonl"


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._repair()
        self._count = len(self._read())

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def append(self, record: JournalEntry) -> str:
        """Write one line and fsync it; returns the line's unique id."""
        entry_id = uuid.uuid4().hex
        line = (json.dumps({"id": entry_id, **record}, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.fchmod(fd, 0o600)  # a file restored with looser rights is tightened on the next append
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._count += 1
        return entry_id

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return self._read()

    def drop(self, ids: set[str]) -> None:
        """Remove the replayed lines, atomically: a crash leaves the old file or the new one."""
        with self._lock:
            kept = [e for e in self._read() if e.get("id") not in ids]
            if not kept:
                self.path.unlink(missing_ok=True)
            else:
                tmp = self.path.with_name(f".{self.path.name}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    os.write(fd, "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in kept).encode("utf-8"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, self.path)
            self._sync_dir()
            self._count = len(kept)

    def _read(self) -> list[JournalEntry]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        entries: list[JournalEntry] = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("journal %s: line %d is not JSON and is skipped", self.path, number)
                continue
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                entries.append(entry)
        return entries

    def _repair(self) -> None:
        """Cut a last line that a crash left half-written, so the next append starts a line of its own."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        if raw and not raw.endswith(b"\n"):
            keep = raw.rfind(b"\n") + 1
            log.warning("journal %s: a half-written last line (%d bytes) is dropped", self.path, len(raw) - keep)
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)
                os.fsync(handle.fileno())

    def _sync_dir(self) -> None:
        try:
            fd = os.open(self.path.parent, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
