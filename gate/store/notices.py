"""The face-processing notice (PIPL art. 17, 30): versioned, hashed, complete before it can be published.

A notice means what it says: it cannot be published while a field still holds the default's
placeholder, its retention text is generated from `[retention]` (so it cannot contradict the purge),
and a new version that changes a material field makes older face consents lapse until renewed
(gate.store.face_standing).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.core.retention import MAX_TEMPLATE_RETENTION_DAYS
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.i18n import locales
from gate.i18n.marker import N_
from gate.store import audit
from gate.store.models import Notice

# The headings are shown in the notice's own language (gate.i18n.catalogue.gettext_for(notice.language)).
REQUIRED_FIELDS = {
    "processor": N_("who processes the face data"),
    "contact": N_("how to contact them"),
    "purpose": N_("the purpose"),
    "method": N_("the method of processing"),
    "retention": N_("the retention period"),
    "recipients": N_("who receives the face data, if anyone"),
    "necessity_and_impact": N_("why it is necessary and its impact on the person"),
    "rights": N_("how to exercise one's rights, including withdrawal"),
    "alternatives": N_("that card and PIN are available instead"),
}
#: A change to any of these changes what the person agreed to (PIPL art. 14, 17): consents given
#: against an older text lapse for face. Wording elsewhere (method, necessity, rights...) may be
#: corrected without asking everyone again.
MATERIAL_FIELDS = ("processor", "purpose", "retention", "recipients")
#: Where the written retention schedule (gate.store.retention.schedule_text) is shown to the public.
RETENTION_SCHEDULE_PATH = "/kiosk/retention"


def canonical_text(fields: dict[str, str]) -> str:
    return json.dumps({k: fields.get(k, "") for k in REQUIRED_FIELDS}, ensure_ascii=False, sort_keys=True, indent=1)


def material_sha256(fields: dict[str, str]) -> str:
    """The material fields with whitespace runs collapsed: re-wrapping a line is not a new promise.
    Migration 0006 holds a frozen copy of this for notices stored before it."""
    canonical = {key: " ".join(str(fields.get(key, "")).split()) for key in MATERIAL_FIELDS}
    blob = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def fields_of(notice: Notice) -> dict[str, str]:
    """Every field, "" for one an older notice did not have (recipients before 0006)."""
    stored = json.loads(notice.text)
    return {**{key: "" for key in REQUIRED_FIELDS}, **stored}


def missing_fields(fields: dict[str, str]) -> list[str]:
    return [label for key, label in REQUIRED_FIELDS.items() if not str(fields.get(key, "")).strip()]


@cache
def _default() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        resources.files("gate").joinpath("notice_default.json").read_text(encoding="utf-8"))
    return loaded


def default_fields(language: str = locales.SOURCE) -> dict[str, str]:
    """The draft notice in a language (English where the file has no translation of it)."""
    fields = _default()["fields"]
    translations = _default().get("translations", {})
    assert isinstance(fields, dict) and isinstance(translations, dict)
    return dict(translations.get(language, fields))


def placeholder_markers() -> tuple[str, ...]:
    markers = _default()["placeholders"]
    assert isinstance(markers, list)
    return tuple(str(marker) for marker in markers)


def placeholders(fields: dict[str, str]) -> list[tuple[str, str]]:
    """(field, marker) for every field that still holds a placeholder of the default notice."""
    found = []
    for key in REQUIRED_FIELDS:
        value = str(fields.get(key, "")).casefold()
        for marker in placeholder_markers():
            if marker.casefold() in value:
                found.append((key, marker))
                break
    return found


def _placeholder_sentence(found: list[tuple[str, str]]) -> str:
    return "; ".join(f"the {key} field still holds the placeholder {marker!r} (fill in {REQUIRED_FIELDS[key]})"
                     for key, marker in found)


def retention_text(site_days: int, language: str = locales.SOURCE) -> str:
    """The notice's retention field, from the same numbers the purge uses (R5), so the two agree."""
    if language == locales.CHINESE:
        return (
            f"在您撤回同意、搬离本小区，或连续 {site_days} 天未在门禁处使用刷脸时（以先到者为准），"
            f"您的人脸特征值即被删除；无论使用多频繁，最迟在您同意后 {MAX_TEMPLATE_RETENTION_DAYS} 天（3 年）删除。"
            f"书面保存期限说明在门禁屏幕的 {RETENTION_SCHEDULE_PATH} 页面和物业服务中心公示。"
        )
    return (
        f"Your face template is deleted when you withdraw consent, when you move out, or after {site_days} days "
        f"without use at a gate, whichever comes first; and never later than {MAX_TEMPLATE_RETENTION_DAYS} days "
        f"(3 years) after your consent, however often it is used. The written retention schedule is shown at "
        f"{RETENTION_SCHEDULE_PATH} on the gate screen and at the management office."
    )


def create_notice(session: Session, version: str, fields: dict[str, str], actor: str, *, site_days: int,
                  language: str = locales.SOURCE) -> Notice:
    """Store a notice version in a language, or rewrite an unpublished draft of that name; its retention
    field is generated from `site_days` ([retention] template_days), in the notice's language."""
    if not locales.is_supported(language):
        raise PolicyError.of(N_("A notice can be written in %(languages)s, not %(language)s."),
                             languages=", ".join(locales.SUPPORTED), language=language)
    fields = {**fields, "retention": retention_text(site_days, language)}
    text = canonical_text(fields)
    digest = hashlib.sha256(text.encode()).hexdigest()
    existing = session.scalar(select(Notice).where(Notice.text_sha256 == digest))
    if existing is not None:
        return existing  # the same text is stored once
    notice = session.scalar(select(Notice).where(Notice.version == version))
    if notice is not None and notice.published_at is not None:
        raise ConflictError.of(N_("Notice version %(version)r exists with a different text; choose a new version "
                                  "name."), version=version)
    if notice is None:
        notice = Notice(version=version, created_at=utcnow())
        session.add(notice)
    notice.language = language
    # An unpublished draft (such as the one `gate init` writes) is rewritten in place: nobody can have
    # consented to it, so only published versions are fixed.
    notice.text, notice.text_sha256 = text, digest
    notice.material_sha256, notice.retention_days = material_sha256(fields), site_days
    session.flush()
    audit.record(session, actor, "notice.create", f"notice:{notice.version}", sha256=digest)
    return notice


def publish_notice(session: Session, version: str, actor: str) -> Notice:
    notice = session.scalar(select(Notice).where(Notice.version == version))
    if notice is None:
        raise NotFoundError.of(N_("No notice version %(version)r."), version=version)
    fields = fields_of(notice)
    missing = missing_fields(fields)
    if missing:
        raise PolicyError("A notice cannot be published while it does not say " + "; ".join(missing) + ".")
    found = placeholders(fields)
    if found:
        raise PolicyError(f"Notice version {version} cannot be published: {_placeholder_sentence(found)}.")
    if notice.published_at is None:
        notice.published_at = utcnow()
        audit.record(session, actor, "notice.publish", f"notice:{notice.version}", sha256=notice.text_sha256)
    return notice


def consent_blocker(notice: Notice, site_days: int | None) -> str | None:
    """Why no consent may be given against this published notice, as one sentence; None if it may.

    A notice published before these checks existed (or stored by hand) may still hold a placeholder
    or a retention text that `[retention]` has since contradicted. `site_days` None skips the
    retention comparison (callers that do not know the site's settings).
    """
    found = placeholders(fields_of(notice))
    if found:
        return (f"Consent cannot be given against notice version {notice.version}: "
                f"{_placeholder_sentence(found)}; an admin must publish a completed version first.")
    if site_days is not None and notice.retention_days != site_days:
        stated = "a hand-written retention period" if notice.retention_days is None else \
            f"{notice.retention_days} days of retention"
        return (f"Consent cannot be given against notice version {notice.version}: it states {stated} but "
                f"[retention] template_days is {site_days}; an admin must publish a new notice version, whose "
                "retention text is generated from the configuration.")
    return None


def current_notice(session: Session, language: str | None = None) -> Notice | None:
    """The most recently published notice in `language`: the one new consents are given against when a
    person reads that language. If none is published in it, the most recent one in any language (the
    caller compares `notice.language` and says that the notice is shown in another language); with
    no language, the most recent one in any language."""
    published = (select(Notice).where(Notice.published_at.is_not(None))
                 .order_by(Notice.published_at.desc(), Notice.id.desc()).limit(1))
    if language is not None:
        found = session.scalar(published.where(Notice.language == language))
        if found is not None:
            return found
    return session.scalar(published)


def current_notices(session: Session) -> dict[str, Notice]:
    """The current notice of each language a notice is published in."""
    found: dict[str, Notice] = {}
    for language in locales.SUPPORTED:
        notice = session.scalar(select(Notice).where(Notice.published_at.is_not(None), Notice.language == language)
                                .order_by(Notice.published_at.desc(), Notice.id.desc()).limit(1))
        if notice is not None:
            found[language] = notice
    return found
