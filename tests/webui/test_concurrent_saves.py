"""The same resident code (or card) saved in two operator UIs at once: the second gets the usual
one-sentence conflict, not HTTP 500. Two real sessions on PostgreSQL (the shared database of a site with
several gates): the first has inserted and not committed when the second's check runs, so only the
database's unique index can tell them apart."""

from __future__ import annotations

import html
import threading
import time

import pytest
from sqlalchemy import text

from gate.context import GateContext
from gate.store import residents
from tests.conftest import _postgres_database, make_installation
from tests.webui.conftest import AuthActions
from webui import create_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ctx(tmp_path):
    for url in _postgres_database():
        ctx = GateContext.open(make_installation(tmp_path / "data", url))
        yield ctx
        ctx.close()


def wait_until_blocked(ctx: GateContext, timeout: float = 30.0) -> None:
    """Until a statement of this test's database waits on a lock (the second insert behind the first's
    uncommitted one). Scoped to the database: another test on another worker may be waiting on a lock of
    its own, and counting that once let the first session commit before the second insert was made."""
    deadline = time.monotonic() + timeout
    with ctx.engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock'")).scalar_one():
                return
            connection.rollback()  # pg_stat_activity is a snapshot held until the transaction ends
            time.sleep(0.05)
    raise AssertionError("the second save never reached the database")


def race(ctx: GateContext, first, second_request) -> object:
    """`first(session)` inserts in one session and holds it open; the UI request runs meanwhile."""
    session = ctx.sessions()
    session.begin()
    first(session)
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(second_request()))
    thread.start()
    wait_until_blocked(ctx)
    session.commit()
    session.close()
    thread.join(60)
    return result[0]


def test_the_same_resident_code_saved_in_two_uis_at_once(pg_ctx):
    app = create_app(pg_ctx, config={"TESTING": True})
    auth = AuthActions(app.test_client(), pg_ctx)
    auth.login()
    token = auth.token("/residents/new")

    response = race(pg_ctx, lambda s: residents.add_resident(s, code="R7", name="First", actor="other-ui"),
                    lambda: auth.client.post("/residents/new", data={"code": "R7", "name": "Second",
                                                                       "csrf_token": token}))
    assert response.status_code == 400
    assert "A resident with code 'R7' was just saved by someone else" in html.unescape(response.get_data(as_text=True))
    assert [r.name for r in residents.list_residents(pg_ctx.sessions(), "R7")] == ["First"]


def test_the_same_card_added_in_two_uis_at_once(pg_ctx):
    with pg_ctx.transaction() as session:
        residents.add_resident(session, code="A1", name="Alice", actor="test")
        residents.add_resident(session, code="B1", name="Bob", actor="test")
    app = create_app(pg_ctx, config={"TESTING": True})
    auth = AuthActions(app.test_client(), pg_ctx)
    auth.login()
    token = auth.token("/residents/B1")

    def first(session):
        residents.add_card(session, residents.get_resident(session, "A1"), "123:45678", actor="other-ui")

    response = race(pg_ctx, first, lambda: auth.client.post("/residents/B1/cards", data={
        "number": "123:45678", "csrf_token": token}, follow_redirects=True))
    assert response.status_code == 200
    assert "was just registered by someone else" in response.get_data(as_text=True)
