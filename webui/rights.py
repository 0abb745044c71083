"""The person's rights: delete face (withdrawal), delete the resident, receipts, export (PIPL art. 45, 47)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gate.errors import GateError, NotFoundError
from gate.i18n import locales
from gate.i18n.errors import localised
from gate.store import rights as rights_service
from webui.base import RESIDENT_ROLES, actor, ctx, db, fail, now, roles_required
from webui.residents import load

bp = Blueprint("rights", __name__)


@bp.route("/residents/<code>/face/delete", methods=["GET", "POST"])
@roles_required(*RESIDENT_ROLES)
def delete_face(code: str):
    resident = load(code)
    if request.method == "GET":
        return render_template("rights/confirm_face.html", resident=resident)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the confirmation box to delete the face data."), "error")
        return render_template("rights/confirm_face.html", resident=resident), 400
    try:
        number = rights_service.delete_face(db(), resident, ctx().store, actor=actor(), now=now())
        db().commit()
    except GateError as err:
        fail(err)
        return redirect(url_for("residents.show", code=code))
    flash(_("Face data deleted. Card and PIN keep working. Print the receipt for the resident."), "ok")
    return redirect(url_for("rights.receipt", number=number))


@bp.route("/residents/<code>/delete", methods=["GET", "POST"])
@roles_required(*RESIDENT_ROLES)
def delete_resident(code: str):
    resident = load(code)
    if request.method == "GET":
        return render_template("rights/confirm_resident.html", resident=resident)
    if request.form.get("confirm") != code:
        flash(_("Type the resident code %(code)s to confirm deleting everything about this resident.", code=code),
              "error")
        return render_template("rights/confirm_resident.html", resident=resident), 400
    name = resident.name
    try:
        number = rights_service.delete_resident(db(), resident, ctx().store, actor=actor())
        db().commit()
    except GateError as err:
        fail(err)
        return redirect(url_for("residents.show", code=code))
    # The name appears on this one printout only; the reprint (by receipt number) no longer knows it.
    return render_template("rights/receipt.html", receipt=rights_service.receipt(db(), number),
                           person=f"{name} ({code})", fresh=True)


@bp.get("/receipts/<int:number>")
@roles_required(*RESIDENT_ROLES)
def receipt(number: int):
    try:
        found = rights_service.receipt(db(), number)
    except NotFoundError:
        abort(404)
    person = capture_url = None
    if found.action in rights_service.FACE_RECEIPTS:
        from gate.store.models import Resident

        resident_id = int(found.resident_ref.split(":", 1)[1])
        resident = db().get(Resident, resident_id)
        person = f"{resident.name} ({resident.code})" if resident else None
        if found.action == "consent.grant" and resident is not None and resident.face_pseudonym is None:
            capture_url = url_for("enroll.capture", code=resident.code)
    return render_template("rights/receipt.html", receipt=found, person=person, fresh=False,
                           capture_url=capture_url)


def _export(code: str, form: str) -> dict[str, object]:
    """Times in the site's local time with the offset; sentences in the operator's language."""
    resident = load(code)
    data = rights_service.export_resident(db(), resident, ctx().store, actor=actor(), form=form,
                                          site_days=ctx().settings.template_retention_days, now=now(),
                                          timezone=ctx().settings.site.timezone)
    db().commit()
    localised_data = localised(data, _)
    assert isinstance(localised_data, dict)
    return localised_data


@bp.get("/residents/<code>/export")
@roles_required(*RESIDENT_ROLES)
def export_page(code: str):
    return render_template("rights/export.html", data=_export(code, "page"), code=code,
                           language_names=locales.NATIVE_NAMES)


@bp.get("/residents/<code>/export.json")
@roles_required(*RESIDENT_ROLES)
def export_json(code: str):
    body = rights_service.export_json(_export(code, "json"))
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="resident-{code}.json"'})
