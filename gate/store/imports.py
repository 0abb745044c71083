"""Importing residents, their cards and groups from a file, through the same services as the web form.

Each line is first *planned* on a read-only session (what it would add or change, or why it is refused,
with the checks of gate.store.residents), then, unless it is a dry run, *applied* by those services in
short write transactions. A transaction ends after `WRITE_BUDGET` seconds of writing, so a 100,000-line
file never holds SQLite's write lock (or the audit chain's head row) longer than a card decision is
willing to wait (gate.store.db.DECISION_WAIT_MS); readers never wait at all.

The import is idempotent by resident code: a line equal to what is stored is "unchanged", and importing
the same file twice changes nothing the second time. Cards in the file are added; cards not in the file
are kept (removing a card can lock a person out, so that stays a deliberate act on the resident's page).
A column that is absent leaves that detail as it is; a column present but empty clears it.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from gate.clock import utcnow
from gate.core.cardnumber import normalize_card
from gate.errors import GateError
from gate.i18n.marker import N_
from gate.store import audit, residents
from gate.store.import_files import ImportError_, Row, Table, split_cards
from gate.store.models import Card, Resident, ResidentStatus
from gate.store.resident_edit import generate_pin, update_resident

log = logging.getLogger(__name__)
#: Lines planned per read (one query for their residents, one for their cards).
PLAN_CHUNK = 500
#: Seconds a write transaction may run before it commits and lets a waiting card decision write.
WRITE_BUDGET = 0.1
#: On SQLite, seconds the import leaves the write lock free after each commit. A waiting writer polls
#: (SQLite's busy handler sleeps 1, 2, 5 ... 50, 100 ms between tries); without a pause the import would
#: take the lock again before the decision's next try, every time, until the decision gave up.
WRITE_PAUSE = 0.05
YES = {"yes", "y", "1", "true", "是", "生成"}
NO = {"", "no", "n", "0", "false", "否"}
#: Details compared for "unchanged", by file column and model attribute.
DETAILS = (("name", "name"), ("unit", "unit"), ("group", "group_name"), ("birth_date", "birth_date"),
           ("guardian", "guardian_name"))


class Verdict(enum.StrEnum):
    ADD = "add"
    CHANGE = "change"
    SAME = "unchanged"
    REFUSE = "refused"


@dataclass(frozen=True)
class LineResult:
    line: int
    code: str
    verdict: Verdict
    #: What changes ("unit, group, card 12345678") or, when refused, why in a sentence: a catalogue
    #: message with `params`, so each reader gets it in their language.
    detail: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The detail in English (the command line, the log)."""
        return self.detail % self.params if self.params else self.detail


@dataclass(frozen=True)
class Letter:
    """A generated PIN for its letter: held in memory until the letters are shown once, never stored."""

    code: str
    name: str
    unit: str
    pin: str


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    counts: dict[Verdict, int] = field(default_factory=lambda: dict.fromkeys(Verdict, 0))
    #: Lines read so far (refused ones included).
    done: int = 0
    #: A sentence when the import stopped part-way; what was committed before it stays.
    failure: str | None = None
    letters: list[Letter] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return self.counts[Verdict.ADD] + self.counts[Verdict.CHANGE]


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    #: Give a generated PIN to every resident in the file who has none (the `new_pin` column asks per line).
    generate_pins: bool = False
    #: Lines asking for a PIN are refused when letters cannot be printed (the command line).
    pins_allowed: bool = True


@dataclass
class _Plan:
    row: Row
    code: str
    exists: bool
    details: dict[str, object]  # the file's values for the columns it has
    cards: list[str]
    wants_pin: bool
    changes: list[str]


ProgressFn = Callable[[ImportResult], None]
LineFn = Callable[[LineResult], None]


def _truthy(text: str) -> bool:
    lowered = text.strip().casefold()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ImportError_(N_("new_pin (生成密码) is yes/是 or empty, not %(value)s."), value=repr(text))


def _details(row: Row, now: datetime) -> dict[str, object]:
    values = row.values
    found: dict[str, object] = {}
    if "name" in values:
        found["name"] = values["name"]
    if "unit" in values:
        found["unit"] = values["unit"]
    if "group" in values:
        found["group"] = values["group"] or None
    if "guardian" in values:
        found["guardian"] = values["guardian"] or None
    if "birth_date" in values:
        born: date | None = residents.parse_birth_date(values["birth_date"])
        residents.check_birth_date(born, now)
        found["birth_date"] = born
    residents.check_details(str(found.get("name", "")), str(found.get("unit", "")),
                            found.get("guardian"),  # type: ignore[arg-type]
                            found.get("group"))  # type: ignore[arg-type]
    return found


class _Planner:
    """Checks lines against the database and against the lines before them in the same file."""

    def __init__(self, options: Options, now: datetime) -> None:
        self.options = options
        self.now = now
        self.code_lines: dict[str, int] = {}
        self.card_lines: dict[str, int] = {}

    def chunk(self, session: Session, rows: list[Row]) -> list[_Plan | LineResult]:
        codes = {row.values.get("code", "") for row in rows}
        stored = {r.code: r for r in session.scalars(
            select(Resident).where(Resident.code.in_(codes))
            .options(selectinload(Resident.cards), selectinload(Resident.pin)))}
        uids: set[str] = set()
        for row in rows:
            for raw in split_cards(row.values.get("cards", "")):
                try:
                    uids.add(normalize_card(raw))
                except GateError:
                    pass
        holders: dict[str, str] = {uid: code for uid, code in session.execute(
            select(Card.uid, Resident.code).join(Resident).where(Card.uid.in_(uids)))} if uids else {}
        out: list[_Plan | LineResult] = []
        for row in rows:
            code = row.values.get("code", "")
            try:
                out.append(self.line(row, stored.get(code), holders))
            except GateError as err:
                out.append(_refused(row.line, code, err))
        return out

    def line(self, row: Row, resident: Resident | None, holders: dict[str, str]) -> _Plan | LineResult:
        code = row.values.get("code", "")
        residents.check_code(code)
        if code in self.code_lines:
            raise ImportError_(N_("Resident %(code)s is also on line %(line)s: give each resident one line and "
                                  "separate several cards with ';'."), code=code, line=self.code_lines[code])
        self.code_lines[code] = row.line
        details = _details(row, self.now)
        cards: list[str] = []
        for raw in split_cards(row.values.get("cards", "")):
            uid = normalize_card(raw)
            holder = holders.get(uid)
            if holder is not None and holder != code:
                raise ImportError_(N_("Card %(card)s is already registered to resident %(code)s."), card=uid,
                                   code=holder)
            if uid in self.card_lines:
                raise ImportError_(N_("Card %(card)s is also on line %(line)s: a card belongs to one resident."),
                                   card=uid, line=self.card_lines[uid])
            self.card_lines[uid] = row.line
            if holder is None and uid not in cards:
                cards.append(uid)
        asks = _truthy(row.values.get("new_pin", "")) or self.options.generate_pins
        if asks and not self.options.pins_allowed:
            raise ImportError_(N_("PIN letters are printed from the web UI's import: leave new_pin empty here, "
                                  "or import this file there."))
        if resident is not None and resident.status == ResidentStatus.MOVED_OUT:
            raise ImportError_(N_("Resident %(code)s has moved out; an import does not change a moved-out "
                                  "resident."), code=code)
        wants_pin = asks and (resident is None or resident.pin is None)
        changes = [column for column, attr in DETAILS
                   if column in details and resident is not None and getattr(resident, attr) != details[column]]
        changes += [f"card {uid}" for uid in cards]
        if wants_pin:
            changes.append("new PIN")
        if resident is not None and not changes:
            return LineResult(row.line, code, Verdict.SAME)
        return _Plan(row, code, resident is not None, details, cards, wants_pin, changes)


class _Prehashed(PasswordHasher):
    """Hands `set_pin` digests made before the write transaction: argon2id costs ~50 ms a PIN, which
    must not be spent holding the database's write lock."""

    def __init__(self, digests: dict[str, str]) -> None:
        super().__init__()
        self.digests = digests

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return self.digests[password if isinstance(password, str) else password.decode()]


def _apply(session: Session, plan: _Plan, pin: str | None, hasher: PasswordHasher, actor: str,
           now: datetime) -> LineResult:
    d = plan.details
    if plan.exists:
        resident = residents.get_resident(session, plan.code)
        changed = update_resident(
            session, resident, name=str(d.get("name", resident.name)), unit=str(d.get("unit", resident.unit)),
            birth_date=d["birth_date"] if "birth_date" in d else resident.birth_date,  # type: ignore[arg-type]
            guardian_name=d["guardian"] if "guardian" in d else resident.guardian_name,  # type: ignore[arg-type]
            group_name=d["group"] if "group" in d else resident.group_name,  # type: ignore[arg-type]
            actor=actor)
        del changed  # the plan's list says it in the file's words
    else:
        resident = residents.add_resident(
            session, code=plan.code, name=str(d["name"]), unit=str(d.get("unit", "")),
            birth_date=d.get("birth_date"), guardian_name=d.get("guardian"),  # type: ignore[arg-type]
            group_name=d.get("group"), actor=actor, now=now)  # type: ignore[arg-type]
    for uid in plan.cards:
        residents.add_card(session, resident, uid, actor=actor, label="import", now=now)
    if pin is not None:
        residents.set_pin(session, resident, pin, hasher, actor=actor, now=now)
    verdict = Verdict.CHANGE if plan.exists else Verdict.ADD
    return LineResult(plan.row.line, plan.code, verdict, ", ".join(plan.changes) if plan.exists else
                      ", ".join(c for c in plan.changes if c.startswith(("card", "new PIN"))))


def _refused(line: int, code: str, err: GateError) -> LineResult:
    if isinstance(err, ImportError_):
        return LineResult(line, code, Verdict.REFUSE, err.template, err.params)
    return LineResult(line, code, Verdict.REFUSE, str(err))  # the services' sentences, translated as they are


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _begin(session: Session) -> None:
    """Start the write transaction. On SQLite, explicitly: pysqlite begins one only before an INSERT, so the
    services' SAVEPOINT would otherwise open a transaction of its own and its RELEASE commit it, each
    line alone with an fsync (30 ms a line, and no batch). BEGIN IMMEDIATE takes the write lock at once:
    readers go on, writers wait at most WRITE_BUDGET, and between two transactions the lock is left free
    for WRITE_PAUSE."""
    if session.get_bind().dialect.name == "sqlite":
        time.sleep(WRITE_PAUSE)
        session.begin()
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    else:
        session.begin()


class _Writer:
    """Applies planned lines in write transactions of at most WRITE_BUDGET seconds; a line's result is
    reported only once its transaction committed, so a failure never reports a line as saved that is not."""

    def __init__(self, sessions: sessionmaker[Session], hasher: PasswordHasher, actor: str, result: ImportResult,
                 on_line: LineFn, on_progress: ProgressFn, now: datetime) -> None:
        self.sessions, self.hasher, self.actor, self.now = sessions, hasher, actor, now
        self.result, self.on_line, self.on_progress = result, on_line, on_progress

    def write(self, items: list[_Plan | LineResult]) -> None:
        pins = {id(item): generate_pin() for item in items if isinstance(item, _Plan) and item.wants_pin}
        hasher = _Prehashed({pin: self.hasher.hash(pin) for pin in pins.values()}) if pins else self.hasher
        pending: list[tuple[LineResult, Letter | None]] = []
        session = self.sessions()
        try:
            _begin(session)
            started = time.monotonic()
            for item in items:
                if isinstance(item, LineResult):
                    pending.append((item, None))
                    continue
                pin = pins.get(id(item))
                try:
                    with session.begin_nested():
                        line = _apply(session, item, pin, hasher, self.actor, self.now)
                except GateError as err:  # a race since planning (another operator's save): refused, go on
                    line = _refused(item.row.line, item.code, err)
                letter = None
                if pin is not None and line.verdict != Verdict.REFUSE:
                    resident = residents.get_resident(session, item.code)
                    letter = Letter(resident.code, resident.name, resident.unit, pin)
                pending.append((line, letter))
                if time.monotonic() - started > WRITE_BUDGET:
                    session.commit()
                    self._report(pending)
                    pending = []
                    _begin(session)
                    started = time.monotonic()
            session.commit()
            self._report(pending)
        finally:
            session.close()

    def _report(self, pending: list[tuple[LineResult, Letter | None]]) -> None:
        for line, letter in pending:
            self.result.counts[line.verdict] += 1
            self.result.done += 1
            if letter is not None:
                self.result.letters.append(letter)
            self.on_line(line)
        self.on_progress(self.result)


def run_import(sessions: sessionmaker[Session], table: Table, hasher: PasswordHasher, *, actor: str,
               options: Options = Options(), on_line: LineFn = lambda _line: None,
               on_progress: ProgressFn = lambda _result: None, now: datetime | None = None) -> ImportResult:
    """Plan (and unless a dry run, apply) every line; one audit entry with the counts at the end, also when
    the import stopped part-way (then `failure` says where, and the lines before it are saved)."""
    now = now or utcnow()
    result = ImportResult(table.kind, options.dry_run)
    planner = _Planner(options, now)
    writer = _Writer(sessions, hasher, actor, result, on_line, on_progress, now)
    try:
        for rows in _chunks(table.rows, PLAN_CHUNK):
            with sessions() as session:
                items = planner.chunk(session, rows)
            if options.dry_run:
                writer._report([(_dry(item), None) for item in items])
            else:
                writer.write(items)
    except GateError as err:  # an unreadable file part-way (a damaged workbook)
        result.failure = _stopped(str(err), result)
    except Exception as err:  # noqa: BLE001 - the database went away: say what is saved rather than a traceback
        log.exception("the import stopped after %d line(s)", result.done)
        result.failure = _stopped(f"{type(err).__name__}: {err}".split("\n")[0][:300], result)
    if not options.dry_run:
        try:
            with sessions() as session, session.begin():
                audit.record(session, actor, "resident.import", "residents", kind=table.kind, lines=result.done,
                             added=result.counts[Verdict.ADD], changed=result.counts[Verdict.CHANGE],
                             unchanged=result.counts[Verdict.SAME], refused=result.counts[Verdict.REFUSE],
                             letters=len(result.letters), stopped=result.failure is not None)
        except Exception as err:  # noqa: BLE001 - the lines' own audit entries are in; say the summary is not
            note = f"The import's summary audit entry was not written ({type(err).__name__})."
            result.failure = f"{result.failure} {note}" if result.failure else note
    return result


def _dry(item: _Plan | LineResult) -> LineResult:
    if isinstance(item, LineResult):
        return item
    if item.exists:
        return LineResult(item.row.line, item.code, Verdict.CHANGE, ", ".join(item.changes))
    return LineResult(item.row.line, item.code, Verdict.ADD,
                      ", ".join(c for c in item.changes if c.startswith(("card", "new PIN"))))


def _stopped(reason: str, result: ImportResult) -> str:
    return (f"The import stopped after {result.done} line(s), {result.applied} of them saved ({reason}). Import "
            "the same file again once the cause is fixed: the saved lines then show as unchanged.")
