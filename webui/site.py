"""The Site page: every gate of the site with its release, last heartbeat, clock offset and state
(gate.store.heartbeats), so an operator sees which gate is behind on its software, silent or skewed."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from gate.store.heartbeats import site_gates
from webui.base import SETTINGS_ROLES, ctx, db, roles_required

bp = Blueprint("site", __name__)
#: A clock further than this from the database's is flagged on the page (PIN lock-outs, schedules and
#: event order all depend on it).
CLOCK_WARN_SECONDS = 5.0


@bp.get("/site")
@roles_required(*SETTINGS_ROLES)
def index() -> ResponseReturnValue:
    return render_template("site.html", gates=site_gates(db()), clock_warn=CLOCK_WARN_SECONDS,
                           schema_note=ctx().schema_note)
