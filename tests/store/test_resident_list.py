"""The residents list at scale: keyset pages, search (code, name, unit, card number), filters and sorts,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select

from gate.errors import PolicyError
from gate.store.models import Card, Resident, ResidentStatus
from gate.store.resident_query import ResidentFilter, ValidityStanding, groups, residents_page

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TODAY = date(2026, 12, 1)


def _validity(i: int) -> tuple[date | None, date | None]:
    """Every fourth resident ended yesterday, the next one starts tomorrow, the next one's last day is
    today (inclusive: current), starting today for half of those."""
    return {1: (None, date(2026, 11, 30)), 2: (date(2026, 12, 2), None),
            3: (TODAY if i % 8 == 3 else date(2026, 1, 1), TODAY)}.get(i % 4, (None, None))


def _fill(ctx) -> None:
    """130 residents; names repeat every 7 (ties broken by id), a few moved out, groups, faces, cards."""
    names = ["Wang Fang", "Li Na", "Zhang Wei", "Liu Yang", "Chen Jie", "王芳", "Li_%"]
    rows = [{"code": f"R{i:04d}", "name": names[i % 7],
             "unit": f"{i % 10}-{i:03d}", "status": ResidentStatus.MOVED_OUT if i % 13 == 0 else ResidentStatus.ACTIVE,
             "is_minor": False, "group_name": "staff" if i % 5 == 0 else None,
             "face_pseudonym": f"p{i}" if i % 11 == 0 else None, "created_at": NOW,
             "valid_from": _validity(i)[0], "valid_until": _validity(i)[1]} for i in range(130)]
    with ctx.transaction() as session:
        session.execute(insert(Resident), rows)
        ids = {code: rid for code, rid in session.execute(select(Resident.code, Resident.id))}
        session.execute(insert(Card), [{"uid": str(12345600 + i), "resident_id": ids[f"R{i:04d}"], "label": "",
                                        "created_at": NOW} for i in range(0, 130, 3)])


def _walk(session, flt: ResidentFilter, size: int = 9) -> list[Resident]:
    seen: list[Resident] = []
    cursor = None
    while True:
        rows, cursor = residents_page(session, flt, after=cursor, size=size)
        seen += rows
        if cursor is None:
            return seen


def test_pages_search_and_filters(any_copied_ctx) -> None:
    """One installation per backend for the three checks: a PostgreSQL database costs seconds to make."""
    any_ctx = any_copied_ctx
    _fill(any_ctx)
    _pages_in_every_order_visit_each_resident_once(any_ctx)
    _search_finds_code_name_unit_and_card_number(any_ctx)
    _filters_combine(any_ctx)


def _pages_in_every_order_visit_each_resident_once(any_ctx) -> None:
    with any_ctx.sessions() as session:
        for sort in ("name", "-name", "unit", "-unit", "code", "-code"):
            seen = _walk(session, ResidentFilter(sort=sort))
            key = sort.lstrip("-")
            assert len(seen) == 130 and len({r.id for r in seen}) == 130, sort
            pairs = [(getattr(r, key), r.id) for r in seen]
            assert pairs == sorted(pairs, reverse=sort.startswith("-")), sort


def _search_finds_code_name_unit_and_card_number(any_ctx) -> None:
    with any_ctx.sessions() as session:
        codes = lambda **kw: sorted(r.code for r in _walk(session, ResidentFilter(**kw)))  # noqa: E731
        assert codes(search="R0042") == ["R0042"]
        assert len(codes(search="zhang")) == len([i for i in range(130) if i % 7 == 2])  # any case
        assert codes(search="王") == [f"R{i:04d}" for i in range(130) if i % 7 == 5]
        assert codes(search="3-073") == ["R0073"]
        assert codes(search="12345678") == ["R0078"]  # a card number, canonical
        assert codes(search="0x00BC614E") == ["R0078"]  # the same card typed as hex
        # Wildcards a person types are literal: only the name "Li_%" has an underscore and a percent sign.
        assert codes(search="_%") == [f"R{i:04d}" for i in range(130) if i % 7 == 6]
        assert codes(search="nobody") == []


def _filters_combine(any_ctx) -> None:
    with any_ctx.sessions() as session:
        count = lambda **kw: len(_walk(session, ResidentFilter(**kw)))  # noqa: E731
        assert count(status=ResidentStatus.MOVED_OUT) == len(range(0, 130, 13))
        assert count(group="staff") == 26 and count(group="") == 104
        assert count(has_face=True) == len(range(0, 130, 11)) and count(has_face=False) == 130 - 12
        both = [i for i in range(130) if i % 5 == 0 and i % 11 == 0 and i % 13]
        assert count(group="staff", has_face=True, status=ResidentStatus.ACTIVE) == len(both)
        assert count(search="li na", group="staff") == len([i for i in range(130) if i % 7 == 1 and i % 5 == 0])
        assert groups(session) == ["staff"]
        standing = lambda kind, **kw: count(validity=kind, today=TODAY, **kw)  # noqa: E731
        assert standing(ValidityStanding.ENDED) == len(range(1, 130, 4))
        assert standing(ValidityStanding.NOT_YET) == len(range(2, 130, 4))
        assert standing(ValidityStanding.CURRENT) == len([i for i in range(130) if i % 4 in (0, 3)])
        assert standing(ValidityStanding.ENDED, status=ResidentStatus.ACTIVE) == len(
            [i for i in range(1, 130, 4) if i % 13])
        # The same residents read a day later: those whose last day was today have ended too.
        assert count(validity=ValidityStanding.ENDED, today=date(2026, 12, 2)) == len(
            [i for i in range(130) if i % 4 in (1, 3)])


def test_a_validity_filter_needs_the_site_date() -> None:
    with pytest.raises(ValueError, match="today"):
        ResidentFilter(validity=ValidityStanding.CURRENT)


def test_unknown_sort_is_refused() -> None:
    with pytest.raises(PolicyError):
        ResidentFilter(sort="birth_date")


def test_damaged_cursor_is_refused(ctx) -> None:
    with ctx.sessions() as session, pytest.raises(PolicyError, match="page link"):
        residents_page(session, ResidentFilter(), after="!!not-a-cursor")
