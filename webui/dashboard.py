"""The privacy dashboard (/): what an impact assessment needs, on screen and as a report."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template

from gate.store.alternatives import invalid_policies
from gate.store.dashboard import privacy_report
from gate.store.processing_record import LABELS, STATIC_TEXTS, processing_record
from webui.base import AUDIT_ROLES, READ_EVENT_ROLES, ctx, db, now, roles_required

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@roles_required(*READ_EVENT_ROLES)
def index():
    return render_template("dashboard.html", report=privacy_report(db(), ctx().settings, now()),
                           invalid_policies=invalid_policies(db()))


@bp.get("/privacy/report")
@roles_required(*READ_EVENT_ROLES)
def report_page():
    return render_template("privacy_report.html", report=privacy_report(db(), ctx().settings, now()))


@bp.get("/privacy/report.json")
@roles_required(*READ_EVENT_ROLES)
def report_json():
    body = json.dumps(privacy_report(db(), ctx().settings, now()).as_dict(), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="privacy-report.json"'})


@bp.get("/privacy/record")
@roles_required(*AUDIT_ROLES)
def record_page():
    return render_template("privacy_record.html", record=processing_record(db(), ctx().settings, now()),
                           static=STATIC_TEXTS, labels=LABELS)


@bp.get("/privacy/record.json")
@roles_required(*AUDIT_ROLES)
def record_json():
    body = json.dumps(processing_record(db(), ctx().settings, now()).as_dict(), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="record-of-processing.json"'})
