"""Visitors: issue a visitor code (shown once, with its QR image in the same response), list open and
closed codes, revoke. The code is never stored; the QR image is made in the response that shows it
and is not kept either."""

from __future__ import annotations

from datetime import datetime, timedelta

import segno
from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from gate.core.visitors import spaced
from gate.errors import GateError, PolicyError
from gate.i18n import timefmt
from gate.store import visitors as visitor_service
from gate.store.models import Gate
from webui.base import RESIDENT_ROLES, actor, ctx, db, fail, now, roles_required
from webui.i18n import site_zone

bp = Blueprint("visitors", __name__)


def _local_input(value: datetime) -> str:
    """A datetime-local field's value: the site's local time, without the offset the field cannot take."""
    return timefmt.local(value, site_zone()).strftime("%Y-%m-%dT%H:%M")


def _parse_local(text: str, what: str) -> datetime:
    """A datetime-local field, in the site's time zone."""
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=site_zone())
    except ValueError:
        raise PolicyError(_("Give the %(what)s as a date and time, e.g. 2027-02-28 14:00.", what=what)) from None


def _page(form: dict[str, str] | None = None, status: int = 200):
    moment = now()
    gates = list(db().scalars(select(Gate).order_by(Gate.name)))
    defaults = {"valid_from": _local_input(moment), "valid_until": _local_input(moment + timedelta(hours=4)),
                "entries": "1"}
    return render_template("visitors/index.html", gates=gates, form=form or defaults,
                           active=visitor_service.list_visitors(db(), moment, active=True),
                           closed=visitor_service.list_visitors(db(), moment, active=False),
                           gate_names={g.id: g.name for g in gates}), status


@bp.get("/visitors")
@roles_required(*RESIDENT_ROLES)
def index():
    return _page()


@bp.post("/visitors")
@roles_required(*RESIDENT_ROLES)
def issue():
    form = request.form
    try:
        try:
            entries = int(form.get("entries", ""))
        except ValueError:
            raise PolicyError(_("Give the number of entries as a whole number from 1 to 50.")) from None
        gate_ids = [int(g) for g in form.getlist("gate") if g.isdigit()]
        issued = visitor_service.issue(
            db(), ctx().hasher, label=form.get("label", "")[:64], gate_ids=gate_ids,
            valid_from=_parse_local(form.get("valid_from", ""), _("start")),
            valid_until=_parse_local(form.get("valid_until", ""), _("end")), entries=entries, actor=actor(),
            now=now())
        db().commit()
    except GateError as err:
        fail(err)
        return _page(dict(form), 400)
    visitor = visitor_service.get_visitor(db(), issued.visitor_id)
    qr = segno.make(issued.code, error="m")
    # Shown once, in this response only (like a generated PIN): not in a flash message, not logged, not cached.
    response = make_response(render_template(
        "visitors/issued.html", visitor=visitor, code=spaced(issued.code), qr_svg=qr.svg_inline(scale=6),
        qr_png=qr.png_data_uri(scale=8),
        gate_names=sorted(g.name for g in db().scalars(select(Gate).where(Gate.id.in_(
            [vg.gate_id for vg in visitor.gates]))))))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/visitors/<int:visitor_id>/revoke")
@roles_required(*RESIDENT_ROLES)
def revoke(visitor_id: int):
    try:
        visitor_service.revoke(db(), visitor_id, actor=actor(), now=now())
        db().commit()
        flash(_("Visitor code #%(id)s revoked: it no longer opens any gate.", id=visitor_id), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("visitors.index"))
