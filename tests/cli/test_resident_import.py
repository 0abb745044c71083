"""`gate resident import` and `gate resident export`: the line-by-line report, round trips, no PINs."""

from __future__ import annotations

import codecs

from openpyxl import load_workbook

FILE = "住户编号,姓名,房号,分组,门禁卡\nA1,张伟,1-101,业主,100001\nA2,李娜,1-102,,100002;100003\nA3,,1-103,,\n"


def test_dry_run_then_import_then_again_reports_line_by_line(gate_cli, tmp_path):
    source = tmp_path / "residents.csv"
    source.write_bytes(FILE.encode("gb18030"))
    dry = gate_cli("resident", "import", str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "residents.csv: CSV (GB18030), 3 line(s) (dry run: nothing is changed)" in dry.stdout
    assert "line 2\tA1\tadd\tcard 100001" in dry.stdout
    assert "line 4\tA3\trefused\tA resident needs a name." in dry.stdout
    assert "would add 2, would change 0, unchanged 0, refused 1" in dry.stdout
    assert "A1" not in gate_cli.ok("resident", "list")
    assert "added 2, changed 0" in gate_cli.ok("resident", "import", str(source))
    again = gate_cli.ok("resident", "import", str(source))
    assert "line 2\tA1\tunchanged" in again and "added 0, changed 0, unchanged 2, refused 1" in again


def test_pin_requests_are_refused_on_the_command_line(gate_cli, tmp_path):
    source = tmp_path / "pins.csv"
    source.write_text("code,name,new_pin\nP1,Pan,yes\n", encoding="utf-8")
    assert "refused\tPIN letters are printed from the web UI" in gate_cli.ok("resident", "import", str(source))


def test_export_is_utf8_with_bom_without_pins_and_imports_back_unchanged(gate_cli, tmp_path):
    source = tmp_path / "residents.csv"
    source.write_text(FILE, encoding="utf-8")
    gate_cli.ok("resident", "import", str(source))
    gate_cli.ok("pin", "set", "A1", input="739251\n")
    exported = tmp_path / "export.csv"
    gate_cli.ok("resident", "export", "-o", str(exported), "--headers", "zh")
    data = exported.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "住户编号,姓名,房号,分组,门禁卡,出生日期,监护人"
    assert "A2,李娜,1-102,,100002;100003,," in text and "739251" not in text
    assert "unchanged 2, refused 0" in gate_cli.ok("resident", "import", str(exported))


def test_xlsx_export_keeps_card_numbers_as_text_and_imports_back(gate_cli, tmp_path):
    source = tmp_path / "residents.csv"
    source.write_text(FILE, encoding="utf-8")
    gate_cli.ok("resident", "import", str(source))
    book_path = tmp_path / "residents.xlsx"
    gate_cli.ok("resident", "export", "--format", "xlsx", "-o", str(book_path))
    sheet = load_workbook(book_path, read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:5] == ("code", "name", "unit", "group", "cards") and values[1][4] == "100001"
    assert "unchanged 2, refused 0" in gate_cli.ok("resident", "import", str(book_path))
    refused = gate_cli("resident", "export", "--format", "xlsx")
    assert refused.exit_code != 0 and "-o residents.xlsx" in refused.output


def test_csv_export_to_stdout(gate_cli, tmp_path):
    source = tmp_path / "residents.csv"
    source.write_text(FILE, encoding="utf-8")
    gate_cli.ok("resident", "import", str(source))
    result = gate_cli("resident", "export")
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(codecs.BOM_UTF8) and "A1,张伟,1-101,业主,100001" in result.stdout
