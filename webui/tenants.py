"""Tenants: validity periods on residents and cards, and the list of residents whose validity ended
("Ended validity — to move out") with a one-click move-out that reuses the usual one (face data deleted)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gate.errors import GateError, NotFoundError
from gate.store import residents as resident_service
from gate.store import validity
from gate.store.models import Resident
from webui.base import RESIDENT_ROLES, actor, ctx, db, fail, now, roles_required, today

bp = Blueprint("tenants", __name__)


def _load(code: str) -> Resident:
    try:
        return resident_service.get_resident(db(), code)
    except NotFoundError:
        abort(404)


def save_resident_validity(resident: Resident, form: dict[str, str]) -> bool:
    """From the resident form's two date fields; raises PolicyError with a sentence for a bad date."""
    return validity.set_resident_validity(
        db(), resident, validity.parse_date(form.get("valid_from"), _("start of validity")),
        validity.parse_date(form.get("valid_until"), _("end of validity")), actor=actor())


@bp.get("/move-out")
@roles_required(*RESIDENT_ROLES)
def ended():
    return render_template("tenants/ended.html", residents=validity.ended_residents(db(), today()), today=today())


@bp.post("/move-out/<code>")
@roles_required(*RESIDENT_ROLES)
def move_out(code: str):
    resident = _load(code)
    if resident not in validity.ended_residents(db(), today()):
        flash(_("%(code)s is not on the list of ended validity; use the resident's page to move them out.",
                code=code), "error")
        return redirect(url_for("tenants.ended"))
    try:
        destroyed = resident_service.move_out(db(), resident, ctx().store, actor=actor(), now=now())
        db().commit()
        flash(_("%(code)s moved out: cards and PIN stop working; %(n)s face template(s) destroyed.", code=code,
                n=destroyed), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("tenants.ended"))


@bp.post("/residents/<code>/cards/validity")
@roles_required(*RESIDENT_ROLES)
def card_validity(code: str):
    resident = _load(code)
    card = next((c for c in resident.cards if c.uid == request.form.get("number", "")), None)
    if card is None:
        flash(_("That card does not belong to this resident."), "error")
        return redirect(url_for("residents.show", code=code))
    try:
        changed = validity.set_card_validity(
            db(), card, validity.parse_date(request.form.get("valid_from"), _("start of validity")),
            validity.parse_date(request.form.get("valid_until"), _("end of validity")), actor=actor())
        db().commit()
        flash(_("Card validity saved.") if changed else _("Nothing changed."), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("residents.show", code=code))
