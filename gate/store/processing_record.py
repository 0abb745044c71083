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
from gate.i18n.marker import N_
from gate.store import notices, site_keys
from gate.store.dashboard import privacy_report
from gate.store.models import Consent, Gate

#: (category, the data, where it is kept). Fixed by the schema, so listed here rather than discovered.
CATEGORIES = (
    (N_("identity"), N_("name, unit, resident code, group, whether under 14, a guardian's name"),
     N_("table residents")),
    (N_("credentials"), N_("card numbers; the PIN only as an argon2id hash"), N_("tables cards, pins")),
    (N_("face data (sensitive personal information, PIPL 28)"),
     N_("encrypted face templates (numbers computed from photos); no photo or video is ever kept"),
     N_("tables face_templates, data_keys, linked to the person by one pseudonym column only")),
    (N_("consent records"), N_("notice version shown, dates, retention period, operator, guardian"),
     N_("table consents")),
    (N_("access events"), N_("date, gate, method, outcome, and the person until their record is deleted"),
     N_("table access_events")),
    (N_("audit log"), N_("operators' actions, views, exports and sign-ins; record numbers and card pseudonyms only"),
     N_("table audit_log (hash-chained)")),
    (N_("operator accounts"), N_("username, role, argon2id password hash, sessions"),
     N_("tables operators, operator_sessions")),
)
DATA_SUBJECTS = (N_("residents, including minors under 14 with a guardian's consent"), N_("operators of this system"))
PURPOSE_ACCESS = N_("opening the compound's gates to residents by card, PIN or, with separate consent, face 1:1")
#: How the record's keys read to a person (the JSON keeps the keys themselves).
LABELS = {
    "database_backend": N_("database backend"), "database_host": N_("database host"),
    "database_port": N_("database port"), "database_name": N_("database name"),
    "master_key_file": N_("master key file"), "master_key": N_("master key"), "gate_key_file": N_("gate key file"),
    "data_folder": N_("data folder"),
    "face_template_days_after_last_use": N_("face template days after last use"),
    "legal_cap_days": N_("legal cap (days)"), "rule": N_("rule"), "other_data": N_("other data"),
    "residents_active": N_("residents active"), "residents_moved_out": N_("residents moved out"),
    "residents_with_face": N_("residents with face data"), "minors_with_face": N_("minors with face data"),
    "templates_stored": N_("templates stored"), "consents_withdrawn": N_("consents withdrawn"),
    "templates_due_for_deletion": N_("templates due for deletion"),
}


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


SEPARATE = N_("Face data stored apart from identity data, linked by one pseudonym; 1:1 verification only, no search.")
NO_IMAGES = N_("No images kept: photos and camera frames exist in memory only while a template is computed or "
               "compared.")
HASHES = N_("PINs and operator passwords stored only as argon2id hashes.")
AUDITED = N_("Hash-chained audit log of enrollments, deletions, views, exports, settings and sign-ins "
             "(`gate audit verify`).")
NEVER_ONLY = N_("Face is never the only way in: card and PIN always work.")
NO_TRANSFERS = N_("none: face templates never leave this system, and exports carry no template bytes")
RETENTION_RULE = N_("the shortest of the consent's period, the site's and the cap, after last use; never more "
                    "than the cap after consent; at once on withdrawal, move-out or deletion "
                    "(`gate retention-schedule`)")
OTHER_DATA = N_("until the resident record is deleted; access events lose the person then; the audit log is "
                "kept as proof of lawful processing")
#: The record's fixed sentences: the page translates these and shows everything else (names, hosts, the
#: notice's own purpose) as it is.
STATIC_TEXTS = frozenset({*(text for row in CATEGORIES for text in row), *DATA_SUBJECTS, PURPOSE_ACCESS,
                          SEPARATE, NO_IMAGES, HASHES, AUDITED, NEVER_ONLY, NO_TRANSFERS, RETENTION_RULE,
                          OTHER_DATA})


def _security_measures(settings: Settings, liveness: dict[str, str]) -> list[str]:
    checks = ", ".join(f"{name}: {mode}" for name, mode in sorted(liveness.items())) or "no gate accepts face"
    kept = ("the site key, kept in the database only sealed for each approved gate's own key pair (each gate "
            "computer holds its private key)" if _joined_site(settings)
            else "a master key kept in a file outside the database")
    return [
        f"Face templates encrypted at rest (AES-256-GCM), each under its own data key wrapped by {kept}; "
        "deletion destroys the data key (crypto-shredding).",
        SEPARATE,
        NO_IMAGES,
        HASHES,
        f"Wrong PINs lock a resident after {settings.pin_max_failures} failures; operator accounts lock after "
        "repeated failed sign-ins.",
        f"Operator web UI listens on {settings.web.host}:{settings.web.port}"
        f"{' behind TLS' if settings.web.tls else ''}; named accounts with roles, no role can read templates.",
        AUDITED,
        f"Presentation-attack (liveness) check per gate: {checks}.",
        NEVER_ONLY,
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
        face_data_transfers=NO_TRANSFERS,
        security_measures=_security_measures(settings, face_gates),
        retention={
            "face_template_days_after_last_use": settings.template_retention_days,
            "legal_cap_days": MAX_TEMPLATE_RETENTION_DAYS,
            "rule": RETENTION_RULE,
            "other_data": OTHER_DATA,
        },
        impact_assessments=[{"gate": g.name, "accepts_face": g.name in face_gates,
                             "assessments": [{"assessed_on": a.assessed_on.isoformat(), "approver": a.approver,
                                              "document_sha256": a.document_sha256} for a in g.assessments]}
                            for g in gates],
        counts=privacy_report(session, settings, now).as_dict(),
    )
