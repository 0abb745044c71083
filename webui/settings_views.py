"""Settings (admins): gates and their policies, impact assessments, notice versions, retention, integrations."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from gate import site_config
from gate.config import SECTIONS, sitewide
from gate.core.policy import AT_LEAST_ONE, LIVENESS_MODES, POLICY_METHODS
from gate.errors import GateError, NotFoundError, PolicyError
from gate.i18n import locales
from gate.store import assessments, notices, retention, site_settings
from gate.store import gates as gate_service
from gate.store.models import Gate, Notice
from webui import gate_methods
from webui.base import SETTINGS_ROLES, actor, ctx, db, fail, now, roles_required, runtime
from webui.i18n import request_language

if TYPE_CHECKING:
    from gate.store.rotation_job import KeyRotationJob

bp = Blueprint("settings", __name__)
SECRET_WORDS = ("password", "secret", "token", "key")


def _masked(section: dict[str, object]) -> dict[str, object]:
    return {k: ("••••" if any(w in k.lower() for w in SECRET_WORDS) and v else v) for k, v in section.items()}


def _file_values() -> dict[str, dict[str, object]]:
    """What gate.toml says now for the keys editable here (it may differ from the running settings until a
    restart); the running settings when the file cannot be loaded."""
    from gate.config import load_settings

    try:
        settings = load_settings(ctx().settings.data_dir)
    except GateError:
        settings = ctx().settings
    return {name: _masked(dataclasses.asdict(getattr(settings, name))) for name in site_config.EDITABLE}


@bp.get("/settings")
@roles_required(*SETTINGS_ROLES)
def index(ticked: dict[str, list[str]] | None = None) -> ResponseReturnValue:
    """`ticked`: a gate's boxes as the admin ticked them for a preview (not saved)."""
    settings = ctx().settings
    gates = list(db().scalars(select(Gate).order_by(Gate.name)))
    ticked = {gate.name: gate.methods.split(",") for gate in gates} | (ticked or {})
    return render_template(
        "settings/index.html", gates=gates, ticked=ticked,
        previews={name: gate_methods.preview(methods) for name, methods in ticked.items()},
        methods=[m.value for m in POLICY_METHODS], method_rows=gate_methods.method_rows(),
        liveness_modes=LIVENESS_MODES, settings=settings,
        file_values=_file_values(), editable=site_config.EDITABLE,
        notices=list(db().scalars(select(Notice).order_by(Notice.id.desc()))),
        current_by_language=notices.current_notices(db()), language_names=locales.NATIVE_NAMES,
        rotation=_rotation_job().status, site_settings=_site_settings())


def _site_settings() -> list[dict[str, object]]:
    """The site-wide keys as the page shows them: the values in effect (read from the database)."""
    current = sitewide.values_of(ctx().settings)
    rows: list[dict[str, object]] = []
    for name in sitewide.SITE_WIDE_KEYS:
        section, key = sitewide.split(name)
        meaning = next(f.metadata["meaning"] for f in dataclasses.fields(SECTIONS[section]) if f.name == key)
        rows.append({"name": name, "value": current[name], "kind": sitewide.check_for(name).kind.__name__,
                     "meaning": meaning, "restart": name in sitewide.RESTART_KEYS})
    return rows


@bp.post("/settings/site/<name>")
@roles_required(*SETTINGS_ROLES)
def update_site(name: str) -> ResponseReturnValue:
    """One site-wide setting, for every gate: checked as gate.toml checks it, audited old -> new."""
    if name not in sitewide.SITE_WIDE_KEYS:
        abort(404)
    text = request.form.get("value", "false" if request.form.get("present") else "")[:200]
    try:
        value = site_settings.parse_text(name, text)
        old, new = site_settings.change(db(), name, value, actor=actor(), now=now())
        db().commit()
        ctx().refresh_site_settings()  # this gate at once; the others at their next poll
        message = (_("%(name)s changed from %(old)r to %(new)r for every gate. It applies at each gate when it "
                     "restarts.", name=name, old=old, new=new) if name in sitewide.RESTART_KEYS else
                   _("%(name)s changed from %(old)r to %(new)r for every gate.", name=name, old=old, new=new))
        flash(message, "ok")
    except GateError as err:
        db().rollback()
        fail(err)
    return redirect(url_for("settings.index") + "#site")


@bp.post("/settings/gates")
@roles_required(*SETTINGS_ROLES)
def add_gate() -> ResponseReturnValue:
    methods = ",".join(request.form.getlist("methods")) or gate_service.DEFAULT_METHODS
    try:
        gate_service.add_gate(db(), request.form.get("name", "").strip()[:64] or "?", methods, actor=actor())
        db().commit()
        flash(_("Gate added."), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("settings.index"))


def _gate(name: str) -> Gate:
    try:
        return gate_service.get_gate(db(), name)
    except NotFoundError:
        abort(404)


@bp.post("/settings/gates/<name>")
@roles_required(*SETTINGS_ROLES)
def set_gate(name: str) -> ResponseReturnValue:
    gate = _gate(name)
    form = request.form
    if form.get("action") == "preview":
        # Nothing saved: the page again, with these boxes ticked and what the screen would offer.
        return index(ticked={name: form.getlist("methods")})
    try:
        threshold = float(form["threshold"]) if form.get("threshold") else None
        pulse = int(form["pulse_ms"]) if form.get("pulse_ms") else None
    except ValueError:
        fail(PolicyError(_("Threshold is a decimal number and pulse a whole number of milliseconds.")))
        return redirect(url_for("settings.index"))
    methods = ",".join(form.getlist("methods"))
    try:
        if not methods:
            raise PolicyError.of(AT_LEAST_ONE)
        gate_service.set_gate(db(), gate, actor=actor(), methods=methods, liveness=form.get("liveness") or None,
                              threshold=threshold, pulse_ms=pulse)
        db().commit()
        _reload_gate_policy()
        flash(_("Gate %(name)s saved.", name=name), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("settings.index"))


def _reload_gate_policy() -> None:
    """Tell the running gate service (when there is one) to read its policy again."""
    reload = getattr(runtime(), "reload_policy", None)
    if callable(reload):
        reload()


@bp.post("/settings/gates/<name>/assessment")
@roles_required(*SETTINGS_ROLES)
def assess(name: str) -> ResponseReturnValue:
    gate = _gate(name)
    upload = request.files.get("document")
    try:
        try:
            assessed_on = date.fromisoformat(request.form.get("assessed_on", ""))
        except ValueError as err:
            raise PolicyError(_("Give the assessment date as YYYY-MM-DD.")) from err
        assessments.record_assessment(db(), gate, assessed_on=assessed_on, approver=request.form.get("approver", ""),
                                      document=upload.read() if upload else b"", actor=actor(),
                                      site_timezone=ctx().settings.site.timezone, now=now())
        db().commit()
        flash(_("Impact assessment recorded for %(name)s; face can now be enabled there.", name=name), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("settings.index"))


@bp.route("/settings/notices/new", methods=["GET", "POST"])
@roles_required(*SETTINGS_ROLES)
def new_notice() -> ResponseReturnValue:
    """A notice version in one language (?language=, else the operator's); a site publishes one per language."""
    language = locales.match(request.values.get("language")) or request_language()
    days = ctx().settings.template_retention_days

    def page(fields: dict[str, str], version: str) -> str:
        return render_template("settings/notice.html", fields=fields, labels=notices.REQUIRED_FIELDS, version=version,
                               retention=notices.retention_text(days, language), language=language,
                               language_names=locales.NATIVE_NAMES)

    if request.method == "POST":
        fields = {key: request.form.get(key, "")[:4000] for key in notices.REQUIRED_FIELDS}
        version = request.form.get("version", "").strip()[:32]
        try:
            if not version:
                raise PolicyError(_("Give the new notice a version name, e.g. 2."))
            notice = notices.create_notice(db(), version, fields, actor(), site_days=days, language=language)
            if request.form.get("publish") == "yes":
                notices.publish_notice(db(), notice.version, actor())
            db().commit()
            flash(_("Notice version %(version)s saved and published: new consents are given against it.",
                    version=notice.version) if notice.published_at else
                  _("Notice version %(version)s saved.", version=notice.version), "ok")
            return redirect(url_for("settings.index"))
        except GateError as err:
            fail(err)
            return page(fields, version), 400
    current = notices.current_notices(db()).get(language)
    return page(notices.fields_of(current) if current else notices.default_fields(language), "")


@bp.post("/settings/notices/<version>/publish")
@roles_required(*SETTINGS_ROLES)
def publish_notice(version: str) -> ResponseReturnValue:
    try:
        notices.publish_notice(db(), version, actor())
        db().commit()
        flash(_("Notice version %(version)s published.", version=version), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("settings.index"))


@bp.post("/settings/config/<section>")
@roles_required(*SETTINGS_ROLES)
def update_config(section: str) -> ResponseReturnValue:
    fields = site_config.EDITABLE.get(section)
    if fields is None:
        abort(404)
    try:
        values = {key: site_config.parse_value(section, key, request.form.get(key, "")[:500])
                  for key, kind in fields.items() if kind is bool or request.form.get(key, "").strip()}
        site_config.update_section(db(), ctx().settings.data_dir, section, values, actor=actor())
        db().commit()
        flash(_("[%(section)s] saved to %(file)s; it applies when `gate serve` restarts.", section=section,
                file=ctx().settings.config_file), "ok")
    except GateError as err:
        fail(err)
    return redirect(url_for("settings.index"))


def _rotation_job() -> KeyRotationJob:
    from flask import current_app

    from gate.store.rotation_job import KeyRotationJob

    context = ctx()
    return current_app.extensions.setdefault("key_rotation", KeyRotationJob(context.sessions, context.key_file))


@bp.post("/settings/keys/rotate")
@roles_required(*SETTINGS_ROLES)
def rotate_keys() -> ResponseReturnValue:
    if _rotation_job().start(actor()):
        flash(_("Key rotation started: data keys are re-wrapped in the background; this page shows the progress."),
              "ok")
    else:
        flash(_("A key rotation is already running."), "error")
    return redirect(url_for("settings.index") + "#keys")


@bp.post("/settings/purge")
@roles_required(*SETTINGS_ROLES)
def purge() -> ResponseReturnValue:
    settings = ctx().settings
    report = retention.purge(db(), site_days=settings.template_retention_days, actor=actor(), now=ctx().site_now(db()),
                             forbid_minors=settings.forbid_face_for_minors, timezone=settings.site.timezone)
    db().commit()
    flash(_("Retention purge done: %(total)s template(s) deleted (%(expired)s expired, %(moved_out)s moved out, "
            "%(no_consent)s without consent, %(minor)s of residents under 14, %(orphaned)s orphaned).",
            total=report.total, expired=report.expired, moved_out=report.moved_out, no_consent=report.no_consent,
            minor=report.minor, orphaned=report.orphaned), "ok")
    return redirect(url_for("settings.index"))
