"""Operator sessions in the database (revocable, idle and absolute ends), the password policy, and the
same policy at `gate admin` (finding 7). Sessions run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from gate.context import GateContext
from gate.errors import PolicyError
from gate.secrets.passwords import check_password_strength
from gate.store import db
from gate.store import operators as operator_service
from gate.store.models import Operator, OperatorRole, OperatorSession
from tests.conftest import GateCli

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
IDLE = timedelta(minutes=15)
LIFETIME = timedelta(hours=12)
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
STRONG = "correct horse battery"


def _operator(ctx: GateContext, username: str = "clerk", role: OperatorRole = OperatorRole.OPERATOR) -> int:
    with ctx.transaction() as session:
        return operator_service.create_operator(session, FAST, username=username, password=STRONG, role=role,
                                                actor="test", now=T0).id


def _open(ctx: GateContext, op_id: int, at: datetime = T0) -> str:
    with ctx.transaction() as session:
        op = session.get(Operator, op_id)
        assert op is not None
        return operator_service.open_session(session, op, lifetime=LIFETIME, now=at)


def _check(ctx: GateContext, token: str, at: datetime) -> str:
    with ctx.transaction() as session:
        result = operator_service.check_session(session, token, idle=IDLE, now=at)
        return "ok" if result.operator is not None else result.ended


def test_sessions_end_idle_absolute_and_on_revocation(any_ctx: GateContext) -> None:
    op_id = _operator(any_ctx)
    token = _open(any_ctx, op_id)
    assert _check(any_ctx, token, T0 + timedelta(minutes=10)) == "ok"
    assert _check(any_ctx, token, T0 + timedelta(minutes=24)) == "ok"  # seen at 10: not idle yet
    assert _check(any_ctx, token, T0 + timedelta(minutes=40)) == "idle"
    assert _check(any_ctx, token, T0 + timedelta(minutes=41)) == "revoked"  # and it stays ended

    busy = _open(any_ctx, op_id)
    at = T0
    while at + timedelta(minutes=14) < T0 + LIFETIME:
        at += timedelta(minutes=14)
        assert _check(any_ctx, busy, at) == "ok"
    assert _check(any_ctx, busy, T0 + LIFETIME) == "expired"

    gone = _open(any_ctx, op_id)
    with any_ctx.transaction() as session:
        operator_service.revoke_session(session, gone, now=T0)
    assert _check(any_ctx, gone, T0 + timedelta(seconds=1)) == "revoked"
    assert _check(any_ctx, "not-a-session-id", T0) == "unknown"


def test_only_the_hash_of_the_session_id_is_stored(any_ctx: GateContext) -> None:
    token = _open(any_ctx, _operator(any_ctx))
    with any_ctx.sessions() as session:
        row = session.scalars(select(OperatorSession)).one()
    import hashlib

    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert len(token) >= 43  # 256 random bits (ASVS 3.2.2 wants at least 64)


@pytest.mark.parametrize("change", ["password", "role", "disable"])
def test_account_changes_revoke_every_session_of_that_operator(any_ctx: GateContext, change: str) -> None:
    op_id = _operator(any_ctx)
    bystander = _open(any_ctx, _operator(any_ctx, "other"))
    tokens = [_open(any_ctx, op_id), _open(any_ctx, op_id)]
    with any_ctx.transaction() as session:
        op = session.get(Operator, op_id)
        assert op is not None
        if change == "password":
            operator_service.set_password(session, FAST, op, "a different passphrase", actor="admin", now=T0)
        elif change == "role":
            operator_service.set_role(session, op, OperatorRole.AUDITOR, actor="admin", now=T0)
        else:
            operator_service.set_active(session, op, False, actor="admin", now=T0)
    assert [_check(any_ctx, t, T0 + timedelta(minutes=1)) for t in tokens] == ["revoked", "revoked"]
    assert _check(any_ctx, bystander, T0 + timedelta(minutes=1)) == "ok"


def test_one_answer_for_unknown_wrong_locked_and_disabled(any_ctx: GateContext) -> None:
    _operator(any_ctx, "keeper")
    _operator(any_ctx, "idle")
    with any_ctx.transaction() as session:
        idle = operator_service.get_operator(session, "idle")
        operator_service.set_active(session, idle, False, actor="test")

    def answer(username: str, password: str) -> str:
        with any_ctx.transaction() as session:
            result = operator_service.authenticate(session, FAST, username, password, now=T0)
            return "signed in" if result.ok else result.message

    answers = [answer("nobody", "x"), answer("keeper", "wrong"), answer("idle", STRONG)]
    for _ in range(operator_service.MAX_FAILURES - 1):
        answer("keeper", "wrong")
    answers.append(answer("keeper", STRONG))  # locked: the right password is refused alike
    assert answers == [operator_service.FAILED] * 4


@pytest.mark.parametrize("weak", ["password12", "1234567890", "aaaaaaaaaa", "password1234", "aaaaaaaaaaaa",
                                  "123456789012", "qwertyuiop12", "iloveyou1234"])
def test_short_and_common_passwords_are_refused_in_one_sentence(weak: str) -> None:
    with pytest.raises(PolicyError) as refused:
        check_password_strength(weak)
    message = str(refused.value)
    assert message.endswith(".") and message.count(". ") == 0


@pytest.mark.parametrize("good", [STRONG, "gatekeeper on duty", "Tr0ub4dor&3 staple"])
def test_passphrases_are_accepted(good: str) -> None:
    check_password_strength(good)


def test_gate_admin_applies_the_password_policy(gate_cli: GateCli) -> None:
    for weak in ("password12", "1234567890", "aaaaaaaaaa", "password1234"):
        refused = gate_cli("admin", "create", "root", input=weak + "\n")
        assert refused.exit_code == 1 and refused.stderr.startswith("Error: ")
    assert "created admin root" in gate_cli.ok("admin", "create", "root", input=STRONG + "\n")
    again = gate_cli("admin", "password", "root", input="password1234\n")
    assert again.exit_code == 1 and "common" in again.stderr


def test_migration_0004_goes_down_and_up(any_ctx: GateContext) -> None:
    from alembic import command

    engine = any_ctx.engine
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert db.current_revision(engine) == "0002"
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
