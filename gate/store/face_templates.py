"""Encrypted face templates: store, load one resident's, shred.

There is deliberately no way to load templates other than by one resident: `load` selects the rows of
that resident's pseudonym and nothing else, so face verification is 1:1 by construction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.core import retention
from gate.errors import ConsentError
from gate.secrets import envelope as crypto
from gate.secrets.keys import KeyStore
from gate.store import alternatives, shredding
from gate.store.models import DataKey, FaceTemplate, Resident, ResidentStatus


@dataclass(frozen=True)
class StoredTemplate:
    template_id: str
    model_version: str
    encodings: np.ndarray  # float32, (k, 128)
    created_at: datetime
    last_used_at: datetime


class TemplateStore:
    def __init__(self, key_file: KeyStore) -> None:
        self.key_file = key_file

    def save(self, session: Session, resident: Resident, encodings: np.ndarray, model_version: str,
             now: datetime | None = None) -> str:
        """Store a new template; any previous one is shredded in the same transaction (re-enrollment)."""
        from gate.store.consent import current_consent  # consent imports this module for withdrawal

        if resident.status is not ResidentStatus.ACTIVE:
            raise ConsentError(f"Resident {resident.code} has moved out: no face data may be stored.")
        if current_consent(session, resident) is None:
            raise ConsentError(
                f"Resident {resident.code} has no current, separate consent to face processing: "
                "record consent first (`gate consent grant`). Card and PIN are unaffected."
            )
        alternatives.require_way_in(session, resident)
        keyring = self.key_file.load()
        self.shred(session, resident)
        now = now or utcnow()
        template_id = secrets.token_hex(16)
        pseudonym = secrets.token_hex(16)
        matrix = crypto.as_encoding_matrix(encodings)
        sealed = crypto.seal(keyring.sealing_key, template_id, pseudonym, model_version, matrix)
        session.add(FaceTemplate(
            id=template_id, pseudonym=pseudonym, model_version=model_version, encodings=matrix.shape[0],
            nonce=sealed.nonce, ciphertext=sealed.ciphertext, created_at=now, last_used_at=now,
        ))
        session.flush()
        session.add(DataKey(template_id=template_id, kek_id=sealed.kek_id, wrapped=sealed.wrapped_key))
        resident.face_pseudonym = pseudonym
        session.flush()
        return template_id

    def load(self, session: Session, resident: Resident) -> StoredTemplate | None:
        """This resident's template, decrypted; None when they have none."""
        if resident.face_pseudonym is None:
            return None
        row = session.execute(
            select(FaceTemplate, DataKey)
            .join(DataKey, DataKey.template_id == FaceTemplate.id)
            .where(FaceTemplate.pseudonym == resident.face_pseudonym)
        ).first()
        if row is None:
            return None
        template, data_key = row
        keyring = self.key_file.load()
        encodings = crypto.open_sealed(
            keyring.by_id(data_key.kek_id), template.id, resident.face_pseudonym, template.model_version,
            template.encodings, template.nonce, template.ciphertext, data_key.wrapped,
        )
        return StoredTemplate(template.id, template.model_version, encodings,
                              template.created_at, template.last_used_at)

    def has_template(self, session: Session, resident: Resident) -> bool:
        if resident.face_pseudonym is None:
            return False
        return session.scalar(
            select(FaceTemplate.id).where(FaceTemplate.pseudonym == resident.face_pseudonym)
        ) is not None

    def mark_used(self, session: Session, template_id: str, now: datetime | None = None) -> None:
        """Restart the template's retention clock after a match, unless it is already past its legal
        deadline: a use must never bring back a template that is due for deletion."""
        from gate.store.consent import current_consent  # consent imports this module for withdrawal

        template = session.get(FaceTemplate, template_id)
        if template is None:
            return
        now = now or utcnow()
        resident = session.scalar(select(Resident).where(Resident.face_pseudonym == template.pseudonym))
        consent = current_consent(session, resident) if resident is not None else None
        if consent is None or retention.is_expired(now, template.created_at, template.last_used_at,
                                                   consent.granted_at, consent.retention_days,
                                                   retention.MAX_TEMPLATE_RETENTION_DAYS):
            return
        template.last_used_at = now

    def shred(self, session: Session, resident: Resident) -> int:
        """Destroy the resident's template and its data key, and cut the link. Returns rows destroyed."""
        if resident.face_pseudonym is None:
            return 0
        count = shred_pseudonym(session, resident.face_pseudonym)
        resident.face_pseudonym = None
        session.flush()
        return count


def shred_pseudonym(session: Session, pseudonym: str) -> int:
    ids = list(session.scalars(select(FaceTemplate.id).where(FaceTemplate.pseudonym == pseudonym)))
    return shred_templates(session, ids)


def shred_templates(session: Session, template_ids: list[str]) -> int:
    """Delete the wrapped data keys and the rows together: the live database can never decrypt them again.

    An older backup still holds the wrapped key; it opens only with the master key of its time. The
    deletion is noted for the ledger and flags the master-key rotation that retires that key
    (gate.store.shredding, gate.store.upkeep), which makes such backups, dead rows and WAL unreadable.
    """
    if not template_ids:
        return 0
    pseudonyms = set(session.scalars(select(FaceTemplate.pseudonym).where(FaceTemplate.id.in_(template_ids))))
    shredding.note_templates(session, template_ids, pseudonyms)
    session.execute(delete(DataKey).where(DataKey.template_id.in_(template_ids)))
    session.execute(delete(FaceTemplate).where(FaceTemplate.id.in_(template_ids)))
    return len(template_ids)


def unlink_orphans(session: Session) -> None:
    """Cut the link of residents whose template was shredded without them (a restored copy under a
    destroyed key): they have no face data now and may enroll again."""
    linked = select(FaceTemplate.pseudonym)
    session.execute(update(Resident).where(Resident.face_pseudonym.is_not(None),
                                           Resident.face_pseudonym.not_in(linked)).values(face_pseudonym=None))
