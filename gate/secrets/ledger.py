"""The deletion ledger: what was deleted, kept beside the key file so that no database copy can undo it.

A database backup taken before a withdrawal still holds the withdrawn consent, the link to the face
template and the template. Restoring it must not bring that person back (PIPL art. 47, R4). The ledger
records every committed deletion by the facts a restored copy can be matched on and nothing that
identifies a person: random template ids and pseudonyms, internal record numbers with their creation
time (so a number reused later is never mistaken for the deleted one), the audit receipt numbers.
It is applied at start, after a restore and by every purge; applying it twice changes nothing.

Format: one JSON object per line, append-only, each line chained to the previous by SHA-256 so that an
edited or truncated ledger is detected. The file is 0600 in the key folder (0700), like the key file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import KeyUnavailableError

FORMAT = "gate-deletion-ledger/1"
GENESIS = "0" * 64
FILE_NAME = "deletion-ledger.jsonl"
#: Far longer than any one line (a purge of thousands of templates writes one long line).
TAIL_BYTES = 1 << 20


@dataclass(frozen=True)
class LedgerEntry:
    """One committed transaction's deletions. Record references are (internal id, creation time ISO)."""

    at: str
    templates: tuple[str, ...] = ()
    pseudonyms: tuple[str, ...] = ()
    consents: tuple[tuple[int, str], ...] = ()
    removed_residents: tuple[tuple[int, str], ...] = ()
    moved_out_residents: tuple[tuple[int, str], ...] = ()
    receipts: tuple[int, ...] = ()
    seq: int = 0
    prev: str = GENESIS
    hash: str = field(default="", compare=False)

    def is_empty(self) -> bool:
        return not (self.templates or self.pseudonyms or self.consents or self.removed_residents
                    or self.moved_out_residents)

    def body(self) -> dict[str, object]:
        return {
            "format": FORMAT, "seq": self.seq, "at": self.at, "templates": list(self.templates),
            "pseudonyms": list(self.pseudonyms), "consents": [list(c) for c in self.consents],
            "removed_residents": [list(r) for r in self.removed_residents],
            "moved_out_residents": [list(r) for r in self.moved_out_residents],
            "receipts": list(self.receipts), "prev": self.prev,
        }


def _digest(body: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _refs(raw: object) -> tuple[tuple[int, str], ...]:
    if not isinstance(raw, list):
        raise TypeError("expected a list of references")
    return tuple((int(item[0]), str(item[1])) for item in raw)


def _parse(line: str) -> LedgerEntry:
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not a ledger line")
    entry = LedgerEntry(
        at=str(data["at"]), templates=tuple(map(str, data["templates"])),
        pseudonyms=tuple(map(str, data["pseudonyms"])), consents=_refs(data["consents"]),
        removed_residents=_refs(data["removed_residents"]), moved_out_residents=_refs(data["moved_out_residents"]),
        receipts=tuple(int(r) for r in data["receipts"]), seq=int(data["seq"]), prev=str(data["prev"]),
        hash=str(data["hash"]),
    )
    if _digest(entry.body()) != entry.hash:
        raise ValueError("hash does not match the line")
    return entry


class DeletionLedger:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, key_file_path: Path) -> DeletionLedger:
        return cls(key_file_path.parent / FILE_NAME)

    def entries(self) -> list[LedgerEntry]:
        """Every entry, checked: a broken chain is an error, never silently skipped (it would let a
        restore bring someone back)."""
        return [entry for entry, _ in self._read()]

    def lines(self) -> list[tuple[LedgerEntry, str]]:
        """Every entry with its line exactly as written (what other gates copy, gate.store.ledger_share)."""
        return list(self._read())

    def extend(self, lines: list[str]) -> int:
        """Append lines written elsewhere in this same chain (a copy of another gate's ledger, or this
        ledger's own lines back from the database after the key folder was restored), verbatim. Each must
        follow the last one: a line that does not continue the chain is refused, nothing after it written."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = self._last(fd)
            written = 0
            for line in lines:
                try:
                    entry = _parse(line)
                except (ValueError, KeyError, TypeError, IndexError) as err:
                    raise KeyUnavailableError(f"A shared ledger line for {self.path} is damaged ({err}).") from err
                if entry.seq != (last.seq + 1 if last else 1) or entry.prev != (last.hash if last else GENESIS):
                    raise KeyUnavailableError(
                        f"A shared ledger line (seq {entry.seq}) does not continue {self.path}: the copies disagree."
                    )
                os.write(fd, (line.rstrip("\n") + "\n").encode())
                last = entry
                written += 1
            if written:
                os.fsync(fd)
            return written
        finally:
            os.close(fd)

    def _read(self) -> Iterator[tuple[LedgerEntry, str]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as err:
            raise KeyUnavailableError(f"The deletion ledger {self.path} cannot be read: {err}.") from err
        prev = GENESIS
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = _parse(line)
            except (ValueError, KeyError, TypeError, IndexError) as err:
                raise KeyUnavailableError(
                    f"The deletion ledger {self.path} is damaged at line {number} ({err}); restore it from "
                    "the key backup. Nothing was restored or applied."
                ) from err
            if entry.prev != prev:
                raise KeyUnavailableError(
                    f"The deletion ledger {self.path} was edited or cut at line {number}; restore it from the "
                    "key backup. Nothing was restored or applied."
                )
            prev = entry.hash
            yield entry, line

    def _last(self, fd: int) -> LedgerEntry | None:
        """The last line only: appending must not cost a read of years of ledger."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        start = max(0, size - TAIL_BYTES)
        tail = os.pread(fd, size - start, start)
        if start > 0 and b"\n" not in tail.rstrip(b"\n"):
            tail = os.pread(fd, size, 0)  # one line longer than the tail: read it whole
        lines = [line for line in tail.decode("utf-8", errors="replace").splitlines() if line.strip()]
        try:
            return _parse(lines[-1]) if lines else None
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise KeyUnavailableError(
                f"The deletion ledger {self.path} is damaged at its end ({err}); restore it from the key backup."
            ) from err

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        """Append durably (fsync) and return the entry as written, with its sequence number and hash.
        An exclusive lock keeps two processes (the service and the web UI) from forking the chain."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return self._append_locked(fd, entry)
        finally:
            os.close(fd)

    def _append_locked(self, fd: int, entry: LedgerEntry) -> LedgerEntry:
        last = self._last(fd)
        chained = LedgerEntry(
            at=entry.at, templates=entry.templates, pseudonyms=entry.pseudonyms, consents=entry.consents,
            removed_residents=entry.removed_residents, moved_out_residents=entry.moved_out_residents,
            receipts=entry.receipts, seq=(last.seq + 1) if last else 1, prev=last.hash if last else GENESIS,
        )
        body = chained.body()
        body["hash"] = _digest(body)
        os.write(fd, (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode())
        os.fsync(fd)
        return _parse(json.dumps(body))
