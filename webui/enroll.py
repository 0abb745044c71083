"""The consent and face-enrollment wizard: 1 notice, 2 separate consent, 3 capture, 4 result.

Refusing at step 2 ends the wizard and changes nothing but an audit fact. Frames (webcam, uploads, gate
camera) are decoded in memory and dropped with the request: nothing is written to disk, the session or
the logs.
"""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gate.errors import GateError
from gate.face.errors import FaceUnavailable, ImageRejected
from gate.face.images import UploadsBusy
from gate.i18n import catalogue, locales
from gate.store import alternatives, face_standing, notices, rights
from gate.store import consent as consent_service
from gate.store import gates as gate_service
from gate.store.models import Notice, ResidentStatus
from webui import enroll_words, face
from webui.base import (
    RESIDENT_ROLES,
    actor,
    ctx,
    db,
    error_text,
    fail,
    now,
    render_error,
    roles_required,
    runtime,
    today,
)
from webui.i18n import request_language
from webui.residents import load

bp = Blueprint("enroll", __name__)


@bp.context_processor
def _filing_warning() -> dict[str, object]:
    """CAC 2025 rules (U3): whoever enrolls one more face sees that the site nears the filing threshold."""
    return {"filing_warning": gate_service.filing_warning(db(), ctx().settings)}


def can_use_gate_camera() -> bool:
    return callable(getattr(runtime(), "enrollment_burst", None))


def reader_language() -> str:
    """The language the resident reads the notice in: chosen on the notice page (?language=), else the
    operator's own."""
    return locales.match(request.values.get("language")) or request_language()


def _notice(language: str) -> Notice | None:
    return notices.current_notice(db(), language)


def _notice_view(current: Notice | None, language: str) -> dict[str, object]:
    """The notice's headings in its own language (the resident reads it, not the operator), and whether
    it is shown in another language than asked because none is published in that one."""
    if current is None:
        return {"notice": None, "reader_language": language}
    own = catalogue.gettext_for(current.language)
    return {"notice": current, "fields": notices.fields_of(current), "reader_language": language,
            "headings": {key: own(label) for key, label in notices.REQUIRED_FIELDS.items()},
            "notice_lang": locales.HTML_LANG.get(current.language, "en"),
            "fallback_from": locales.NATIVE_NAMES[language] if current.language != language else None,
            "shown_in": locales.NATIVE_NAMES.get(current.language, current.language),
            "reader_languages": [(code, name) for code, name in locales.NATIVE_NAMES.items()]}


@bp.get("/residents/<code>/face")
@roles_required(*RESIDENT_ROLES)
def notice(code: str):
    resident = load(code)
    language = reader_language()
    current = _notice(language)
    consent = consent_service.current_consent(db(), resident)
    lapse = face_standing.lapse_for(db(), resident, consent, today()) if consent is not None else None
    blocker = notices.consent_blocker(current, ctx().settings.template_retention_days) if current else None
    return render_template("enroll/notice.html", resident=resident, **_notice_view(current, language),
                           consent=consent, lapse=_(face_standing.LAPSE_TEXT[lapse]) if lapse else None,
                           blocker=blocker, minor=face_standing.is_minor(resident, today()))


@bp.route("/residents/<code>/face/consent", methods=["GET", "POST"])
@roles_required(*RESIDENT_ROLES)
def consent(code: str):
    resident = load(code)
    settings = ctx().settings
    language = reader_language()
    current = _notice(language)
    view = _notice_view(current, language)
    if request.method == "POST":
        if request.form.get("decision") == "refuse":
            rights.record_refusal(db(), resident, actor=actor())
            db().commit()
            flash(_("%(name)s declined face. Nothing else changed: card and PIN work as before.",
                    name=resident.name), "ok")
            return redirect(url_for("residents.show", code=code))
        if request.form.get("face_consent") != "yes":
            flash(_("Consent to face must be given separately: tick the box, or choose 'Declines face'."), "error")
            return render_template("enroll/consent.html", resident=resident, settings=settings, **view), 400
        if request.form.get("notice_version") != (current.version if current else None):
            flash(_("The notice changed while this page was open: read the current notice again."), "error")
            return redirect(url_for("enroll.notice", code=code, language=request.values.get("language")))
        try:
            days = int(request.form.get("retention_days", settings.template_retention_days))
        except ValueError:
            days = -1
        try:
            given = consent_service.grant_consent(
                db(), resident, operator=actor(), retention_days=days,
                guardian_name=request.form.get("guardian_name", "").strip()[:200] or None,
                forbid_minors=settings.forbid_face_for_minors, now=now(),
                site_days=settings.template_retention_days, today=today(), language=language)
            has_face = resident.face_pseudonym is not None
            number = rights.consent_receipt_number(db(), resident)
            db().commit()
        except GateError as err:
            fail(err)
            return render_template("enroll/consent.html", resident=load(code), settings=settings,
                                   minor=face_standing.is_minor(resident, today()), **view), 400
        if has_face:
            flash(_("Consent renewed against notice version %(version)s: face works again with the kept template. "
                    "Print the receipt for the resident.", version=given.notice.version), "ok")
        else:
            flash(_("Consent recorded. Print the receipt for the resident, then capture the face."), "ok")
        return redirect(url_for("rights.receipt", number=number))
    return render_template("enroll/consent.html", resident=resident, settings=settings,
                           minor=face_standing.is_minor(resident, today()), **view)


def _require_consent(code: str):
    resident = load(code)
    consent = consent_service.current_consent(db(), resident)
    if resident.status is not ResidentStatus.ACTIVE or consent is None:
        flash(_("Face capture needs a current, separate consent first."), "error")
        return resident, redirect(url_for("enroll.notice", code=code))
    try:
        # Checked before any frame is taken, not only when the template is saved (A1).
        alternatives.require_way_in(db(), resident)
    except GateError as err:
        fail(err)
        return resident, redirect(url_for("residents.show", code=code))
    if face_standing.lapse_for(db(), resident, consent, today()) is not None:
        flash(_("This resident's face consent has lapsed: record a new consent before capturing."), "error")
        return resident, redirect(url_for("enroll.notice", code=code))
    return resident, None


@bp.get("/residents/<code>/face/capture")
@roles_required(*RESIDENT_ROLES)
def capture(code: str):
    resident, refused = _require_consent(code)
    if refused:
        return refused
    return render_template("enroll/capture.html", resident=resident, gate_camera=can_use_gate_camera(),
                           max_frames=face.MAX_FRAMES)


@bp.post("/residents/<code>/face/check")
@roles_required(*RESIDENT_ROLES)
def check(code: str):
    """One frame in, quality feedback out (JSON). The frame is analysed in memory and dropped."""
    resident, refused = _require_consent(code)
    if refused:
        return jsonify(error=_("Face capture is refused for this resident: their page says why.")), 409
    upload = request.files.get("frame")
    if upload is None:
        return jsonify(error="send one picture as the multipart field 'frame'"), 400
    try:
        feedback = face.check_frame(upload.read())
    except ImageRejected as err:
        return jsonify(accepted=False, reasons=[str(err)], words=[error_text(err)], figures=None,
                       verdict=_("Retake the picture.")), 422
    except UploadsBusy as err:
        return jsonify(error=error_text(err)), 503
    except FaceUnavailable as err:
        return jsonify(error=enroll_words.camera_problem(err)), 503
    # `reasons` and `figures` stay for scripts; people read `verdict` and `words`.
    return jsonify(accepted=feedback.accepted, reasons=feedback.reasons, figures=feedback.figures,
                   words=enroll_words.reasons_words(feedback.reasons),
                   verdict=_("Good picture.") if feedback.accepted else _("Retake the picture."))


def _finish(resident, frames, challenge: str = "none"):
    try:
        outcome = face.enroll(db(), resident, frames, actor(), challenge)
        if outcome.ok:
            db().commit()
        else:
            db().rollback()
    except UploadsBusy as err:
        db().rollback()
        return render_error(503, error_text(err))
    except FaceUnavailable as err:
        db().rollback()
        flash(enroll_words.camera_problem(err), "error")
        return redirect(url_for("enroll.capture", code=resident.code))
    except (ImageRejected, GateError) as err:
        fail(err)
        return redirect(url_for("enroll.capture", code=resident.code))
    finally:
        frames.clear()
    status = 200 if outcome.ok else 422
    judged = enroll_words.verdict(outcome.ok, outcome.reasons, outcome.quality,
                                  [f["reasons"] for f in outcome.frames if not f["accepted"]])
    return render_template("enroll/result.html", resident=load(resident.code), outcome=outcome,
                           verdict=judged), status


@bp.post("/residents/<code>/face/enroll")
@roles_required(*RESIDENT_ROLES)
def enroll(code: str):
    resident, refused = _require_consent(code)
    if refused:
        return refused
    uploads = [f for f in request.files.getlist("photos") if f and f.filename is not None]
    frames = [f.read() for f in uploads[: face.MAX_FRAMES + 1]]
    frames = [f for f in frames if f]
    return _finish(resident, frames)


@bp.post("/residents/<code>/face/gate-camera")
@roles_required(*RESIDENT_ROLES)
def gate_camera(code: str):
    resident, refused = _require_consent(code)
    if refused:
        return refused
    grab = getattr(runtime(), "enrollment_burst", None)
    if not callable(grab):
        flash(_(enroll_words.NO_CAMERA), "error")
        return redirect(url_for("enroll.capture", code=code))
    try:
        burst = grab()
    except (FaceUnavailable, GateError, TimeoutError) as err:
        flash(enroll_words.camera_problem(err), "error")
        return redirect(url_for("enroll.capture", code=code))
    # The gate's camera is the one source the controller sees live, so only its burst can be asked
    # to blink or turn; uploads and webcam stills are vouched for by the operator (docs/face.md).
    return _finish(resident, list(burst.frames), burst.liveness)
