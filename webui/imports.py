"""Residents → Import and Export: upload, dry-run report, apply, progress, PIN letters shown once;
exports and templates streamed. Admins only: an import changes many residents at once."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from gate.errors import GateError
from gate.store import exports
from gate.store.imports import Verdict
from webui.base import ADMIN, actor, ctx, db, fail, roles_required
from webui.import_jobs import ImportJob, ImportJobs

bp = Blueprint("imports", __name__)
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def jobs() -> ImportJobs:
    registry = current_app.extensions.get("import_jobs")
    if registry is None:
        context = ctx()
        registry = current_app.extensions.setdefault(
            "import_jobs", ImportJobs(context.sessions, context.hasher, context.clock))
    return registry


def job_or_404(job_id: str) -> ImportJob:
    job = jobs().get(job_id)
    if job is None:
        abort(404)
    return job


def verdict_word(verdict: Verdict) -> str:
    return {Verdict.ADD: _("add"), Verdict.CHANGE: _("change"), Verdict.SAME: _("unchanged"),
            Verdict.REFUSE: _("refused")}[verdict]


@bp.app_template_global("import_detail")
def import_detail(detail: str, params: dict[str, str]) -> str:
    """A report line's reason in the reader's language (the store keeps the catalogue message)."""
    if not detail:
        return ""
    return _(detail, **params) if params else _(detail)


@bp.get("/import/residents")
@roles_required(ADMIN)
def index():
    return render_template("imports/index.html", jobs=jobs().recent(), verdict_word=verdict_word)


@bp.post("/import/residents")
@roles_required(ADMIN)
def upload():
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        flash(_("Choose a CSV or XLSX file to import."), "error")
        return redirect(url_for("imports.index"))
    data = upload_file.read()
    try:
        job = jobs().start(owner=actor(), filename=upload_file.filename, data=data, dry_run=True,
                           generate_pins=request.form.get("generate_pins") == "yes")
    except GateError as err:
        fail(err)
        return redirect(url_for("imports.index"))
    return redirect(url_for("imports.job", job_id=job.id))


@bp.get("/import/residents/<job_id>")
@roles_required(ADMIN)
def job(job_id: str):
    found = job_or_404(job_id)
    response = make_response(render_template("imports/job.html", job=found, verdict_word=verdict_word,
                                             Verdict=Verdict))
    if found.state == "running":
        response.headers["Refresh"] = "1"  # the progress bar without script: the page reloads each second
    return response


@bp.post("/import/residents/<job_id>/apply")
@roles_required(ADMIN)
def apply(job_id: str):
    try:
        applied = jobs().apply(job_or_404(job_id), actor())
    except GateError as err:
        fail(err)
        return redirect(url_for("imports.job", job_id=job_id))
    return redirect(url_for("imports.job", job_id=applied.id))


@bp.get("/import/residents/<job_id>/letters")
@roles_required(ADMIN)
def letters(job_id: str):
    found = job_or_404(job_id)
    if found.owner != actor():
        abort(403)  # the PINs are for the operator who ran the import to print, nobody else
    taken = jobs().take_letters(found)
    if taken is None:
        flash(_("The PIN letters were shown once and are gone: set a new PIN on a resident's page if one was "
                "lost."), "error")
        return redirect(url_for("imports.job", job_id=job_id))
    response = make_response(render_template("imports/letters.html", letters=taken))
    response.headers["Cache-Control"] = "no-store"
    return response


def _language() -> str:
    return "zh" if request.args.get("headers") == "zh" else "en"


def _csv_response(chunks: Iterator[bytes], name: str) -> Response:
    return Response(stream_with_context(chunks), mimetype=CSV,
                    headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})


def _xlsx_response(write: Callable[[IO[bytes]], None], name: str) -> Response:
    """openpyxl writes a whole zip: into a spooled temporary file (memory up to 8 MB, then disk), streamed
    back in chunks and gone when closed."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the generator
    write(spool)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(64 * 1024):
                yield block

    return Response(chunks(), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})


@bp.get("/import/residents/template")
@roles_required(ADMIN)
def template():
    language = _language()
    if request.args.get("format") == "xlsx":
        return _xlsx_response(lambda target: exports.write_xlsx(db(), target, language, only_header=True),
                              "residents-template.xlsx")
    return _csv_response(exports.csv_chunks(db(), language, only_header=True), "residents-template.csv")


@bp.get("/export/residents")
@roles_required(ADMIN)
def export():
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    language = _language()
    exports.record_export(db(), actor(), fmt, exports.count(db()))
    db().commit()
    if fmt == "xlsx":
        return _xlsx_response(lambda target: exports.write_xlsx(db(), target, language), "residents.xlsx")
    return _csv_response(exports.csv_chunks(db(), language), "residents.csv")
