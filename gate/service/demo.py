"""Demo data for `gate serve --simulate`, clearly labelled as such. Only added when missing."""

from __future__ import annotations

from sqlalchemy import make_url, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from gate.config import Settings
from gate.context import GateContext
from gate.errors import ConfigError, ConflictError
from gate.store import db, notices, residents
from gate.store.models import Resident

DEMO_CODE = "1001"
DEMO_CARD = "188:24910"
DEMO_PIN = "482915"
DEMO_NAME = "Demo Resident (DEMO DATA - simulator only)"
DEMO_NOTICE_VERSION = "demo-1"
#: `gate init` only drafts the notice (its contact is a placeholder). The simulator publishes one that
#: reads like a real site's, labelled as demo, so the whole consent journey can be tried.
DEMO_NOTICE_FIELDS = {
    "processor": "Demo Property Management Co., Ltd. (DEMO DATA - simulator only), operator of this gate",
    "contact": "Demo management office, Building 1 ground floor; tel. 010-0000 0000; privacy@demo-property.test",
}


def require_own_database(settings: Settings) -> None:
    """Demo data (a resident with a known card and PIN, a published notice) never goes into a site's shared
    database: `--simulate` runs only on a gate's own SQLite file."""
    if db.sqlite_file(settings.database_url) is None:
        raise ConfigError(
            "`gate serve --simulate` adds demo data (a resident with a known card and PIN) and runs only on a "
            f"gate's own SQLite database, not on the {make_url(settings.database_url).get_backend_name()} "
            "database named by [database] url or GATE_DATABASE_URL: use a data folder of its own for the simulator.")


def seed_demo(ctx: GateContext) -> list[str]:
    """Idempotent, also when two processes seed the same database at once: the loser of the race finds
    the winner's rows on its second try instead of failing on the unique resident code."""
    try:
        return _seed(ctx)
    except (ConflictError, IntegrityError, OperationalError):
        return _seed(ctx)


def _seed(ctx: GateContext) -> list[str]:
    done: list[str] = []
    with ctx.transaction() as session:
        if session.scalar(select(Resident.id).where(Resident.code == DEMO_CODE)) is None:
            resident = residents.add_resident(session, code=DEMO_CODE, name=DEMO_NAME, unit="demo", actor="demo")
            residents.add_card(session, resident, DEMO_CARD, actor="demo", label="demo card")
            residents.set_pin(session, resident, DEMO_PIN, ctx.hasher, actor="demo")
            done.append(f"demo resident {DEMO_CODE}: card {DEMO_CARD}, PIN {DEMO_PIN} (demo data)")
        if publish_demo_notice(session, ctx.settings.template_retention_days):
            done.append(f"published demo face notice version {DEMO_NOTICE_VERSION} (demo data)")
    return done


def publish_demo_notice(session: Session, site_days: int) -> bool:
    """Publish the demo notice unless a notice is published already; True if it did (also `gate bench`)."""
    if notices.current_notice(session) is not None:
        return False
    fields = {**notices.default_fields(), **DEMO_NOTICE_FIELDS}
    notices.create_notice(session, DEMO_NOTICE_VERSION, fields, "demo", site_days=site_days)
    notices.publish_notice(session, DEMO_NOTICE_VERSION, "demo")
    return True
