"""The data model. SQLAlchemy 2.0 typed models; Alembic migrations in migrations/ create them.

Two rules shape it:
* Face templates are stored apart from identity: `face_templates` is keyed by a random pseudonym and
  holds no name, code or unit. The only link is `residents.face_pseudonym`, one column that deletion
  destroys.
* No image column anywhere. A template is an encrypted float32 encoding; its data key is wrapped by the
  master key, which lives in a key file, never in the database.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite would otherwise hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum_values(kind: type[enum.Enum]) -> list[str]:
    return [member.value for member in kind]


class ResidentStatus(enum.StrEnum):
    ACTIVE = "active"
    MOVED_OUT = "moved_out"


class OperatorRole(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class Resident(Base):
    __tablename__ = "residents"
    # The residents list pages by (name, id) and (unit, id) and filters by status and group (0016).
    __table_args__ = (
        Index("ix_residents_name_id", "name", "id"),
        Index("ix_residents_unit_id", "unit", "id"),
        Index("ix_residents_status", "status"),
        Index("ix_residents_group_name", "group_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[ResidentStatus] = mapped_column(
        Enum(ResidentStatus, native_enum=False, length=16, values_callable=_enum_values), default=ResidentStatus.ACTIVE
    )
    # The date of birth decides "under 14" on the site's local date (gate.store.face_standing). The old
    # manual flag is kept and read only for residents without a date of birth (0006).
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    is_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    group_name: Mapped[str | None] = mapped_column(String(64))
    # The one link from identity to face data. NULL means: no face template.
    face_pseudonym: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Keys the card pseudonyms in the audit log; deleted with the record, so they no longer lead to a card.
    audit_salt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    moved_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A tenant's lease: local calendar days in the site's time zone, until inclusive (gate.core.validity).
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_until: Mapped[date | None] = mapped_column(Date, default=None, index=True)

    cards: Mapped[list[Card]] = relationship(back_populates="resident", cascade="all, delete-orphan")
    pin: Mapped[Pin | None] = relationship(back_populates="resident", cascade="all, delete-orphan")
    consents: Mapped[list[Consent]] = relationship(back_populates="resident", cascade="all, delete-orphan")


class Card(Base):
    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[date | None] = mapped_column(Date, default=None)
    valid_until: Mapped[date | None] = mapped_column(Date, default=None)

    resident: Mapped[Resident] = relationship(back_populates="cards")


class Pin(Base):
    """An argon2id hash of the PIN; the PIN itself is never stored or logged."""

    __tablename__ = "pins"

    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    pin_hash: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())

    resident: Mapped[Resident] = relationship(back_populates="pin")


class Lockout(Base):
    """Wrong-PIN counters, per resident ("resident:<id>") and per gate keypad ("gate:<id>")."""

    __tablename__ = "lockouts"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The counters decay: failures older than the window, counted from the first, no longer count (0003).
    first_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Operator(Base):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[OperatorRole] = mapped_column(
        Enum(OperatorRole, native_enum=False, length=16, values_callable=_enum_values)
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The operator's own language for the web UI (gate.i18n.locales); NULL follows the site's.
    language: Mapped[str | None] = mapped_column(String(16), default=None)


class Gate(Base):
    __tablename__ = "gates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # Comma-separated Method values, validated by gate.core.policy before they are stored.
    methods: Mapped[str] = mapped_column(String(200))
    face_threshold: Mapped[float | None] = mapped_column()
    liveness: Mapped[str] = mapped_column(String(16), default="none")
    pulse_ms: Mapped[int] = mapped_column(Integer, default=3000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    assessments: Mapped[list[ImpactAssessment]] = relationship(
        back_populates="gate", cascade="all, delete-orphan", order_by="ImpactAssessment.id"
    )


class ImpactAssessment(Base):
    """PIPL art. 55-56: the personal-information impact assessment that must precede face at a gate."""

    __tablename__ = "impact_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    assessed_on: Mapped[date] = mapped_column(Date)
    approver: Mapped[str] = mapped_column(String(200))
    document_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    gate: Mapped[Gate] = relationship(back_populates="assessments")


class Notice(Base):
    """A face-processing notice, stored once per exact text (by hash), so a consent names what was shown."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    text_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # SHA-256 of the canonical material fields (gate.store.notices.MATERIAL_FIELDS): a consent lapses for
    # face when the current notice's differs from the one it was given against (0006 fills old rows).
    material_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # The [retention] template_days its retention text was generated from; NULL for notices written
    # by hand before 0006, which therefore cannot take new consents.
    retention_days: Mapped[int | None] = mapped_column(Integer, default=None)
    # The language the notice is written in: a site publishes one per language (0017; older rows "en").
    language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")


class Consent(Base):
    """Separate consent to face processing; never a condition of access."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    purpose: Mapped[str] = mapped_column(String(200))
    retention_days: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    # The language of the notice the person was shown, which the consent receipt states.
    notice_language: Mapped[str | None] = mapped_column(String(16), default=None)

    resident: Mapped[Resident] = relationship(back_populates="consents")
    notice: Mapped[Notice] = relationship()


class FaceTemplate(Base):
    """An encrypted face template. Keyed by pseudonym; no identity columns, no image."""

    __tablename__ = "face_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    encodings: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DataKey(Base):
    """A template's own AES-256 key, wrapped by the master key `kek_id`. Destroying it shreds the template."""

    __tablename__ = "data_keys"

    template_id: Mapped[str] = mapped_column(
        ForeignKey("face_templates.id", ondelete="CASCADE"), primary_key=True
    )
    kek_id: Mapped[str] = mapped_column(String(32), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class AccessEvent(Base):
    __tablename__ = "access_events"
    __table_args__ = (
        Index("ix_access_events_gate_at", "gate_id", "at"),
        Index("ix_access_events_resident_at", "resident_id", "at"),
        # System events (method "door") are a thin slice of the table, listed on their own (0016).
        Index("ix_access_events_method_at", "method", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gates.id", ondelete="SET NULL"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200), default="")
    # The gate's local journal line a row was replayed from (events taken while the database was
    # away): unique, so a replay cut short after its commit never writes a row twice.
    journal_id: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    # The visitor record a visitor-code decision was about (its label is on the record, never here).
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id", ondelete="SET NULL"), default=None)


class AuditEntry(Base):
    """Hash-chained: each entry's hash covers its content and the previous entry's hash."""

    __tablename__ = "audit_log"
    # The audit page filters by actor and by date (0016).
    __table_args__ = (
        Index("ix_audit_log_actor_id", "actor", "id"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    # Unique: two entries can never claim the same predecessor, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class SystemState(Base):
    """Small facts the privacy dashboard reports: last purge, last key rotation."""

    __tablename__ = "system_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)



class GateKeySlot(Base):
    """One gate's copy of the site keyring, sealed for that gate's public key (gate.store.site_keys).

    A joining gate inserts its public key as "pending" with no copy; approval at a gate that holds the
    site key writes the copy. `version` changes with every write, so each gate re-reads its copy when
    (and only when) it changed. Never restored from a backup: it is the site's current membership."""

    __tablename__ = "gate_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))  # pending | approved
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(128))


class SharedLedgerLine(Base):
    """A line of some installation's deletion ledger, verbatim, so every gate can keep a copy of every
    other gate's deletions (gate.store.ledger_share). Pseudonymous like the ledger itself."""

    __tablename__ = "deletion_ledger"
    __table_args__ = (UniqueConstraint("origin", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- time schedules, holidays and anti-passback (the gate service, issue #6) ------------------------
class Schedule(Base):
    """A named set of weekly time windows. Residents (or their group) assigned one or more schedules
    may enter only inside one of their windows; residents with none assigned are not restricted."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    windows: Mapped[list[ScheduleWindow]] = relationship(back_populates="schedule", cascade="all, delete-orphan")


class ScheduleWindow(Base):
    __tablename__ = "schedule_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    #: Seven characters, Monday first: "1111100" is Monday to Friday.
    days: Mapped[str] = mapped_column(String(7))
    start: Mapped[str] = mapped_column(String(5))  # "HH:MM", site local time
    end: Mapped[str] = mapped_column(String(5))    # "HH:MM" or "24:00"; after start
    #: Whether this window also applies on holidays (other windows do not).
    on_holidays: Mapped[bool] = mapped_column(Boolean, default=False)

    schedule: Mapped[Schedule] = relationship(back_populates="windows")


class ScheduleAssignment(Base):
    """A schedule for one resident, or for every resident of a group (residents.group_name)."""

    __tablename__ = "schedule_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    group_name: Mapped[str | None] = mapped_column(String(64), index=True)


class Holiday(Base):
    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")


class PassbackPair(Base):
    """Anti-passback between an entry gate and an exit gate: no second entry before an exit."""

    __tablename__ = "passback_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    entry_gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    exit_gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), index=True)
    #: After this many minutes inside, a new entry is allowed again (a missed exit does not lock out forever).
    reset_minutes: Mapped[int] = mapped_column(Integer, default=720)


class PassbackPresence(Base):
    __tablename__ = "passback_presence"

    pair_id: Mapped[int] = mapped_column(ForeignKey("passback_pairs.id", ondelete="CASCADE"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True)
    inside: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class OperatorSession(Base):
    """A signed-in operator's session (OWASP ASVS 3.3): the browser's cookie holds only a random id, and
    only its SHA-256 is stored, so a copy of the database cannot be replayed as a cookie. Revoking the
    row (sign-out, a new password, an admin disabling or re-roling the account) ends the session even
    for a cookie captured earlier."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Absolute end ([web] session_hours after sign-in), whatever the activity.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- site-wide settings (issue 17): one value for every gate, kept here rather than in each gate.toml ----
class SiteSetting(Base):
    """One site-wide key (gate.config.sitewide), its value as JSON, checked as gate.toml would check it."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # "section.key", e.g. "retention.template_days"
    value: Mapped[str] = mapped_column(Text)  # JSON: a number, true/false or a string
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(64))


class SiteSettingsVersion(Base):
    """One row: bumped (under its row lock) by every change, so each gate polls one number to see one."""

    __tablename__ = "site_settings_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class GateHeartbeat(Base):
    """A running gate service says "I am here" every few seconds (gate.service.heartbeat): which host and
    process, which release, how far its clock is from the database's, and its state. `gate gates list`
    and the web UI's Site page show it; a second process starting with the same `[gate] name` sees a
    fresh row from another process and refuses to start. One row per gate, the latest writer's."""

    __tablename__ = "gate_heartbeats"

    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    #: Random per process start: tells a restarted process from the one before it on the same host.
    instance: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    #: "running", "degraded" or "stopped" (written at a clean stop).
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The database's clock when the row was written, so ages compare on one clock whatever the gates' skew.
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The gate's clock minus the database's, in seconds (positive: the gate is fast).
    clock_offset_seconds: Mapped[float | None] = mapped_column()


class AlarmAcknowledgement(Base):
    """An operator saw one raising of an alarm at a gate (gate.store.alarm_acks): the operator UI's banner
    stops showing it. The raising is named by the gate, the alarm and when it was raised; a new raising
    needs its own acknowledgement. Also in the audit log."""

    __tablename__ = "alarm_acknowledgements"
    __table_args__ = (UniqueConstraint("gate_name", "alarm", "raised_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gate_name: Mapped[str] = mapped_column(String(64))
    alarm: Mapped[str] = mapped_column(String(32))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SchemaRevision(Base):
    """Every migration revision the newest code that upgraded this database knew, and whether the code of
    the revision before it may keep working on it (`compatible_with_previous` in the migration module).
    An older release meeting a newer schema reads this table, since it cannot know the newer files."""

    __tablename__ = "schema_revisions"

    revision: Mapped[str] = mapped_column(String(32), primary_key=True)
    down_revision: Mapped[str | None] = mapped_column(String(32))
    compatible_with_previous: Mapped[bool] = mapped_column(Boolean)


__all__ = [
    "AccessEvent", "AuditEntry", "Base", "Card", "Consent", "DataKey", "FaceTemplate", "Gate",
    "ImpactAssessment", "Lockout", "Notice", "Operator", "OperatorRole", "OperatorSession", "Pin", "Resident",
    "ResidentStatus", "SiteSetting", "SiteSettingsVersion", "SystemState", "UTCDateTime", "GateHeartbeat",
    "SchemaRevision", "AlarmAcknowledgement",
    "Holiday", "PassbackPair", "PassbackPresence", "Schedule", "ScheduleAssignment", "ScheduleWindow",
]


class Visitor(Base):
    """A visitor code: where and when it opens and how many times. The code itself is never stored:
    `locator` finds the record, `code_hash` (argon2id) checks the secret digits (gate.core.visitors)."""

    __tablename__ = "visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(64), default="")  # what the operator typed, e.g. "plumber, 3-201"
    locator: Mapped[str] = mapped_column(String(8), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    entries: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)

    gates: Mapped[list[VisitorGate]] = relationship(cascade="all, delete-orphan")


class VisitorGate(Base):
    __tablename__ = "visitor_gates"

    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"), primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id", ondelete="CASCADE"), primary_key=True)
