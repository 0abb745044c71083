"""The residents page: pages of 50 instead of every row, sort links, filters, refusals of bad values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from gate.store.face_standing import site_today
from gate.store.models import OperatorRole, Resident, ResidentStatus

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _fill(gctx, count: int) -> None:
    with gctx.transaction() as session:
        session.execute(insert(Resident), [
            {"code": f"C{i:04d}", "name": f"Name {count - i:04d}", "unit": f"U{i % 4}", "is_minor": False,
             "status": ResidentStatus.ACTIVE if i % 2 else ResidentStatus.MOVED_OUT,
             "group_name": "guards" if i % 10 == 0 else None, "created_at": NOW} for i in range(count)])


def _codes(page: str) -> list[str]:
    return re.findall(r'<a href="/residents/(C\d{4})">', page)


def _next(page: str) -> str | None:
    match = re.search(r'href="([^"]+)" rel="next"', page)
    return match.group(1).replace("&amp;", "&") if match else None


def test_list_is_paged_and_sorted_and_the_pages_cover_everyone(client, auth, gctx) -> None:
    _fill(gctx, 120)
    auth.login("op", OperatorRole.OPERATOR)
    first = client.get("/residents").get_data(as_text=True)
    assert len(_codes(first)) == 50
    assert _codes(first)[0] == "C0119"  # sorted by name: "Name 0001" belongs to C0119
    url: str | None = "/residents?sort=code"
    seen: list[str] = []
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += _codes(page)
        url = _next(page)
    assert seen == [f"C{i:04d}" for i in range(120)]
    assert 'href="/residents?sort=-code"' in client.get("/residents?sort=code").get_data(as_text=True)


def test_filters_and_search_on_the_page(client, auth, gctx) -> None:
    _fill(gctx, 60)
    auth.login("op", OperatorRole.OPERATOR)
    codes = lambda q: _codes(client.get("/residents?" + q).get_data(as_text=True))  # noqa: E731
    assert sorted(codes("group=guards&sort=code")) == [f"C{i:04d}" for i in range(0, 60, 10)]
    assert len(codes("status=active")) == 30
    assert codes("q=name+0060") == ["C0000"]
    assert len(codes("face=no&group=-")) == 50 and codes("face=yes") == []
    for bad in ("status=gone", "face=maybe", "sort=password", "after=%21%21"):
        assert client.get("/residents?" + bad).status_code == 400, bad


def test_the_validity_filter_reads_the_site_date(client, auth, gctx) -> None:
    today = site_today(gctx.clock(), gctx.settings.site.timezone)
    day = timedelta(days=1)
    periods = {"C0001": (None, today - day), "C0002": (today + day, None), "C0003": (today, today),
               "C0004": (None, None)}
    with gctx.transaction() as session:
        session.execute(insert(Resident), [
            {"code": code, "name": code, "unit": "", "is_minor": False, "status": ResidentStatus.ACTIVE,
             "created_at": NOW, "valid_from": start, "valid_until": until} for code, (start, until) in periods.items()])
    auth.login("op", OperatorRole.OPERATOR)
    codes = lambda q: sorted(_codes(client.get("/residents?" + q).get_data(as_text=True)))  # noqa: E731
    assert codes("validity=ended") == ["C0001"]
    assert codes("validity=not_yet") == ["C0002"]
    assert codes("validity=current") == ["C0003", "C0004"]
    assert codes("validity=") == ["C0001", "C0002", "C0003", "C0004"]
    page = client.get("/residents?validity=not_yet").get_data(as_text=True)
    assert '<option value="not_yet" selected>' in page
    assert client.get("/residents?validity=someday").status_code == 400


def test_renewals_are_paged_by_code(client, auth, gctx) -> None:
    """120 guardian consents of residents who are no longer under 14: every one must be renewed."""
    from sqlalchemy import select

    from gate.store.models import Consent, Notice

    _fill(gctx, 120)
    with gctx.transaction() as session:
        notice_id = session.scalar(select(Notice.id).where(Notice.published_at.is_not(None)))
        ids = list(session.scalars(select(Resident.id).where(Resident.status == ResidentStatus.ACTIVE)))
        session.execute(insert(Consent), [
            {"resident_id": rid, "notice_id": notice_id, "purpose": "face", "retention_days": 365, "operator": "t",
             "granted_at": NOW, "guardian_name": "Guardian"} for rid in ids])
    auth.login("op", OperatorRole.OPERATOR)
    url: str | None = "/residents/renewals"
    seen: list[str] = []
    while url:
        page = client.get(url).get_data(as_text=True)
        codes = re.findall(r'<a href="/residents/(C\d{4})/enroll', page) or re.findall(r">(C\d{4})</a>", page)
        assert len(codes) <= 50
        seen += codes
        url = _next(page)
    assert seen == sorted(f"C{i:04d}" for i in range(120) if i % 2)
