"""The Site page: every gate of the site with its release, last heartbeat, clock offset and state
(gate.store.heartbeats), so an operator sees which gate is behind on its software, silent or skewed;
and the site's key slots (gate.store.site_keys), with approve and revoke as `gate gates approve|revoke`."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from gate.errors import GateError, KeyUnavailableError
from gate.store import site_keys
from gate.store.heartbeats import site_gates
from webui.base import SETTINGS_ROLES, actor, ctx, db, fail, roles_required

bp = Blueprint("site", __name__)
#: A clock further than this from the database's is flagged on the page (PIN lock-outs, schedules and
#: event order all depend on it).
CLOCK_WARN_SECONDS = 5.0


@bp.get("/site")
@roles_required(*SETTINGS_ROLES)
def index() -> ResponseReturnValue:
    slots = [{"gate": s.gate, "state": s.state, "fingerprint": site_keys.fingerprint_of(s.public_key),
              "approved_at": s.approved_at, "approved_by": s.approved_by} for s in site_keys.slots(db())]
    return render_template("site.html", gates=site_gates(db()), clock_warn=CLOCK_WARN_SECONDS,
                           schema_note=ctx().schema_note, slots=slots,
                           holds_site_key=isinstance(ctx().key_file, site_keys.SiteKeyFile))


@bp.post("/site/keys/<name>/approve")
@roles_required(*SETTINGS_ROLES)
def approve(name: str) -> ResponseReturnValue:
    """Seal the site key for a gate that asked to join, if its key is still the one whose fingerprint the
    admin compared on the page (the form carries it)."""
    store = ctx().key_file
    try:
        if not isinstance(store, site_keys.SiteKeyFile):
            raise KeyUnavailableError(_("This gate holds no site key (it has not joined a site): approve at a "
                                        "gate that has."))
        with store.exclusive():
            keyring = store.load()
            site_keys.approve(db(), name, keyring, actor=actor(),
                              expected_fingerprint=request.form.get("fingerprint", "")[:64] or None)
            db().commit()
        flash(_("Gate %(name)s approved; it picks the site key up at its next key check.", name=name), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("site.index") + "#keys")


@bp.post("/site/keys/<name>/revoke")
@roles_required(*SETTINGS_ROLES)
def revoke(name: str) -> ResponseReturnValue:
    """Delete the gate's slot and mark the rotation due. The rotation re-wraps every data key, too long
    for a request: the gate service's follow-up runs it within minutes (docs/keys.md)."""
    try:
        site_keys.revoke(db(), name, actor=actor())
        db().commit()
        flash(_("Gate %(name)s revoked; the gate service rotates the site key within minutes, destroying what "
                "its key opened.", name=name), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("site.index") + "#keys")
