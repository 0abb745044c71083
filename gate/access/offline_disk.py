"""The offline copy on the gate's own disk, so a gate that starts during a database outage still
decides card and PIN.

`<data folder>/offline/<gate>.copy`, 0600 in a 0700 folder, sealed with the gate-local key
(`gate.secrets.sealed_file`): card numbers and PIN hashes are never on the disk in clear, and a file
altered or copied from another gate fails to open. It carries the time the copy was taken; a copy
older than the cache's maximum age ([gate] offline_cache_hours), one that does not open, or one for
another gate is not used (card and PIN are then refused as database_unavailable, never opened).

Written atomically after a refresh that changed the copy, and at least every `REWRITE_SECONDS` when
nothing changed (so its time stays near the last refresh without rewriting the gate's flash storage
every minute). A copy read back is therefore at most that much older than the one in memory: it
expires that much sooner, never later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import zlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from gate.access.offline import CacheCopy, CachedResident, CachedVisitor
from gate.core.policy import GatePolicy, Method
from gate.core.validity import Validity
from gate.core.visitors import VisitorPass
from gate.secrets.sealed_file import SealedFileError, load_or_create_local_key, read_sealed, write_sealed
from gate.store.schedules import Window

log = logging.getLogger("gate.service")

FORMAT = "gate-offline-copy/1"
#: At most this long between two writes of an unchanged copy.
REWRITE_SECONDS = 600.0


def copy_path(data_dir: Path, gate_name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", gate_name) or "gate"
    return data_dir / "offline" / f"{safe}.copy"


class OfflineCopyFile:
    def __init__(self, path: Path, key_path: Path, gate_name: str, rewrite_seconds: float = REWRITE_SECONDS) -> None:
        self.path = path
        self.key_path = key_path
        self.gate_name = gate_name
        self.rewrite = timedelta(seconds=rewrite_seconds)
        self.problem: str | None = None  # why the last load found no usable copy
        self._lock = threading.Lock()
        self._written: tuple[str, datetime] | None = None  # digest of the content, and when written

    @property
    def _purpose(self) -> str:
        return f"{FORMAT}|{self.gate_name}"

    def save(self, copy: CacheCopy) -> bool:
        """Write the copy unless the same content was written less than `rewrite_seconds` ago."""
        content = encode_content(copy)
        digest = hashlib.sha256(content).hexdigest()
        with self._lock:
            if (self._written is not None and self._written[0] == digest
                    and copy.loaded_at - self._written[1] < self.rewrite):
                return False
            payload = zlib.compress(json.dumps({"taken_at": copy.loaded_at.isoformat()}).encode() + b"\n" + content)
            try:
                write_sealed(self.path, load_or_create_local_key(self.key_path), self._purpose, payload)
            except (OSError, SealedFileError) as err:
                # The gate keeps deciding online and from memory; only a restart during an outage loses.
                log.error("the offline copy could not be written to %s: %s", self.path, err)
                return False
            self._written = (digest, copy.loaded_at)
        return True

    def load(self, now: datetime, max_age: timedelta) -> CacheCopy | None:
        """The copy on disk if it opens and is not older than `max_age`; else None, and `problem` says why."""
        self.problem = None
        try:
            key = load_or_create_local_key(self.key_path)
            payload = zlib.decompress(read_sealed(self.path, key, self._purpose))
            header, content = payload.split(b"\n", 1)
            taken_at = datetime.fromisoformat(json.loads(header)["taken_at"])
            copy = decode_content(content, taken_at)
        except FileNotFoundError:
            self.problem = f"there is no offline copy at {self.path}"
        except (OSError, SealedFileError, ValueError, KeyError, TypeError, zlib.error) as err:
            self.problem = f"the offline copy {self.path} cannot be used: {err}"
        else:
            if now - copy.loaded_at > max_age:
                self.problem = (f"the offline copy {self.path} was taken at {copy.loaded_at.isoformat()}, "
                                f"older than the {max_age.total_seconds() / 3600:g} h it may be used")
            else:
                return copy
        # No file is the normal first start; a file that cannot be used is worth a warning.
        (log.info if self.problem.startswith("there is no") else log.warning)(
            "%s: card and PIN are refused until the database answers", self.problem)
        return None


# -- the content: JSON, residents once each, schedules once each ------------------------------------
def encode_content(copy: CacheCopy) -> bytes:
    policy = copy.policy
    schedules: dict[tuple[tuple[Window, ...], ...], int] = {}
    residents: list[list[Any]] = []
    for entry in copy.by_code.values():
        index = None if entry.windows is None else schedules.setdefault(entry.windows, len(schedules))
        residents.append([entry.resident_id, entry.code, entry.active, entry.pin_hash, entry.has_card, index,
                          _day(entry.valid_from), _day(entry.valid_until)])
    data = {
        "format": FORMAT,
        "policy": {"gate_id": policy.gate_id, "name": policy.name, "methods": sorted(m.value for m in policy.methods),
                   "face_threshold": policy.face_threshold, "liveness": policy.liveness,
                   "max_pin_failures": policy.max_pin_failures, "max_face_attempts": policy.max_face_attempts,
                   "invalid": policy.invalid},
        "residents": residents,
        "cards": sorted([uid, entry.code] for uid, entry in copy.by_card.items()),
        "schedules": [[[_window(w) for w in windows] for windows in schedule] for schedule in schedules],
        "holidays": sorted(day.isoformat() for day in copy.holidays),
        "timezone": copy.timezone,
        # Added with validity periods: an older release finds more fields than it unpacks and refuses the
        # copy (fail closed) rather than letting an ended tenant in.
        "card_dates": sorted([uid, _day(start), _day(end)] for uid, (start, end) in copy.card_dates.items()),
        "visitors": sorted([v.locator, v.code_hash, v.visitor.visitor_id, _instant(v.visitor.window.start),
                            _instant(v.visitor.window.end), v.visitor.remaining] for v in copy.visitors.values()),
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def decode_content(content: bytes, taken_at: datetime) -> CacheCopy:
    data = json.loads(content)
    if data.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} copy")
    p = data["policy"]
    policy = GatePolicy(gate_id=int(p["gate_id"]), name=str(p["name"]),
                        methods=frozenset(Method(m) for m in p["methods"]), face_threshold=p["face_threshold"],
                        liveness=str(p["liveness"]), max_pin_failures=int(p["max_pin_failures"]),
                        max_face_attempts=int(p["max_face_attempts"]), invalid=p["invalid"])
    schedules = [tuple(tuple(_unwindow(w) for w in windows) for windows in schedule) for schedule in data["schedules"]]
    by_code: dict[str, CachedResident] = {}
    for resident_id, code, active, pin_hash, has_card, index, valid_from, valid_until in data["residents"]:
        by_code[code] = CachedResident(int(resident_id), str(code), bool(active), pin_hash, bool(has_card),
                                       None if index is None else schedules[index], _undate(valid_from),
                                       _undate(valid_until))
    by_card = {uid: by_code[code] for uid, code in data["cards"]}
    holidays = frozenset(date.fromisoformat(day) for day in data["holidays"])
    card_dates = {str(uid): (_undate(start), _undate(end)) for uid, start, end in data["card_dates"]}
    visitors = {}
    for locator, code_hash, visitor_id, start, end, remaining in data["visitors"]:
        visitor = VisitorPass(int(visitor_id), Validity(_uninstant(start), _uninstant(end)), int(remaining),
                              frozenset({policy.gate_id}))
        visitors[str(locator)] = CachedVisitor(str(locator), str(code_hash), visitor)
    return CacheCopy(taken_at, policy, by_card, by_code, holidays, str(data["timezone"]), card_dates, visitors)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _undate(raw: str | None) -> date | None:
    return None if raw is None else date.fromisoformat(raw)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _uninstant(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def _window(window: Window) -> list[Any]:
    return [window.days, window.start.isoformat("minutes"),
            None if window.end is None else window.end.isoformat("minutes"), window.on_holidays]


def _unwindow(raw: list[Any]) -> Window:
    days, start, end, on_holidays = raw
    return Window(str(days), time.fromisoformat(start), None if end is None else time.fromisoformat(end),
                  bool(on_holidays))
