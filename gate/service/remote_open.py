"""Opening the door once at a remote's request (Home Assistant's "open"), on the gate loop.

Audited first, opened after: the audit entry (actor, gate, source) is committed before the door is
released, so there is never an opening nobody can account for; with the database away (the circuit
open) or the audit write failing, the request is refused and logged. The door gets one pulse through
`DoorDevice.grant` -- the board ends it by itself -- never a hold, and no retry later: a request that
meets a dead relay board leaves the door locked (the door records `grant_failed`).
"""

from __future__ import annotations

import logging

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
                 sessions: sessionmaker[Session], clock: Clock) -> None:
        self.gate_name = gate_name
        self.door = door
        self.decider = decider
        self.sessions = sessions
        self.clock = clock

    def open(self, request: RemoteOpen) -> bool:
        """True when the door was released (one pulse)."""
        if self.door is None:
            log.warning("remote open by %s refused: gate %s has no door output.", request.actor, self.gate_name)
            return False
        database = self.decider.database
        if not database.ok:
            log.warning("remote open by %s refused: the database is away, so it could not be audited.",
                        request.actor)
            return False
        def write_audit() -> None:
            with transaction(self.sessions) as session:
                audit.record(session, request.actor, AUDIT_ACTION, subject=self.gate_name, now=self.clock(),
                             source=request.detail)

        try:
            self.decider.bounded(write_audit)  # on the loop: never longer than the decision deadline
        except SQLAlchemyError as err:
            database.lost(err)
            log.warning("remote open by %s refused: the audit log could not be written (%s).", request.actor,
                        err.__class__.__name__)
            return False
        try:
            opened = self.door.grant(f"remote open by {request.actor}")
        except Exception as err:  # noqa: BLE001 - a dead board leaves the door locked (fail-secure)
            log.warning("remote open by %s: the door could not be released: %s", request.actor, err)
            return False
        if opened:
            self.decider.record_door("remote_open", f"{request.actor}: {request.detail}")
        else:
            log.warning("remote open by %s: the relay board did not release the door.", request.actor)
        return opened
