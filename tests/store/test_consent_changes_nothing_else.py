"""A2 and C2: face consent is bundled with nothing, and refusing, granting or withdrawing it changes only
the face credential (PIPL art. 16; SPC 4, 11)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from gate.context import GateContext
from gate.store import consent, notices, residents, rights, schedules
from gate.store.models import Consent, Lockout, Notice, Resident, ScheduleAssignment

from .helpers import get, random_encodings

CARD = "40404"
PIN = "582913"


def _everything_but_face(ctx: GateContext, resident_id: int) -> dict[str, object]:
    with ctx.sessions() as session:
        resident = get(ctx, session, resident_id)
        return {
            "resident": (resident.code, resident.name, resident.unit, resident.status, resident.group_name,
                         resident.moved_out_at, resident.created_at),
            "cards": sorted((c.uid, c.label, c.created_at) for c in resident.cards),
            "pin": (resident.pin.pin_hash, resident.pin.set_at) if resident.pin else None,
            "schedules": sorted(a.schedule_id for a in session.scalars(
                select(ScheduleAssignment).where(ScheduleAssignment.resident_id == resident_id))),
            "lockouts": sorted((lock.scope, lock.failures, lock.lockouts) for lock in session.scalars(select(Lockout))),
        }


def _decisions(ctx: GateContext) -> tuple[bool, bool]:
    access = ctx.access()
    return access.card("main", CARD).decision.granted, access.pin("main", "A2", PIN).decision.granted


def test_refusing_granting_and_withdrawing_face_change_nothing_else(any_ctx: GateContext) -> None:
    ctx = any_ctx
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code="A2", name="Ann Two", unit="3-02", group_name="staff",
                                          actor="test")
        residents.add_card(session, resident, CARD, actor="test")
        residents.set_pin(session, resident, PIN, ctx.hasher, actor="test")
        schedules.add_window(session, "always", "1111111", "00:00", "24:00", True, ctx.clock())
        schedules.assign(session, "always", resident=resident)
        resident_id = resident.id
    before = _everything_but_face(ctx, resident_id)
    assert _decisions(ctx) == (True, True)
    before_decisions = _everything_but_face(ctx, resident_id)  # decisions themselves change nothing here

    with ctx.transaction() as session:
        rights.record_refusal(session, get(ctx, session, resident_id), actor="op")
    assert _everything_but_face(ctx, resident_id) == before_decisions
    with ctx.transaction() as session:
        resident = get(ctx, session, resident_id)
        consent.grant_consent(session, resident, operator="op", retention_days=365)
        ctx.store.save(session, resident, random_encodings(), "dlib-test")
    assert _everything_but_face(ctx, resident_id) == before_decisions
    with ctx.transaction() as session:
        rights.delete_face(session, get(ctx, session, resident_id), ctx.store, actor="op")

    after = _everything_but_face(ctx, resident_id)
    assert after == before_decisions and after["cards"] == before["cards"] and after["pin"] == before["pin"]
    assert _decisions(ctx) == (True, True)
    with ctx.sessions() as session:  # only the face credential moved
        resident = session.get(Resident, resident_id)
        assert resident is not None and resident.face_pseudonym is None
        assert session.scalar(select(Consent.withdrawn_at).where(Consent.resident_id == resident_id)) is not None


#: Words that would make consent irrevocable or a condition of something else (SPC 4, 11).
BUNDLING = re.compile(r"irrevocabl|cannot be withdrawn|may not be withdrawn|condition of (access|entry|tenancy)|"
                      r"required (for|to) (access|enter)|不可撤销|不得撤回|不能撤回|作为.*条件", re.IGNORECASE)


def test_the_notice_and_the_consent_say_face_is_optional_and_can_be_withdrawn(any_ctx: GateContext) -> None:
    with any_ctx.sessions() as session:
        published = session.scalar(select(Notice).where(Notice.published_at.is_not(None)))
        assert published is not None
        fields = notices.fields_of(published)
    default = notices.default_fields()
    for text in (json.dumps(fields, ensure_ascii=False), json.dumps(default, ensure_ascii=False),
                 consent.FACE_PURPOSE):
        assert not BUNDLING.search(text), BUNDLING.search(text)
    assert re.search(r"withdraw", fields["rights"], re.IGNORECASE)
    assert re.search(r"card", fields["alternatives"], re.IGNORECASE) and re.search(
        r"PIN", fields["alternatives"])
