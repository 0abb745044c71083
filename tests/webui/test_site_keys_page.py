"""The Site page's key slots: approve a pending gate (the fingerprint compared on the page) and revoke a
gate, as `gate gates approve|revoke` do and audited the same way; admins only; the rotation a revocation
asks for is left to the gate service, never run inside the request."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import select

from gate.context import GateContext
from gate.store import shredding, site_keys
from gate.store.models import AuditEntry, OperatorRole
from tests.conftest import GateCli, _postgres_database, make_installation
from tests.store.site import write_config
from tests.webui.conftest import AuthActions
from webui import create_app


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[GateContext, Path, str]]:
    """north founded the site; south asked to join (pending). Yields north's context, south's data dir and
    the fingerprint `gate join` printed at south."""
    for url in _postgres_database():
        north_dir = make_installation(tmp_path / "north", url)
        GateCli(north_dir).ok("join", "--first", "--name", "north")
        south_dir = tmp_path / "south"
        write_config(south_dir, url)
        out = GateCli(south_dir).ok("join", "--name", "south")
        printed = out.split("--fingerprint ")[1].split()[0].rstrip("`")
        north = GateContext.open(north_dir)
        north.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        yield north, south_dir, printed
        north.close()


def _auth(north: GateContext) -> AuthActions:
    client: FlaskClient = create_app(north, config={"TESTING": True}).test_client()
    return AuthActions(client, north)


def _page(auth: AuthActions) -> str:
    return html.unescape(auth.client.get("/site").get_data(as_text=True))


def _row(page: str, gate: str) -> str:
    start = page.index(f'id="key-{gate}"')
    return page[start:page.index("</tr>", start)]


def _audit(north: GateContext, action: str) -> list[tuple[str, str]]:
    with north.sessions() as session:
        return [tuple(r) for r in session.execute(select(AuditEntry.actor, AuditEntry.subject)
                                                  .where(AuditEntry.action == action))]  # type: ignore[misc]


@pytest.mark.postgres
def test_an_admin_approves_a_pending_gate_on_the_site_page_with_the_fingerprint_compared(
        site: tuple[GateContext, Path, str]) -> None:
    north, south_dir, printed = site
    auth = _auth(north)
    auth.login()
    page = _page(auth)
    assert "approved" in _row(page, "north")
    south = _row(page, "south")
    assert "pending" in south and printed in south and "Approve" in south and "csrf_token" in south

    answer = auth.post("/site/keys/south/approve", {"fingerprint": "0000000000000000"}, token_from="/site",
                       follow_redirects=True)
    assert f"fingerprint {printed}, not 0000000000000000" in html.unescape(answer.get_data(as_text=True))
    assert "pending" in _row(_page(auth), "south")

    assert auth.client.post("/site/keys/south/approve", data={"fingerprint": printed}).status_code in (400, 403)
    assert "pending" in _row(_page(auth), "south")  # no CSRF token, no approval

    auth.post("/site/keys/south/approve", {"fingerprint": printed}, token_from="/site")
    assert "approved" in _row(_page(auth), "south")
    assert _audit(north, "site_key.approve") == [("admin", "gate:south")]
    south_ctx = GateContext.open(south_dir)
    try:
        assert south_ctx.key_file.load().current.id == north.key_file.load().current.id  # south holds the key
    finally:
        south_ctx.close()


@pytest.mark.postgres
def test_an_admin_revokes_a_gate_and_the_rotation_is_left_to_the_service(
        site: tuple[GateContext, Path, str]) -> None:
    north, _, printed = site
    auth = _auth(north)
    auth.login()
    auth.post("/site/keys/south/approve", {"fingerprint": printed}, token_from="/site")
    before = north.key_file.load().current.id
    answer = auth.post("/site/keys/south/revoke", token_from="/site", follow_redirects=True)
    assert "rotates the site key within minutes" in answer.get_data(as_text=True)
    assert 'id="key-south"' not in _page(auth)
    assert _audit(north, "site_key.revoke") == [("admin", "gate:south")]
    with north.sessions() as session:
        assert [s.gate for s in site_keys.slots(session)] == ["north"]
        assert shredding.follow_up_token(session) is not None  # the service's follow-up rotates
    assert north.key_file.load().current.id == before  # not rotated inside the request


@pytest.mark.postgres
def test_site_keys_are_approved_and_revoked_by_admins_only(site: tuple[GateContext, Path, str]) -> None:
    north, _, printed = site
    auth = _auth(north)
    auth.login("clerk", OperatorRole.OPERATOR)
    for action, data in (("approve", {"fingerprint": printed}), ("revoke", {})):
        assert auth.post(f"/site/keys/south/{action}", data).status_code == 403
    with north.sessions() as session:
        assert [(s.gate, s.state) for s in site_keys.slots(session)] == [("north", "approved"),
                                                                       ("south", "pending")]


def test_a_gate_without_a_site_key_lists_no_slots_and_cannot_approve(auth: AuthActions, gctx: GateContext) -> None:
    auth.login()
    assert "No gate has joined a site key" in _page(auth)
    answer = auth.post("/site/keys/south/approve", {"fingerprint": "ab"}, token_from="/site", follow_redirects=True)
    assert "holds no site key" in answer.get_data(as_text=True)
