"""The face-processing notice (PIPL art. 17, 30): versioned, hashed, complete before it can be published."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.store import audit
from gate.store.models import Notice

REQUIRED_FIELDS = {
    "processor": "who processes the face data",
    "contact": "how to contact them",
    "purpose": "the purpose",
    "method": "the method of processing",
    "retention": "the retention period",
    "necessity_and_impact": "why it is necessary and its impact on the person",
    "rights": "how to exercise one's rights, including withdrawal",
    "alternatives": "that card and PIN are available instead",
}


def canonical_text(fields: dict[str, str]) -> str:
    return json.dumps({k: fields.get(k, "") for k in REQUIRED_FIELDS}, ensure_ascii=False, sort_keys=True, indent=1)


def fields_of(notice: Notice) -> dict[str, str]:
    return json.loads(notice.text)


def missing_fields(fields: dict[str, str]) -> list[str]:
    return [label for key, label in REQUIRED_FIELDS.items() if not str(fields.get(key, "")).strip()]


def default_fields() -> dict[str, str]:
    return json.loads(resources.files("gate").joinpath("notice_default.json").read_text(encoding="utf-8"))


def create_notice(session: Session, version: str, fields: dict[str, str], actor: str) -> Notice:
    text = canonical_text(fields)
    digest = hashlib.sha256(text.encode()).hexdigest()
    existing = session.scalar(select(Notice).where(Notice.text_sha256 == digest))
    if existing is not None:
        return existing  # the same text is stored once
    if session.scalar(select(Notice).where(Notice.version == version)) is not None:
        raise ConflictError(f"Notice version {version!r} exists with a different text; choose a new version name.")
    notice = Notice(version=version, text=text, text_sha256=digest, created_at=utcnow())
    session.add(notice)
    session.flush()
    audit.record(session, actor, "notice.create", f"notice:{notice.version}", sha256=digest)
    return notice


def publish_notice(session: Session, version: str, actor: str) -> Notice:
    notice = session.scalar(select(Notice).where(Notice.version == version))
    if notice is None:
        raise NotFoundError(f"No notice version {version!r}.")
    missing = missing_fields(fields_of(notice))
    if missing:
        raise PolicyError("A notice cannot be published while it does not say " + "; ".join(missing) + ".")
    if notice.published_at is None:
        notice.published_at = utcnow()
        audit.record(session, actor, "notice.publish", f"notice:{notice.version}", sha256=notice.text_sha256)
    return notice


def current_notice(session: Session) -> Notice | None:
    """The most recently published notice: the one new consents are given against."""
    return session.scalar(
        select(Notice)
        .where(Notice.published_at.is_not(None))
        .order_by(Notice.published_at.desc(), Notice.id.desc())
        .limit(1)
    )
