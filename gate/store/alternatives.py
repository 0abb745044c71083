"""Face is never anyone's only way in (A1; CAC 2025 rules art. 10; SPC 2021 provisions art. 10).

The invariant kept here: every resident who holds face data, or consents to it, has a way in that is
not face (`gate.core.policy.has_non_face_way_in`) at every gate where face runs. Each change that could
break it asks this module first: consent and enrollment, removing a card, clearing a PIN, and enabling
face at a gate. Adding a card or a PIN can only add ways in, so it is never checked.

Gates count by the methods they run (`policy_of`), so a gate whose stored policy is invalid (and runs
without face) does not count as a face gate.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.core.policy import Method, format_methods, has_non_face_way_in, read_stored
from gate.errors import ConflictError, ConsentError, PolicyError
from gate.i18n.marker import N_
from gate.store.models import Gate, Resident, ResidentStatus

#: How many names an error sentence lists before it says how many more there are.
NAMES_SHOWN = 5


def _face_gates(session: Session) -> list[tuple[str, frozenset[Method]]]:
    gates = session.scalars(select(Gate).order_by(Gate.name))
    running = ((gate.name, read_stored(gate.methods)[0]) for gate in gates)
    return [(name, methods) for name, methods in running if any(m.uses_face for m in methods)]


def gates_without_way_in(session: Session, *, has_card: bool, has_pin: bool) -> list[str]:
    """The face gates where these credentials give no way in without face."""
    return [name for name, methods in _face_gates(session)
            if not has_non_face_way_in(methods, has_card=has_card, has_pin=has_pin)]


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown if len(names) <= NAMES_SHOWN else f"{shown} and {len(names) - NAMES_SHOWN} more"


def require_way_in(session: Session, resident: Resident) -> None:
    """Before face consent or a template: refuse a resident whom face would be the only way in for."""
    gates = gates_without_way_in(session, has_card=bool(resident.cards), has_pin=resident.pin is not None)
    if gates:
        raise ConsentError.of(
            N_("Resident %(code)s has no way in without face at %(gates)s: give them a card or a PIN accepted "
               "there first, because face can never be anyone's only way in."),
            code=resident.code, gates=_listed(gates))


def require_way_in_after(session: Session, resident: Resident, *, change: str, has_card: bool,
                         has_pin: bool) -> None:
    """Before taking a credential away from a resident who holds face data: refuse if it was their last
    way in without face at a face gate. Refusing loses nothing, where withdrawing face for them would."""
    if resident.face_pseudonym is None:
        return
    gates = gates_without_way_in(session, has_card=has_card, has_pin=has_pin)
    if gates:
        raise ConflictError(
            f"{change} would leave resident {resident.code} with face as the only way in at {_listed(gates)}: "
            "withdraw their face consent first, or give them another card or a PIN accepted there."
        )


def require_gate_keeps_alternatives(session: Session, gate_name: str, methods: frozenset[Method]) -> None:
    """Before face runs at a gate with these methods: refuse while a resident with face data would have
    no other way in there."""
    if not any(m.uses_face for m in methods):
        return
    holders = session.scalars(select(Resident).where(Resident.face_pseudonym.is_not(None),
                                                     Resident.status == ResidentStatus.ACTIVE)
                              .order_by(Resident.code))
    stranded = [r.code for r in holders
                if not has_non_face_way_in(methods, has_card=bool(r.cards), has_pin=r.pin is not None)]
    if stranded:
        raise PolicyError(
            f"With {format_methods(methods)!r} at gate {gate_name}, face would be the only way in for "
            f"resident {_listed(stranded)}, who hold face data: give them a card or a PIN this gate accepts, "
            "or withdraw their face consent, first."
        )


def invalid_policies(session: Session) -> list[tuple[str, str, str]]:
    """(gate, stored methods, the problem) for every gate whose stored policy cannot run as stored."""
    found = []
    for gate in session.scalars(select(Gate).order_by(Gate.name)):
        methods, problem = read_stored(gate.methods)
        if problem is not None:
            found.append((gate.name, gate.methods, f"{problem} It runs as {format_methods(methods)!r}."))
    return found
