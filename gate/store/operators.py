"""Operator accounts for the web UI: argon2id passwords, roles, and a login lockout that grows.

A wrong password counts against the account; after `MAX_FAILURES` in a row the account is locked for
`BASE_LOCK` doubled on each further lockout (capped), so guessing online is slow even when the caller
spreads attempts across addresses. Unknown usernames cost the same hash verification as known ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gate.clock import utcnow
from gate.errors import ConflictError, NotFoundError, PolicyError
from gate.secrets import passwords
from gate.store import audit
from gate.store.models import Operator, OperatorRole

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
MAX_FAILURES = 5
BASE_LOCK = timedelta(seconds=60)
MAX_LOCK = timedelta(hours=1)
_DUMMY_PASSWORD = "not-a-real-password-0"


def parse_role(text: str) -> OperatorRole:
    try:
        return OperatorRole(text.strip().lower())
    except ValueError as err:
        raise PolicyError(f"Unknown role {text!r}: roles are admin, operator, auditor.") from err


def any_operator(session: Session) -> bool:
    return session.scalar(select(Operator.id).limit(1)) is not None


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count(Operator.id)).where(
        Operator.role == OperatorRole.ADMIN, Operator.active.is_(True))) or 0


def get_operator(session: Session, username: str) -> Operator:
    operator = session.scalar(select(Operator).where(Operator.username == username))
    if operator is None:
        raise NotFoundError(f"No operator named {username!r}.")
    return operator


def list_operators(session: Session) -> list[Operator]:
    return list(session.scalars(select(Operator).order_by(Operator.username)))


def create_operator(session: Session, hasher: PasswordHasher, *, username: str, password: str,
                    role: OperatorRole, actor: str, now: datetime | None = None) -> Operator:
    if not USERNAME_PATTERN.fullmatch(username):
        raise PolicyError("A username is 2-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    passwords.check_password_strength(password)
    if session.scalar(select(Operator.id).where(Operator.username == username)) is not None:
        raise ConflictError(f"An operator named {username!r} exists already.")
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
        raise ConflictError("An operator exists already: sign in and add operators from Settings.")
    return create_operator(session, hasher, username=username, password=password, role=OperatorRole.ADMIN,
                           actor=f"setup:{username}", now=now)


def set_role(session: Session, operator: Operator, role: OperatorRole, *, actor: str) -> None:
    if operator.role is OperatorRole.ADMIN and role is not OperatorRole.ADMIN and operator.active \
            and count_admins(session) <= 1:
        raise PolicyError("This is the last active admin; make another admin first.")
    operator.role = role
    audit.record(session, actor, "operator.role", f"operator:{operator.username}", role=role.value)


def set_active(session: Session, operator: Operator, active: bool, *, actor: str) -> None:
    if not active and operator.role is OperatorRole.ADMIN and operator.active and count_admins(session) <= 1:
        raise PolicyError("This is the last active admin; make another admin first.")
    operator.active = active
    audit.record(session, actor, "operator.activate" if active else "operator.deactivate",
                 f"operator:{operator.username}")


def set_password(session: Session, hasher: PasswordHasher, operator: Operator, password: str, *,
                 actor: str) -> None:
    passwords.check_password_strength(password)
    operator.password_hash = hasher.hash(password)
    operator.failed_logins = 0
    operator.locked_until = None
    audit.record(session, actor, "operator.credential", f"operator:{operator.username}")


@dataclass(frozen=True)
class LoginResult:
    operator: Operator | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.operator is not None


FAILED = "Wrong username or password."


def authenticate(session: Session, hasher: PasswordHasher, username: str, password: str, *,
                 now: datetime | None = None) -> LoginResult:
    """Check a login; counts failures and locks the account. The caller commits."""
    now = now or utcnow()
    operator = session.scalar(select(Operator).where(Operator.username == username))
    if operator is None:
        passwords.verify(hasher, hasher.hash(_DUMMY_PASSWORD), password)  # same cost as a real account
        return LoginResult(None, FAILED)
    if operator.locked_until is not None and now < operator.locked_until:
        wait = int((operator.locked_until - now).total_seconds()) + 1
        return LoginResult(None, f"Too many failed sign-ins: this account is locked for {wait} more seconds.")
    if not passwords.verify(hasher, operator.password_hash, password):
        operator.failed_logins += 1
        if operator.failed_logins >= MAX_FAILURES:
            lockouts = operator.failed_logins // MAX_FAILURES - 1
            delay = min(BASE_LOCK * 2**lockouts, MAX_LOCK)
            operator.locked_until = now + delay
            audit.record(session, "system", "operator.locked", f"operator:{operator.username}",
                         failures=operator.failed_logins, seconds=int(delay.total_seconds()))
        return LoginResult(None, FAILED)
    if not operator.active:
        return LoginResult(None, "This account is disabled; ask an admin.")
    if hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = hasher.hash(password)
    operator.failed_logins = 0
    operator.locked_until = None
    audit.record(session, operator.username, "operator.login", f"operator:{operator.username}")
    return LoginResult(operator)
