"""Opening the door once at a remote's request (Home Assistant's "open", an operator's "open once"), on the gate loop.

Audited first, opened after: the audit entry (actor, gate, source) is committed before the door is
released, so there is never an opening nobody can account for; with the database away (the circuit
open) or the audit write failing, the request is refused and logged. The door gets one pulse through
`DoorDevice.grant` -- the board ends it by itself -- never a hold, and no retry later: a request that
meets a dead relay board leaves the door locked (the door records `grant_failed`).

During a fire alarm the fire loop already holds the door released; with `[gate]
refuse_remote_in_fire_alarm` (the default) remote commands are refused then, so the fire brigade's
state of the door is the only one (docs/operations.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from drivers.door import DoorDevice
from gate.clock import Clock
from gate.service.controls import RemoteOpen
from gate.service.decisions import Decider
from gate.store import audit
from gate.store.db import transaction

log = logging.getLogger("gate.service")

AUDIT_ACTION = "door.remote_open"


class RemoteOpener:
    def __init__(self, gate_name: str, door: DoorDevice | None, decider: Decider,
                 sessions: sessionmaker[Session], clock: Clock, *,
                 fire_alarm: Callable[[], bool] = lambda: False, refuse_in_fire_alarm: bool = True) -> None:
        self.gate_name = gate_name
        self.door = door
        self.decider = decider
        self.sessions = sessions
        self.clock = clock
        self.fire_alarm = fire_alarm
        self.refuse_in_fire_alarm = refuse_in_fire_alarm

    def open(self, request: RemoteOpen) -> bool:
        """True when the door was released (one pulse); the request's reply says why not otherwise."""
        refusal = self._open(request)
        if request.reply is not None:
            request.reply.put(refusal)
        return refusal is None

    def _open(self, request: RemoteOpen) -> str | None:
        refusal = self.refusal(request.actor) or self.audited(request.actor, AUDIT_ACTION, source=request.detail)
        if refusal is not None:
            return refusal
        assert self.door is not None  # refusal() said so
        try:
            opened = self.door.grant(f"remote open by {request.actor}")
        except Exception as err:  # noqa: BLE001 - a dead board leaves the door locked (fail-secure)
            log.warning("remote open by %s: the door could not be released: %s", request.actor, err)
            return "The relay board did not answer, so the door stayed locked: check its cable and power."
        if not opened:
            log.warning("remote open by %s: the relay board did not release the door.", request.actor)
            return "The relay board did not release the door: check its cable and power."
        self.decider.record_door("remote_open", f"{request.actor}: {request.detail}")
        return None

    def refusal(self, actor: str) -> str | None:
        """Why a remote command cannot be carried out now, or None."""
        if self.door is None:
            log.warning("remote command by %s refused: gate %s has no door output.", actor, self.gate_name)
            return f"Gate {self.gate_name} has no door output to control."
        if self.refuse_in_fire_alarm and self.fire_alarm():
            log.warning("remote command by %s refused: fire alarm at gate %s.", actor, self.gate_name)
            return ("The fire alarm holds the door released, so remote commands are refused until it is cleared "
                    "([gate] refuse_remote_in_fire_alarm).")
        if not self.decider.database.ok:
            log.warning("remote command by %s refused: the database is away, so it could not be audited.", actor)
            return "The database is not answering, so the command could not be audited: try again when it is back."
        return None

    def audited(self, actor: str, action: str, **details: object) -> str | None:
        """Write the audit entry (on the loop, within the decision deadline); None once committed."""
        def write_audit() -> None:
            with transaction(self.sessions) as session:
                audit.record(session, actor, action, subject=self.gate_name, now=self.clock(), **details)

        try:
            self.decider.bounded(write_audit)
        except SQLAlchemyError as err:
            self.decider.database.lost(err)
            log.warning("remote command by %s refused: the audit log could not be written (%s).", actor,
                        err.__class__.__name__)
            return "The audit log could not be written, so the command was refused: try again in a moment."
        return None
