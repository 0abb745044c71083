"""The kiosk's "My face data" (PIPL art. 15, 47; P2): identify by card/code + PIN, then withdraw and delete.

Runs on the gate loop like a card decision (a PIN hash and one short transaction). Deletion is the
operator's own store function (`gate.store.rights.delete_face`) with the actor `kiosk:<gate>`, so the
audit entry, the crypto-shredding and the receipt are the same wherever the request was made. A
database fault rolls the whole deletion back: the screen says nothing was deleted, which is then true.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from gate.access.pipeline import AccessService
from gate.clock import Clock
from gate.core import machine as m
from gate.core.decision import Decision, Reason
from gate.errors import ConflictError
from gate.service.db_deadline import DatabaseDeadline
from gate.service.db_health import DatabaseHealth
from gate.store import rights
from gate.store.db import transaction
from gate.store.face_templates import TemplateStore
from gate.store.models import Resident

log = logging.getLogger("gate.service")

Outcome = m.SelfServiceOutcome


class SelfService:
    """Present only where `[privacy] kiosk_self_service = true`; the runtime offers the action then."""

    def __init__(self, gate_name: str, access: AccessService, store: TemplateStore, database: DatabaseHealth,
                 clock: Clock, deadline: DatabaseDeadline | None = None) -> None:
        self.gate_name = gate_name
        # Runs on the gate loop: the database work goes through the loop's deadline (db_deadline).
        self.deadline = deadline or DatabaseDeadline()
        self.access = access
        self.store = store
        self.database = database
        self.clock = clock

    @property
    def actor(self) -> str:
        return f"kiosk:{self.gate_name}"

    def identify(self, effect: m.Identify) -> m.Identified:
        if not self.database.ok:
            # Nothing can be deleted offline, so the PIN is not even looked at.
            return m.Identified(effect.token, None, Decision(False, Reason.DATABASE_UNAVAILABLE))
        try:
            identity = self.deadline.run(lambda: self.access.identify(self.gate_name, effect.claim, effect.pin))
        except SQLAlchemyError as err:
            self.database.lost(err)
            return m.Identified(effect.token, None, Decision(False, Reason.DATABASE_UNAVAILABLE))
        return m.Identified(effect.token, identity.resident_id, identity.refusal, identity.has_face_data)

    def delete(self, effect: m.DeleteFaceData) -> m.FaceDataDeleted:
        def delete_face() -> int | None:
            with transaction(self.access.sessions) as session:
                resident = session.get(Resident, effect.resident_id)
                if resident is None:
                    return None
                return rights.delete_face(session, resident, self.store, actor=self.actor, now=self.clock())

        try:
            number = self.deadline.run(delete_face)
            if number is None:
                return m.FaceDataDeleted(effect.token, Outcome.NOTHING_TO_DELETE)
        except ConflictError:  # withdrawn meanwhile (at the office, by the purge): nothing left to delete
            return m.FaceDataDeleted(effect.token, Outcome.NOTHING_TO_DELETE)
        except SQLAlchemyError as err:
            self.database.lost(err)
            log.warning("kiosk self-service: deletion rolled back: %s", err)
            return m.FaceDataDeleted(effect.token, Outcome.DATABASE_UNAVAILABLE)
        return m.FaceDataDeleted(effect.token, Outcome.DELETED, number)
