"""Gates, their policies and the impact assessment that must precede face (PIPL art. 55-56)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.config import FACE_FILING_THRESHOLD, Settings
from gate.core.policy import (
    LIVENESS_MODES,
    GatePolicy,
    format_methods,
    parse_methods,
    read_stored,
    validate_methods,
)
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.store import alternatives, audit, heartbeats
from gate.store.models import AccessEvent, Gate, Resident

DEFAULT_METHODS = "card,pin"


def get_gate(session: Session, name: str) -> Gate:
    gate = session.scalar(select(Gate).where(Gate.name == name))
    if gate is None:
        raise NotFoundError(f"No gate named {name!r}: see `gate gates list`.")
    return gate


def _check(gate: Gate | None, methods_text: str, liveness: str, threshold: float | None) -> str:
    methods = parse_methods(methods_text)
    validate_methods(methods)
    if any(m.uses_face for m in methods) and (gate is None or not gate.assessments):
        raise PolicyError(
            "Face can be enabled at a gate only after a personal-information impact assessment is recorded "
            "for it (PIPL art. 55-56): run `gate gates assess NAME --date YYYY-MM-DD --approver NAME --document FILE`."
        )
    if liveness not in LIVENESS_MODES:
        raise PolicyError(f"Liveness must be one of {', '.join(LIVENESS_MODES)}.")
    if threshold is not None and not 0.2 <= threshold <= 0.6:
        raise PolicyError("A face threshold must be between 0.2 and 0.6 (lower is stricter).")
    return format_methods(methods)


def add_gate(session: Session, name: str, methods: str = DEFAULT_METHODS, *, actor: str) -> Gate:
    if session.scalar(select(Gate.id).where(Gate.name == name)) is not None:
        raise ConflictError(f"A gate named {name!r} exists already.")
    gate = Gate(name=name, methods=_check(None, methods, "none", None), liveness="none", created_at=utcnow())
    session.add(gate)
    session.flush()
    audit.record(session, actor, "gate.add", f"gate:{gate.name}", methods=gate.methods)
    return gate


def set_gate(session: Session, gate: Gate, *, actor: str, methods: str | None = None,
             liveness: str | None = None, threshold: float | None = None, pulse_ms: int | None = None) -> Gate:
    new_methods = _check(gate, methods or gate.methods, liveness or gate.liveness,
                         threshold if threshold is not None else gate.face_threshold)
    if pulse_ms is not None and not 100 <= pulse_ms <= 30_000:
        raise PolicyError("A relay pulse is 100 to 30000 ms.")
    alternatives.require_gate_keeps_alternatives(session, gate.name, parse_methods(new_methods))
    gate.methods = new_methods
    gate.liveness = liveness or gate.liveness
    if threshold is not None:
        gate.face_threshold = threshold
    if pulse_ms is not None:
        gate.pulse_ms = pulse_ms
    audit.record(session, actor, "gate.set", f"gate:{gate.name}", methods=gate.methods, liveness=gate.liveness,
                 threshold=gate.face_threshold, pulse_ms=gate.pulse_ms)
    return gate


GATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def remove_gate(session: Session, name: str, *, actor: str, forget_events: bool = False) -> int:
    """Remove a gate no process runs. Its access events keep their rows (they are the site's record) with
    no gate; that needs `forget_events`, so a gate with history is not removed by accident. Its impact
    assessments and anti-passback pairs go with it. Returns how many events lost their gate. Audited."""
    gate = get_gate(session, name)
    running = heartbeats.running_elsewhere(session, gate)
    if running is not None:
        raise ConflictError(f"Gate {name!r} is running on {running.host} (process {running.pid}): stop it "
                            "before removing it.")
    events = session.scalar(select(func.count(AccessEvent.id)).where(AccessEvent.gate_id == gate.id)) or 0
    if events and not forget_events:
        raise ConflictError(f"Gate {name!r} has {events} access events: they would keep their rows without a "
                            "gate; pass --forget-events to remove it anyway, or rename it instead.")
    session.delete(gate)
    session.flush()
    audit.record(session, actor, "gate.remove", f"gate:{name}", events_without_gate=events)
    return events


def rename_gate(session: Session, old: str, new: str, *, actor: str) -> Gate:
    """Rename a stopped gate; its events, policy and assessments stay with it. The computer that runs it
    needs the new `[gate] name` in its gate.toml before it starts again. Audited."""
    gate = get_gate(session, old)
    if not GATE_NAME.fullmatch(new):
        raise PolicyError("A gate name is 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit.")
    if session.scalar(select(Gate.id).where(Gate.name == new)) is not None:
        raise ConflictError(f"A gate named {new!r} exists already.")
    running = heartbeats.running_elsewhere(session, gate)
    if running is not None:
        raise ConflictError(f"Gate {old!r} is running on {running.host} (process {running.pid}): stop it, "
                            f"rename it, then set [gate] name = \"{new}\" in that computer's gate.toml.")
    gate.name = new
    session.flush()
    audit.record(session, actor, "gate.rename", f"gate:{new}", old_name=old)
    return gate


def policy_of(gate: Gate, settings: Settings) -> GatePolicy:
    """The policy as it runs: validated when loaded, not only when saved (A1), so a row written past
    `set_gate` runs as its non-face part and says why in `invalid`."""
    methods, problem = read_stored(gate.methods)
    return GatePolicy(
        gate_id=gate.id, name=gate.name, methods=methods, face_threshold=gate.face_threshold,
        liveness=gate.liveness, max_pin_failures=settings.pin_max_failures,
        max_face_attempts=settings.face_max_attempts, invalid=problem,
    )


def face_population(session: Session) -> int:
    return session.scalar(select(func.count(Resident.id)).where(Resident.face_pseudonym.is_not(None))) or 0


def filing_warning(session: Session, settings: Settings) -> str | None:
    """CAC 2025 rules: warn before the number of people with face data reaches the filing threshold."""
    count = face_population(session)
    if count >= settings.face_filing_warn_at:
        return (f"{count} people have face data; at {FACE_FILING_THRESHOLD} the site must file with the "
                "cyberspace administration (CAC face-recognition rules, 2025).")
    return None
