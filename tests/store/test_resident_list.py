"""The residents list at scale: keyset pages, search (code, name, unit, card number), filters and sorts,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy import text as sql

from gate.errors import PolicyError
from gate.store import residents as resident_service
from gate.store import rights
from gate.store.models import Card, Resident, ResidentStatus
from gate.store.resident_query import (
    ResidentFilter,
    ValidityStanding,
    candidates,
    groups,
    residents_page,
    search_condition,
    trigrams,
)

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


# -- the trigram index (migration 0019) ---------------------------------------------------------------


def _stored_grams(session) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for gram, resident_id in session.execute(sql("SELECT gram, resident_id FROM resident_trigrams")):
        found.setdefault(resident_id, set()).add(gram)
    return found


def _expected_grams(session, *texts: str) -> set[str]:
    """The pieces of each text lowered by the database itself (SQLite folds ASCII only)."""
    return set().union(*(trigrams(session.scalar(select(func.lower(t)))) for t in texts))


def test_trigrams_follow_every_insert_rename_and_delete(any_ctx) -> None:
    """The database's triggers keep the index in step, whoever writes: the service and a bulk insert."""
    with any_ctx.transaction() as session:
        one = resident_service.add_resident(session, code="A-100", name="Zhang Wei", unit="3-0201", actor="t")
        session.execute(insert(Resident), [{"code": "B200", "name": "欧阳震华", "unit": "",
                                            "status": ResidentStatus.ACTIVE, "is_minor": False, "created_at": NOW}])
        one_id = one.id
    with any_ctx.sessions() as session:
        two_id = session.scalar(select(Resident.id).where(Resident.code == "B200"))
        assert _stored_grams(session) == {
            one_id: _expected_grams(session, "A-100", "Zhang Wei", "3-0201"),
            two_id: _expected_grams(session, "B200", "欧阳震华")}
        assert {"zha", "wei", "-02", "欧阳震", "阳震华", "b20"} <= set().union(*_stored_grams(session).values())
    with any_ctx.transaction() as session:
        session.get(Resident, one_id).name = "Li Na"
    with any_ctx.sessions() as session:
        assert _stored_grams(session)[one_id] == _expected_grams(session, "A-100", "Li Na", "3-0201")
    with any_ctx.transaction() as session:
        rights.delete_resident(session, session.get(Resident, two_id), any_ctx.store, actor="t")
    with any_ctx.sessions() as session:
        assert set(_stored_grams(session)) == {one_id}


def test_a_deleted_residents_name_leaves_no_piece_in_the_database_file(ctx, data_dir) -> None:
    """secure_delete zeroes the index rows a delete removes: unlike an FTS5 index (SQLite 3.40), whose
    delete leaves the old pieces in older segments until a merge."""
    with ctx.transaction() as session:
        resident = resident_service.add_resident(session, code="Z1", name="欧阳震华", unit="9-9901", actor="t")
        resident_id = resident.id
    ctx.engine.dispose()
    pieces = [g.encode() for g in ("欧阳震", "阳震华")]
    assert all(p in (data_dir / "gate.db").read_bytes() for p in pieces)  # the check below can fail
    with ctx.transaction() as session:
        rights.delete_resident(session, session.get(Resident, resident_id), ctx.store, actor="t")
    ctx.engine.dispose()
    after = (data_dir / "gate.db").read_bytes()
    assert not any(p in after for p in pieces)
    with ctx.sessions() as session:
        assert _stored_grams(session) == {}


def test_search_through_trigrams_finds_exactly_what_the_scan_finds(any_ctx) -> None:
    """The index only narrows; the LIKE (SQLite) or ILIKE (PostgreSQL) decides, so every search gives
    the residents a scan of every row gives, cards included, in any case and with wildcards literal."""
    _fill(any_ctx)
    with any_ctx.transaction() as session:
        session.execute(insert(Resident), [
            {"code": f"X{i}", "name": name, "unit": unit, "status": ResidentStatus.ACTIVE, "is_minor": False,
             "created_at": NOW} for i, (name, unit) in enumerate([
                ("ÉMILE Zola", "A-1"), ("émile zola", "a-1"), ("王芳芳", "东-101"), ("MÜLLER", "x"),
                ("Ab%cd_e\\f", "")])])
    sqlite = any_ctx.engine.dialect.name == "sqlite"
    queries = ["R0042", "r004", "zhang", "ZHANG WEI", "wang fang", "3-073", "-07", "12345678", "0x00BC614E",
               "li_%", "Li_", "%cd", "d_e", "\\f", "émile", "ÉMILE", "mül", "MÜL", "王芳芳", "芳芳", "东-1",
               "nobody", "ng W", "i N", "R01", "0012345678"]
    with any_ctx.sessions() as session:
        for query in queries:
            scan = sorted(session.scalars(select(Resident.code).where(search_condition(query.strip(), sqlite=sqlite))))
            found = sorted(r.code for r in _walk(session, ResidentFilter(search=query)))
            assert found == scan, query
        assert sorted(r.code for r in _walk(session, ResidentFilter(search="12345678"))) == ["R0078"]
        # Three characters or more go through the index, which narrows to the few that can match.
        narrowed = candidates(session, "3-073")
        assert narrowed is not None
        assert sorted(session.scalars(select(Resident.code).where(narrowed))) == ["R0073"]
        assert candidates(session, "Li") is None  # too short for a piece: the scan


def test_upgrading_to_0019_indexes_the_residents_already_there(any_ctx) -> None:
    from alembic import command

    from gate.store import db

    config = db.alembic_config(any_ctx.engine.url.render_as_string(hide_password=False))
    command.downgrade(config, "0017")
    _fill(any_ctx)  # written by the release before: no index yet
    command.upgrade(config, "head")
    with any_ctx.sessions() as session:
        stored = _stored_grams(session)
        residents = list(session.scalars(select(Resident)))
        assert len(stored) == len(residents) == 130
        for resident in residents:
            assert stored[resident.id] == _expected_grams(session, resident.code, resident.name, resident.unit)
