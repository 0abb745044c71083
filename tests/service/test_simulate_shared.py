"""`gate serve --simulate` keeps its demo data out of a site's shared database, and seeding the demo data
twice at once (two simulators on one database) does not fail either of them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from gate.context import GateContext
from gate.service.demo import DEMO_CODE, seed_demo
from gate.store.models import Card, Resident
from tests.conftest import GateCli


@pytest.mark.postgres
def test_simulate_refuses_a_shared_postgresql_database_and_writes_nothing(tmp_path):
    from tests.conftest import _postgres_database, make_installation

    for url in _postgres_database():
        data_dir = make_installation(tmp_path / "north", url)
        result = GateCli(data_dir)("serve", "--simulate", "--port", "0")
        assert result.exit_code == 1
        assert "runs only on a gate's own SQLite database, not on the postgresql database" in result.stderr
        ctx = GateContext.open(data_dir)
        try:
            with ctx.sessions() as session:
                assert session.scalar(select(Resident.id).where(Resident.code == DEMO_CODE)) is None
                assert session.scalar(select(func.count(Card.id))) == 0
        finally:
            ctx.close()


def test_two_simulators_seeding_one_database_at_once_both_succeed(any_data_dir):
    contexts = [GateContext.open(any_data_dir) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def seed(ctx: GateContext) -> None:
        start.wait()
        try:
            seed_demo(ctx)
        except BaseException as err:  # noqa: BLE001 - the test reports any failure
            errors.append(err)

    threads = [threading.Thread(target=seed, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        with contexts[0].sessions() as session:
            assert session.scalar(select(func.count(Resident.id)).where(Resident.code == DEMO_CODE)) == 1
    finally:
        for c in contexts:
            c.close()
