"""The deletion ledger, site-wide: every gate keeps a copy of every gate's deletions (docs/deletion.md).

Each installation writes its own ledger file (gate.secrets.ledger), chained on its own; its lines are
also published, verbatim, in the `deletion_ledger` table under the installation's random origin id.
Every gate copies the lines of the other origins it has not seen into `<key folder>/site-ledger/
<origin>.jsonl` (each copy checked as the same hash chain) and applies all of them. So after a restore
of an older backup at any gate, every gate's local files still hold everyone's deletions and apply
them again; and the restored table, missing lines, is filled again by the next exchange.

Nothing here identifies a person: the lines are the ledger's pseudonymous lines, the origin a random id.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from gate.clock import utcnow
from gate.errors import KeyUnavailableError
from gate.secrets.ledger import DeletionLedger, LedgerEntry
from gate.store.db import transaction
from gate.store.models import SharedLedgerLine

log = logging.getLogger("gate.store")

ORIGIN_FILE = "deletion-ledger.origin"
COPIES = "site-ledger"
_ORIGIN = re.compile(r"^[0-9a-f]{16,32}$")


@dataclass(frozen=True)
class ExchangeReport:
    pushed: int = 0
    pulled: int = 0
    problems: tuple[str, ...] = field(default=())


class LedgerShare:
    def __init__(self, own: DeletionLedger, sessions: sessionmaker[Session]) -> None:
        self.own = own
        self.sessions = sessions
        self.folder = own.path.parent / COPIES

    def origin(self) -> str:
        """This installation's random id in the shared table, made once and kept beside the ledger."""
        path = self.own.path.parent / ORIGIN_FILE
        try:
            value = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            value = ""
        if _ORIGIN.match(value):
            return value
        value = secrets.token_hex(16)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return value

    def chains(self) -> dict[str, DeletionLedger]:
        found = {self.origin(): self.own}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.jsonl")):
                if _ORIGIN.match(path.stem):
                    found.setdefault(path.stem, DeletionLedger(path))
        return found

    def entries(self) -> list[LedgerEntry]:
        """This gate's entries and its copies of every other gate's, each chain checked."""
        return [entry for chain in self.chains().values() for entry in chain.entries()]

    def exchange(self) -> ExchangeReport:
        """Publish the lines the table lacks (new deletions; or all of them after a restore replaced the
        table), and copy the lines this gate lacks. A chain that disagrees is reported, never merged.
        Runs every few minutes: it reads a summary per origin and only the lines that move."""
        chains = self.chains()
        local = {origin: chain.lines() for origin, chain in chains.items()}
        line = SharedLedgerLine
        with self.sessions() as session:
            summary = {origin: (top, count) for origin, top, count in session.execute(
                select(line.origin, func.max(line.seq), func.count()).group_by(line.origin))}
            problems: list[str] = []
            missing: list[dict[str, object]] = []
            for origin, lines in local.items():
                if not lines:
                    continue
                top, count = summary.get(origin, (0, 0))
                common = min(top, lines[-1][0].seq)
                if common:
                    there = session.scalar(select(line.line).where(line.origin == origin, line.seq == common))
                    if there is not None and _hash(there) != lines[common - 1][0].hash:
                        problems.append(f"the shared deletion ledger disagrees with {chains[origin].path} at line "
                                        f"{common}; restore the key folder from its backup and check the database")
                        continue
                if count == top and lines[-1][0].seq <= top:
                    continue  # the table has every line of this chain
                published = set(session.scalars(select(line.seq).where(line.origin == origin)))
                missing.extend({"origin": origin, "seq": entry.seq, "line": text, "recorded_at": utcnow()}
                               for entry, text in lines if entry.seq not in published)
            wanted: dict[str, list[str]] = {}
            for origin, (top, _count) in summary.items():
                have = local[origin][-1][0].seq if local.get(origin) else 0
                if top > have and _ORIGIN.match(origin):
                    wanted[origin] = list(session.scalars(select(line.line).where(line.origin == origin,
                                                                                  line.seq > have)
                                                          .order_by(line.seq)))
        if missing:
            with transaction(self.sessions) as session:
                _insert_ignoring_duplicates(session, missing)
        pulled = 0
        for origin, new in wanted.items():
            chain = chains.get(origin) or DeletionLedger(self.folder / f"{origin}.jsonl")
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                pulled += chain.extend(new)
            except KeyUnavailableError as err:
                problems.append(str(err))
        for problem in problems:
            log.error("deletion ledger exchange: %s", problem)
        return ExchangeReport(len(missing), pulled, tuple(problems))


def _hash(line: str) -> str:
    try:
        data = json.loads(line)
        return str(data["hash"]) if isinstance(data, dict) else ""
    except (ValueError, KeyError):
        return ""


def _insert_ignoring_duplicates(session: Session, values: list[dict[str, object]]) -> None:
    """Two gates may publish the same copied line at once: the first wins, the second changes nothing."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(module.insert(SharedLedgerLine).values(values).on_conflict_do_nothing(
        index_elements=["origin", "seq"]))
