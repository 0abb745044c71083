"""Residents → Import and Export in the web UI: admin only, CSRF, dry run then apply as a background job,
PIN letters shown once, exports streamed."""

from __future__ import annotations

import codecs
import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from gate.store import residents
from gate.store.models import AuditEntry, OperatorRole
from tests.webui.conftest import CSRF_RE

FILE = "住户编号,姓名,房号,门禁卡,生成密码\nA1,张伟,1-101,100001,是\nA2,李娜,1-102,100002,\nA3,,1-103,,\n"


def upload(auth, text: str | bytes, name: str = "residents.csv", **form):
    data = text.encode("gb18030") if isinstance(text, str) else text
    return auth.post("/import/residents", {"file": (io.BytesIO(data), name), **form}, token_from="/import/residents",
                     content_type="multipart/form-data")


def finished(app, client, location: str) -> str:
    app.extensions["import_jobs"].join(timeout=60)
    page = client.get(location)
    assert page.status_code == 200 and "Refresh" not in page.headers
    return page.get_data(as_text=True)


def test_dry_run_then_apply_then_letters_once(app, auth, client, gctx):
    auth.login()
    response = upload(auth, FILE)
    assert response.status_code == 302
    report = finished(app, client, response.location)
    assert "CSV (GB18030)" in report and "A resident needs a name." in report
    assert re.search(r"to add</th><td>2<", report) and re.search(r"refused</th><td>1<", report)
    with gctx.sessions() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "resident.add")) is None
    token = CSRF_RE.search(report).group(1)
    applied = client.post(response.location + "/apply", data={"csrf_token": token})
    assert applied.status_code == 302 and applied.location != response.location
    result = finished(app, client, applied.location)
    assert re.search(r"added</th><td>2<", result) and "Print the PIN letters (1, shown once)" in result
    with gctx.sessions() as session:
        assert residents.get_resident(session, "A2").cards[0].uid == "100002"
        stored = residents.get_resident(session, "A1").pin
    letters = client.get(applied.location + "/letters")
    assert letters.status_code == 200 and letters.headers["Cache-Control"] == "no-store"
    page = letters.get_data(as_text=True)
    pin = re.search(r'class="pin-once">(\d+)<', page).group(1)
    assert gctx.hasher.verify(stored.pin_hash, pin) and "A1" in page and "A2" not in page
    again = client.get(applied.location + "/letters")
    assert again.status_code == 302 and pin not in client.get(again.location).get_data(as_text=True)
    # the dry run gave its file to the import: it cannot be applied twice
    twice = client.post(response.location + "/apply", data={"csrf_token": token})
    assert "already imported" in client.get(twice.location).get_data(as_text=True)


def test_a_file_that_cannot_be_read_says_why(app, auth, client):
    auth.login()
    report = finished(app, client, upload(auth, b"code,phone\nA,1\n").location)
    assert "Unknown column(s) phone" in report and 'id="apply"' not in report


def test_running_page_refreshes_and_shows_progress(app, auth, client, monkeypatch):
    import threading

    from gate.store import imports as import_service

    gate = threading.Event()
    real = import_service.run_import

    def held(*args, **kwargs):
        gate.wait(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(import_service, "run_import", held)
    auth.login()
    location = upload(auth, FILE).location
    page = client.get(location)
    assert page.headers["Refresh"] == "1" and 'id="progress"' in page.get_data(as_text=True)
    assert "of 3 lines" in page.get_data(as_text=True)
    busy = upload(auth, FILE)
    assert "An import is already running" in client.get(busy.location).get_data(as_text=True)
    gate.set()
    finished(app, client, location)


def test_only_admins_and_only_with_csrf(app, auth, client):
    auth.login("op", OperatorRole.OPERATOR)
    assert client.get("/import/residents").status_code == 403
    assert client.get("/export/residents").status_code == 403
    auth.logout()
    auth.login()
    refused = client.post("/import/residents", data={"file": (io.BytesIO(b"code,name\n"), "a.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400


def test_exports_stream_csv_with_bom_and_xlsx_and_are_audited(auth, client, gctx):
    with gctx.transaction() as session:
        resident = residents.add_resident(session, code="E1", name="王芳", unit="2-201", group_name="租户",
                                          actor="t")
        residents.add_card(session, resident, "188:24910", actor="t")
        residents.set_pin(session, resident, "739251", gctx.hasher, actor="t")
    auth.login()
    csv_response = client.get("/export/residents?format=csv&headers=zh")
    body = csv_response.get_data()
    assert body.startswith(codecs.BOM_UTF8)
    assert "E1,王芳,2-201,租户,12345678,," in body.decode("utf-8-sig") and b"739251" not in body
    book = load_workbook(io.BytesIO(client.get("/export/residents?format=xlsx").get_data()), read_only=True)
    assert list(book.worksheets[0].iter_rows(values_only=True))[1][:5] == ("E1", "王芳", "2-201", "租户", "12345678")
    template = client.get("/import/residents/template?format=csv&headers=zh").get_data().decode("utf-8-sig")
    assert template.strip() == "住户编号,姓名,房号,分组,门禁卡,出生日期,监护人"
    with gctx.sessions() as session:
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "resident.export")).all()) == 2
