"""Demo data for `gate serve --simulate`, clearly labelled as such. Only added when missing."""

from __future__ import annotations

from sqlalchemy import select

from gate.context import GateContext
from gate.store import residents
from gate.store.models import Resident

DEMO_CODE = "1001"
DEMO_CARD = "188:24910"
DEMO_PIN = "482915"
DEMO_NAME = "Demo Resident (DEMO DATA - simulator only)"


def seed_demo(ctx: GateContext) -> list[str]:
    done: list[str] = []
    with ctx.transaction() as session:
        if session.scalar(select(Resident.id).where(Resident.code == DEMO_CODE)) is None:
            resident = residents.add_resident(session, code=DEMO_CODE, name=DEMO_NAME, unit="demo", actor="demo")
            residents.add_card(session, resident, DEMO_CARD, actor="demo", label="demo card")
            residents.set_pin(session, resident, DEMO_PIN, ctx.hasher, actor="demo")
            done.append(f"demo resident {DEMO_CODE}: card {DEMO_CARD}, PIN {DEMO_PIN} (demo data)")
    return done
