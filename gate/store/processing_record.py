"""The record of processing activities (PIPL 54-56, U2): what is processed, why, where it lives, who
receives it, how it is protected and for how long, generated on demand from the configuration and the
database so that it cannot drift from what the system really does. No secret (password, key) appears."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.config import MAX_TEMPLATE_RETENTION_DAYS, Settings
from gate.core.policy import parse_methods
from gate.store import notices, site_keys
from gate.store.dashboard import privacy_report
from gate.store.models import Consent, Gate

#: (category, the data, where it is kept). Fixed by the schema, so listed here rather than discovered.
CATEGORIES = (
    ("identity", "name, unit, resident code, group, whether under 14, a guardian's name", "table residents"),
    ("credentials", "card numbers; the PIN only as an argon2id hash", "tables cards, pins"),
    ("face data (sensitive personal information, PIPL 28)",
     "encrypted face templates (numbers computed from photos); no photo or video is ever kept",
     "tables face_templates, data_keys, linked to the person by one pseudonym column only"),
    ("consent records", "notice version shown, dates, retention period, operator, guardian", "table consents"),
    ("access events", "date, gate, method, outcome, and the person until their record is deleted",
     "table access_events"),
    ("audit log", "operators' actions, views, exports and sign-ins; record numbers and card pseudonyms only",
     "table audit_log (hash-chained)"),
    ("operator accounts", "username, role, argon2id password hash, sessions", "tables operators, operator_sessions"),
)
DATA_SUBJECTS = ("residents, including minors under 14 with a guardian's consent", "operators of this system")
PURPOSE_ACCESS = "opening the compound's gates to residents by card, PIN or, with separate consent, face 1:1"


@dataclass(frozen=True)
class Recipient:
    kind: str
    host: str
    what: str
    includes_resident_id: bool


@dataclass(frozen=True)
class ProcessingRecord:
    generated_at: str
    controller: dict[str, str]
    purposes: list[str]
    data_subjects: list[str]
    categories: list[dict[str, str]]
    storage: dict[str, str | None]
    recipients: list[Recipient]
    face_data_transfers: str
    security_measures: list[str]
    retention: dict[str, object]
    impact_assessments: list[dict[str, object]]
    counts: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def storage_of(settings: Settings) -> dict[str, str | None]:
    """Where the data lives; the database password is never part of it."""
    url = make_url(settings.database_url)
    backend = url.get_backend_name()
    return {
        "database_backend": backend,
        "database_host": None if backend == "sqlite" else (url.host or "localhost"),
        "database_port": None if url.port is None else str(url.port),
        "database_name": url.database,
        **_key_custody(settings),
        "data_folder": str(settings.data_dir),
    }


def _joined_site(settings: Settings) -> bool:
    """A gate of a site keeps no master key file: its gate key pair opens the site key's sealed slot."""
    return site_keys.gate_key_path(settings.key_file).exists()


def _key_custody(settings: Settings) -> dict[str, str | None]:
    if not _joined_site(settings):
        return {"master_key_file": str(settings.key_file)}
    return {"master_key": "the site key, kept in the database only sealed for each approved gate's own key pair "
                          "(table gate_keys); no master key file",
            "gate_key_file": str(site_keys.gate_key_path(settings.key_file))}


def recipients_of(settings: Settings) -> list[Recipient]:
    found: list[Recipient] = []
    if settings.mqtt.enabled:
        found.append(Recipient("MQTT broker", f"{settings.mqtt.host}:{settings.mqtt.port}",
                               f"gate events on {settings.mqtt.topic}/<gate>", settings.mqtt.include_resident))
    if settings.homeassistant.enabled:
        found.append(Recipient("Home Assistant (MQTT broker)", f"{settings.mqtt.host}:{settings.mqtt.port}",
                               f"gate state and access decisions on {settings.homeassistant.topic}/<gate>",
                               settings.mqtt.include_resident))
    if settings.webhook.enabled:
        found.append(Recipient("webhook", urlsplit(settings.webhook.url).netloc.rsplit("@", 1)[-1],
                               "gate events as JSON", settings.webhook.include_resident))
    return found


def _security_measures(settings: Settings, liveness: dict[str, str]) -> list[str]:
    checks = ", ".join(f"{name}: {mode}" for name, mode in sorted(liveness.items())) or "no gate accepts face"
    kept = ("the site key, kept in the database only sealed for each approved gate's own key pair (each gate "
            "computer holds its private key)" if _joined_site(settings)
            else "a master key kept in a file outside the database")
    return [
        f"Face templates encrypted at rest (AES-256-GCM), each under its own data key wrapped by {kept}; "
        "deletion destroys the data key (crypto-shredding).",
        "Face data stored apart from identity data, linked by one pseudonym; 1:1 verification only, no search.",
        "No images kept: photos and camera frames exist in memory only while a template is computed or compared.",
        "PINs and operator passwords stored only as argon2id hashes.",
        f"Wrong PINs lock a resident after {settings.pin_max_failures} failures; operator accounts lock after "
        "repeated failed sign-ins.",
        f"Operator web UI listens on {settings.web.host}:{settings.web.port}"
        f"{' behind TLS' if settings.web.tls else ''}; named accounts with roles, no role can read templates.",
        "Hash-chained audit log of enrollments, deletions, views, exports, settings and sign-ins "
        "(`gate audit verify`).",
        f"Presentation-attack (liveness) check per gate: {checks}.",
        "Face is never the only way in: card and PIN always work.",
    ]


def processing_record(session: Session, settings: Settings, now: datetime | None = None) -> ProcessingRecord:
    now = now or utcnow()
    current = notices.current_notice(session)
    fields = notices.fields_of(current) if current else {}
    consent_purposes = session.scalars(select(Consent.purpose).where(Consent.withdrawn_at.is_(None)).distinct()
                                       .order_by(Consent.purpose))
    purposes = [PURPOSE_ACCESS, *(p for p in [fields.get("purpose", ""), *consent_purposes] if p)]
    gates = list(session.scalars(select(Gate).order_by(Gate.name)))
    face_gates = {g.name: g.liveness for g in gates if any(m.uses_face for m in parse_methods(g.methods))}
    return ProcessingRecord(
        generated_at=now.isoformat(),
        controller={"processor": fields.get("processor", ""), "contact": fields.get("contact", ""),
                    "notice_version": current.version if current else ""},
        purposes=list(dict.fromkeys(purposes)),
        data_subjects=list(DATA_SUBJECTS),
        categories=[{"category": c, "data": d, "stored_in": w} for c, d, w in CATEGORIES],
        storage=storage_of(settings),
        recipients=recipients_of(settings),
        face_data_transfers="none: face templates never leave this system, and exports carry no template bytes",
        security_measures=_security_measures(settings, face_gates),
        retention={
            "face_template_days_after_last_use": settings.template_retention_days,
            "legal_cap_days": MAX_TEMPLATE_RETENTION_DAYS,
            "rule": "the shortest of the consent's period, the site's and the cap, after last use; never more "
                    "than the cap after consent; at once on withdrawal, move-out or deletion "
                    "(`gate retention-schedule`)",
            "other_data": "until the resident record is deleted; access events lose the person then; the audit "
                          "log is kept as proof of lawful processing",
        },
        impact_assessments=[{"gate": g.name, "accepts_face": g.name in face_gates,
                             "assessments": [{"assessed_on": a.assessed_on.isoformat(), "approver": a.approver,
                                              "document_sha256": a.document_sha256} for a in g.assessments]}
                            for g in gates],
        counts=privacy_report(session, settings, now).as_dict(),
    )
