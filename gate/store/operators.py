"""Operator accounts for the web UI: argon2id passwords, roles, and a login lockout that grows.

A wrong password counts against the account; after `MAX_FAILURES` in a row the account is locked for
`BASE_LOCK` doubled on each further lockout (capped), so guessing online is slow even when the caller
spreads attempts across addresses. Unknown usernames cost the same single hash verification as known
ones, and every failed sign-in (unknown name, wrong password, locked or disabled account) gets the same
answer, so the sign-in page does not tell which usernames exist (OWASP ASVS 2.2.1, 3.2).

Sessions live in `operator_sessions` (ASVS 3.3): the browser holds a random id, the table its SHA-256,
with an idle and an absolute end. Signing out, a new password, and an admin disabling the account or
changing its role revoke them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.i18n import locales
from gate.i18n.marker import N_
from gate.secrets import passwords
from gate.store import audit
from gate.store.models import Operator, OperatorRole, OperatorSession

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
MAX_FAILURES = 5
BASE_LOCK = timedelta(seconds=60)
MAX_LOCK = timedelta(hours=1)
_DUMMY_PASSWORD = "not-a-real-password-0"
#: How stale `last_seen_at` may get before a request writes it again: not a database write per page,
#: at the price of an idle end up to this much later than [web] idle_minutes says.
SEEN_RESOLUTION = timedelta(seconds=15)
#: Expired and revoked rows are kept this long (to answer "was this session ended?") and then deleted.
SESSION_KEEP = timedelta(days=7)
_dummy_hashes: dict[tuple[object, ...], str] = {}
_dummy_lock = threading.Lock()


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash made once per hasher parameters: verifying an unknown username against it costs one
    verification, exactly like a known one (hashing it per attempt had doubled the cost and told)."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len, hasher.type)
    with _dummy_lock:
        if key not in _dummy_hashes:
            _dummy_hashes[key] = hasher.hash(_DUMMY_PASSWORD)
        return _dummy_hashes[key]


def prepare(hasher: PasswordHasher) -> None:
    """Make the dummy hash before the first sign-in, so that sign-in is not the slow one."""
    _dummy_hash(hasher)


def parse_role(text: str) -> OperatorRole:
    try:
        return OperatorRole(text.strip().lower())
    except ValueError as err:
        raise PolicyError.of(N_("Unknown role %(role)r: roles are admin, operator, auditor."), role=text) from err


def any_operator(session: Session) -> bool:
    return session.scalar(select(Operator.id).limit(1)) is not None


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count(Operator.id)).where(
        Operator.role == OperatorRole.ADMIN, Operator.active.is_(True))) or 0


def get_operator(session: Session, username: str) -> Operator:
    operator = session.scalar(select(Operator).where(Operator.username == username))
    if operator is None:
        raise NotFoundError.of(N_("No operator named %(name)r."), name=username)
    return operator


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.username)))


def create_operator(session: Session, hasher: PasswordHasher, *, username: str, password: str,
                    role: OperatorRole, actor: str, now: datetime | None = None) -> Operator:
    if not USERNAME_PATTERN.fullmatch(username):
        raise PolicyError.of(N_("A username is 2-64 letters, digits, '.', '_' or '-', starting with a letter or "
                                "digit."))
    passwords.check_password_strength(password)
    if session.scalar(select(Operator.id).where(Operator.username == username)) is not None:
        raise ConflictError.of(N_("An operator named %(name)r exists already."), name=username)
    operator = Operator(username=username, password_hash=hasher.hash(password), role=role, active=True,
                        failed_logins=0, created_at=now or utcnow())
    session.add(operator)
    session.flush()
    audit.record(session, actor, "operator.create", f"operator:{username}", role=role.value)
    return operator


def create_first_admin(session: Session, hasher: PasswordHasher, *, username: str, password: str,
                       now: datetime | None = None) -> Operator:
    """Only while no operator exists: the first-run page cannot be used to add a second admin."""
    if any_operator(session):
        raise ConflictError.of(N_("An operator exists already: sign in and add operators from Settings."))
    return create_operator(session, hasher, username=username, password=password, role=OperatorRole.ADMIN,
                           actor=f"setup:{username}", now=now)


LAST_ADMIN = N_("This is the last active admin; make another admin first.")


def set_language(session: Session, operator: Operator, language: str | None) -> None:
    """The operator's own language for the web UI; None follows the site's. Not audited: it changes how
    pages read to this operator, nothing about who may do what."""
    if language is not None and not locales.is_supported(language):
        raise PolicyError.of(N_("Choose one of the offered languages: %(languages)s."),
                             languages=", ".join(locales.NATIVE_NAMES.values()))
    operator.language = language


def set_role(session: Session, operator: Operator, role: OperatorRole, *, actor: str,
             now: datetime | None = None) -> None:
    """A changed role ends the operator's sessions: a demoted admin's open page must not keep its rights."""
    if operator.role is OperatorRole.ADMIN and role is not OperatorRole.ADMIN and operator.active \
            and count_admins(session) <= 1:
        raise PolicyError.of(LAST_ADMIN)
    if operator.role is not role:
        revoke_sessions(session, operator, now=now)
    operator.role = role
    audit.record(session, actor, "operator.role", f"operator:{operator.username}", role=role.value)


def set_active(session: Session, operator: Operator, active: bool, *, actor: str,
               now: datetime | None = None) -> None:
    if not active and operator.role is OperatorRole.ADMIN and operator.active and count_admins(session) <= 1:
        raise PolicyError.of(LAST_ADMIN)
    if not active:
        revoke_sessions(session, operator, now=now)
    operator.active = active
    audit.record(session, actor, "operator.activate" if active else "operator.deactivate",
                 f"operator:{operator.username}")


def set_password(session: Session, hasher: PasswordHasher, operator: Operator, password: str, *,
                 actor: str, now: datetime | None = None) -> None:
    """A new password ends every session of the account: whoever knew the old one may hold one. (The web
    UI then opens a fresh session for the browser the operator changed their own password from.)"""
    passwords.check_password_strength(password)
    operator.password_hash = hasher.hash(password)
    operator.failed_logins = 0
    operator.locked_until = None
    revoke_sessions(session, operator, now=now)
    audit.record(session, actor, "operator.credential", f"operator:{operator.username}")


# -- sessions -------------------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(session: Session, operator: Operator, *, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new session for a signed-in operator; returns the random id for the cookie (only its hash is kept)."""
    now = now or utcnow()
    session.execute(delete(OperatorSession).where(OperatorSession.expires_at < now - SESSION_KEEP))
    token = secrets.token_urlsafe(32)
    session.add(OperatorSession(token_hash=_token_hash(token), operator_id=operator.id, created_at=now,
                                last_seen_at=now, expires_at=now + lifetime))
    session.flush()
    return token


@dataclass(frozen=True)
class SessionCheck:
    operator: Operator | None
    #: Why there is no operator: "unknown", "revoked", "expired", "idle" or "disabled".
    ended: str = ""


def check_session(session: Session, token: str, *, idle: timedelta, now: datetime | None = None) -> SessionCheck:
    """The operator behind a cookie's session id, or why not. Refreshes the idle clock; the caller commits."""
    now = now or utcnow()
    row = session.scalar(select(OperatorSession).where(OperatorSession.token_hash == _token_hash(token)))
    if row is None:
        return SessionCheck(None, "unknown")
    if row.revoked_at is not None:
        return SessionCheck(None, "revoked")
    if now >= row.expires_at:
        row.revoked_at = now
        return SessionCheck(None, "expired")
    if now - row.last_seen_at > idle:
        row.revoked_at = now
        return SessionCheck(None, "idle")
    operator = session.get(Operator, row.operator_id)
    if operator is None or not operator.active:
        row.revoked_at = now
        return SessionCheck(None, "disabled")
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        row.last_seen_at = now
    return SessionCheck(operator)


def revoke_session(session: Session, token: str, *, now: datetime | None = None) -> None:
    session.execute(update(OperatorSession).where(OperatorSession.token_hash == _token_hash(token),
                                                  OperatorSession.revoked_at.is_(None))
                    .values(revoked_at=now or utcnow()))


def revoke_sessions(session: Session, operator: Operator, *, now: datetime | None = None) -> int:
    """End every open session of `operator`; returns how many were open."""
    result = session.execute(update(OperatorSession).where(OperatorSession.operator_id == operator.id,
                                                           OperatorSession.revoked_at.is_(None))
                             .values(revoked_at=now or utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class LoginResult:
    operator: Operator | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.operator is not None


#: The one answer to every failed sign-in: it must not tell an unknown username, a wrong password and a
#: locked or disabled account apart, yet a locked-out operator needs to know what to do.
FAILED = N_("Wrong username or password, or the account is locked after repeated failures or disabled: "
            "check them, wait a few minutes, or ask an admin.")


def _failed(session: Session, username: str, address: str, reason: str, now: datetime) -> LoginResult:
    """Audited (PIPL 51: who tried, when, from where), never with the password; the answer stays `FAILED`."""
    audit.record(session, "anonymous", "operator.login_failed", f"operator:{username}", now=now, reason=reason,
                 address=address)
    return LoginResult(None, FAILED)


def authenticate(session: Session, hasher: PasswordHasher, username: str, password: str, *,
                 now: datetime | None = None, address: str = "") -> LoginResult:
    """Check a login; counts failures, locks the account and audits every failure. The caller commits.

    Every path costs one argon2 verification and ends in the same `FAILED` answer."""
    now = now or utcnow()
    operator = session.scalar(select(Operator).where(Operator.username == username))
    if operator is None:
        passwords.verify(hasher, _dummy_hash(hasher), password)
        return _failed(session, username, address, "unknown username", now)
    if operator.locked_until is not None and now < operator.locked_until:
        # Verified anyway: answering a locked account faster than a wrong password would tell it exists.
        passwords.verify(hasher, operator.password_hash, password)
        return _failed(session, username, address, "account locked", now)
    if not passwords.verify(hasher, operator.password_hash, password):
        operator.failed_logins += 1
        if operator.failed_logins >= MAX_FAILURES:
            lockouts = operator.failed_logins // MAX_FAILURES - 1
            delay = min(BASE_LOCK * 2**lockouts, MAX_LOCK)
            operator.locked_until = now + delay
            audit.record(session, "system", "operator.locked", f"operator:{operator.username}",
                         failures=operator.failed_logins, seconds=int(delay.total_seconds()))
        return _failed(session, username, address, "wrong password", now)
    if not operator.active:
        return _failed(session, username, address, "account disabled", now)
    if hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = hasher.hash(password)
    operator.failed_logins = 0
    operator.locked_until = None
    audit.record(session, operator.username, "operator.login", f"operator:{operator.username}")
    return LoginResult(operator)
