"""Residents: list and search, add, edit, move out; cards (typed or captured at the reader); PINs."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from gate.errors import ConflictError, GateError, NotFoundError, PolicyError
from gate.i18n.marker import N_
from gate.store import consent as consent_service
from gate.store import data_access, face_standing
from gate.store import residents as resident_service
from gate.store.models import Resident, ResidentStatus
from gate.store.resident_edit import generate_pin, update_resident
from gate.store.resident_query import SORT_KEYS, ResidentFilter, ValidityStanding, groups, residents_page
from webui.base import RESIDENT_ROLES, actor, ctx, db, fail, now, roles_required, runtime, today
from webui.tenants import save_resident_validity

bp = Blueprint("residents", __name__)
CARD_CAPTURE_SECONDS = 10.0
RENEWALS_PAGE = 50
CARD_RACE = N_("This card was just registered by someone else.")


def load(code: str) -> Resident:
    try:
        return resident_service.get_resident(db(), code)
    except NotFoundError:
        abort(404)


def commit_or_conflict(conflict: str) -> None:
    """Commit; a unique row another operator's session committed first becomes the one-sentence conflict
    (ConflictError), not HTTP 500. The store's savepoints catch most such races at the insert; this is
    for a backend that reports them only at commit."""
    try:
        db().commit()
    except IntegrityError as err:
        db().rollback()
        raise ConflictError.of(conflict) from err


def can_capture_card() -> bool:
    return callable(getattr(runtime(), "capture_card", None))


def _list_filter() -> ResidentFilter:
    """The list's query string as a filter; a value that is not one of the choices is refused, not ignored."""
    args = request.args
    status = args.get("status") or None
    if status is not None and status not in {s.value for s in ResidentStatus}:
        raise PolicyError(_("Status is 'active' or 'moved_out'."))
    face = args.get("face") or None
    if face not in (None, "yes", "no"):
        raise PolicyError(_("Face is 'yes' or 'no'."))
    validity = args.get("validity") or None
    if validity is not None and validity not in {v.value for v in ValidityStanding}:
        raise PolicyError(_("Validity is 'current', 'not_yet' or 'ended'."))
    group = args.get("group") or None  # "-": residents in no group
    return ResidentFilter(search=args.get("q", "")[:100], status=ResidentStatus(status) if status else None,
                          group=None if group is None else "" if group == "-" else group[:64],
                          has_face=None if face is None else face == "yes", sort=args.get("sort") or "name",
                          validity=ValidityStanding(validity) if validity else None, today=today())


@bp.get("/residents")
@roles_required(*RESIDENT_ROLES)
def index():
    try:
        rows, cursor = residents_page(db(), _list_filter(), after=request.args.get("after") or None)
        status = 200
    except GateError as err:
        flash(str(err), "error")
        rows, cursor, status = [], None, 400
    args = {k: v for k, v in request.args.items() if k != "after" and v != ""}
    return render_template("residents/index.html", residents=rows, cursor=cursor, args=args,
                           q=args.get("q", ""), groups=groups(db()), sorts=SORT_KEYS), status


@bp.get("/residents/renewals")
@roles_required(*RESIDENT_ROLES)
def renewals():
    """Who must renew face consent at the office: face is not used for them until they do. In pages of
    RENEWALS_PAGE by resident code (`after`: the last code of the page before)."""
    after = request.args.get("after", "")[:32]
    due = [r for r in face_standing.needing_renewal(db(), today()) if r.resident.code > after]
    page = due[:RENEWALS_PAGE]
    return render_template("residents/renewals.html", renewals=page,
                           cursor=page[-1].resident.code if len(due) > RENEWALS_PAGE else None)


@bp.route("/residents/new", methods=["GET", "POST"])
@roles_required(*RESIDENT_ROLES)
def new():
    form = request.form
    if request.method == "POST":
        try:
            resident = resident_service.add_resident(
                db(), code=form.get("code", "").strip(), name=form.get("name", "")[:200],
                unit=form.get("unit", "")[:64],
                birth_date=resident_service.parse_birth_date(form.get("birth_date")),
                guardian_name=form.get("guardian_name", "").strip()[:200] or None,
                group_name=form.get("group_name", "").strip()[:64] or None, actor=actor(), now=now(),
                code_characters=ctx().settings.site.resident_codes)
            save_resident_validity(resident, form)
            commit_or_conflict(N_("A resident with this code was just saved by someone else; open it from the "
                                  "list."))
            flash(_("Resident %(code)s added. Add a card or a PIN so they can get in.", code=resident.code), "ok")
            return redirect(url_for("residents.show", code=resident.code))
        except GateError as err:
            fail(err)
            return render_template("residents/form.html", resident=None, form=form, **_code_rule()), 400
    return render_template("residents/form.html", resident=None, form={}, **_code_rule())


def _code_rule() -> dict[str, object]:
    """The form's code field accepts what the store will: digits only unless [site] resident_codes says letters."""
    digits = ctx().settings.site.resident_codes == "digits"
    return {"code_pattern": "[0-9]{1,32}" if digits else r"[A-Za-z0-9][A-Za-z0-9_\-]{0,31}", "digits_only": digits}


@bp.get("/residents/<code>")
@roles_required(*RESIDENT_ROLES)
def show(code: str):
    resident = load(code)
    data_access.record_view(db(), resident, actor=actor(), what="resident page")
    db().commit()
    consent = consent_service.current_consent(db(), resident)
    lapse = face_standing.lapse_for(db(), resident, consent, today()) if consent is not None else None
    return render_template("residents/show.html", resident=resident, consent=consent,
                           lapse=_(face_standing.LAPSE_TEXT[lapse]) if lapse else None,
                           keypad_can_type=resident_service.keypad_can_type(resident.code),
                           minor=face_standing.is_minor(resident, today()),
                           has_template=ctx().store.has_template(db(), resident),
                           can_capture=can_capture_card())


@bp.route("/residents/<code>/edit", methods=["GET", "POST"])
@roles_required(*RESIDENT_ROLES)
def edit(code: str):
    resident = load(code)
    if request.method == "POST":
        form = request.form
        try:
            changed = update_resident(db(), resident, name=form.get("name", ""), unit=form.get("unit", ""),
                                      birth_date=resident_service.parse_birth_date(form.get("birth_date")),
                                      guardian_name=form.get("guardian_name"),
                                      group_name=form.get("group_name"), actor=actor())
            period_changed = save_resident_validity(resident, form)
            db().commit()
            flash(_("Saved.") if changed or period_changed else _("Nothing changed."), "ok")
            return redirect(url_for("residents.show", code=code))
        except GateError as err:
            fail(err)
            return render_template("residents/form.html", resident=load(code), form=form), 400
    data_access.record_view(db(), resident, actor=actor(), what="edit form")
    db().commit()
    return render_template("residents/form.html", resident=resident, form={
        "name": resident.name, "unit": resident.unit,
        "birth_date": resident.birth_date.isoformat() if resident.birth_date else "",
        "guardian_name": resident.guardian_name or "", "group_name": resident.group_name or "",
        "valid_from": resident.valid_from.isoformat() if resident.valid_from else "",
        "valid_until": resident.valid_until.isoformat() if resident.valid_until else ""})


@bp.post("/residents/<code>/move-out")
@roles_required(*RESIDENT_ROLES)
def move_out(code: str):
    resident = load(code)
    if request.form.get("confirm") != code:
        flash(_("Type the resident code %(code)s to confirm the move-out.", code=code), "error")
        return redirect(url_for("residents.show", code=code))
    try:
        destroyed = resident_service.move_out(db(), resident, ctx().store, actor=actor(), now=now())
        db().commit()
        flash(_("%(code)s moved out: cards and PIN stop working; %(count)s face template(s) destroyed.", code=code,
                count=destroyed), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("residents.show", code=code))


@bp.post("/residents/<code>/cards")
@roles_required(*RESIDENT_ROLES)
def add_card(code: str):
    resident = load(code)
    try:
        card = resident_service.add_card(db(), resident, request.form.get("number", "")[:64], actor=actor(),
                                         label=request.form.get("label", "")[:64], now=now())
        commit_or_conflict(CARD_RACE)
        flash(_("Card %(card)s added.", card=card.uid), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("residents.show", code=code))


@bp.post("/residents/<code>/cards/capture")
@roles_required(*RESIDENT_ROLES)
def capture_card(code: str):
    resident = load(code)
    capture = getattr(runtime(), "capture_card", None)
    if not callable(capture):
        flash(_("No card reader is connected to this controller: type the card number instead."), "error")
        return redirect(url_for("residents.show", code=code))
    number = capture(CARD_CAPTURE_SECONDS)
    if not number:
        flash(_("No card was presented within %(seconds)s seconds; try again.", seconds=int(CARD_CAPTURE_SECONDS)),
              "error")
        return redirect(url_for("residents.show", code=code))
    try:
        card = resident_service.add_card(db(), resident, str(number), actor=actor(), label="captured", now=now())
        commit_or_conflict(CARD_RACE)
        flash(_("Card %(card)s read from the reader and added.", card=card.uid), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("residents.show", code=code))


@bp.post("/residents/<code>/cards/remove")
@roles_required(*RESIDENT_ROLES)
def remove_card(code: str):
    resident = load(code)
    number = request.form.get("number", "")[:64]
    if number not in {c.uid for c in resident.cards}:
        flash(_("That card does not belong to this resident."), "error")
        return redirect(url_for("residents.show", code=code))
    try:
        resident_service.remove_card(db(), number, actor=actor())
        db().commit()
        flash(_("Card %(card)s removed.", card=number), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("residents.show", code=code))


@bp.post("/residents/<code>/pin/clear")
@roles_required(*RESIDENT_ROLES)
def clear_pin(code: str):
    resident = load(code)
    try:
        resident_service.clear_pin(db(), resident, actor=actor())
        db().commit()
        flash(_("PIN cleared: the resident code no longer opens with a PIN."), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("residents.show", code=code))


@bp.post("/residents/<code>/pin")
@roles_required(*RESIDENT_ROLES)
def set_pin(code: str):
    resident = load(code)
    generated = request.form.get("mode") == "generate"
    pin = generate_pin() if generated else request.form.get("pin", "")[:16]
    if not generated and pin != request.form.get("pin2", "")[:16]:
        flash(_("The two PINs differ."), "error")
        return redirect(url_for("residents.show", code=code))
    try:
        resident_service.set_pin(db(), resident, pin, ctx().hasher, actor=actor(), now=now())
        db().commit()
    except GateError as err:
        fail(err)
        return redirect(url_for("residents.show", code=code))
    if not generated:
        flash(_("PIN set. It is stored only as a hash and cannot be shown again."), "ok")
        return redirect(url_for("residents.show", code=code))
    # Shown once, in this response only: not in a flash message (that is the session cookie), not logged.
    response = make_response(render_template("residents/pin_once.html", resident=resident, pin=pin))
    response.headers["Cache-Control"] = "no-store"
    return response
