"""Importing residents: dry run line by line, idempotent by code, short write transactions, one audit summary."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from gate.store import audit, imports, residents
from gate.store.import_files import open_table
from gate.store.imports import Options, Verdict, run_import
from gate.store.models import AuditEntry, Card, Resident

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

FILE = ("住户编号,姓名,房号,分组,门禁卡\n"
        "A1,张伟,1-101,业主,100001\n"
        "A2,李娜,1-102,,100002;100003\n"
        "bad code!,王芳,1-103,,\n"
        "A1,张伟,1-101,,\n"
        "A3,,1-104,,\n"
        "A4,刘洋,1-105,,100001\n"
        "A5,陈静,1-106,,not-a-card\n")


def run(ctx, text: str, **options):
    lines: list[imports.LineResult] = []
    result = run_import(ctx.sessions, open_table(text.encode()), FAST, actor="tester", options=Options(**options),
                        on_line=lines.append)
    return result, {line.line: line for line in lines}


def count(ctx, model) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_dry_run_says_line_by_line_what_would_happen_and_writes_nothing(any_ctx):
    entries = count(any_ctx, AuditEntry)
    result, lines = run(any_ctx, FILE, dry_run=True)
    assert lines[2].verdict == Verdict.ADD and lines[2].text == "card 100001"
    assert lines[3].verdict == Verdict.ADD and lines[3].text == "card 100002, card 100003"
    assert lines[4].verdict == Verdict.REFUSE and "resident code is 1-32 letters" in lines[4].text
    assert lines[5].verdict == Verdict.REFUSE and "also on line 2" in lines[5].text
    assert lines[6].verdict == Verdict.REFUSE and lines[6].text == "A resident needs a name."
    assert lines[7].verdict == Verdict.REFUSE and "Card 100001 is also on line 2" in lines[7].text
    assert lines[8].verdict == Verdict.REFUSE and "card number" in lines[8].text
    assert result.counts == {Verdict.ADD: 2, Verdict.CHANGE: 0, Verdict.SAME: 0, Verdict.REFUSE: 5}
    assert result.kind == "CSV (UTF-8)" and result.done == 7
    assert count(any_ctx, Resident) == 0 and count(any_ctx, AuditEntry) == entries


def test_apply_then_same_file_again_changes_nothing_and_audits_once_per_import(any_ctx):
    first, _ = run(any_ctx, FILE)
    assert first.counts[Verdict.ADD] == 2 and first.failure is None
    with any_ctx.sessions() as session:
        a2 = residents.get_resident(session, "A2")
        assert (a2.name, a2.unit, a2.group_name) == ("李娜", "1-102", None)
        assert sorted(c.uid for c in a2.cards) == ["100002", "100003"]
        assert residents.get_resident(session, "A1").group_name == "业主"
    entries = count(any_ctx, AuditEntry)
    second, lines = run(any_ctx, FILE)
    assert second.counts == {Verdict.ADD: 0, Verdict.CHANGE: 0, Verdict.SAME: 2, Verdict.REFUSE: 5}
    assert lines[2].verdict == Verdict.SAME
    assert count(any_ctx, AuditEntry) == entries + 1  # the second import's summary, nothing else
    with any_ctx.sessions() as session:
        summary = session.scalars(select(AuditEntry).where(AuditEntry.action == "resident.import")
                                  .order_by(AuditEntry.id)).all()
        assert [json.loads(e.details)["added"] for e in summary] == [2, 0]
        assert json.loads(summary[1].details)["unchanged"] == 2
        assert audit.verify(session).ok


def test_changes_are_listed_cards_added_and_absent_columns_left_alone(any_ctx):
    run(any_ctx, "code,name,unit,group,cards\nB1,Li,2-101,owners,200001\n")
    with any_ctx.transaction() as session:
        residents.add_card(session, residents.get_resident(session, "B1"), "200009", actor="t")
    result, lines = run(any_ctx, "code,name,unit,cards\nB1,Li,2-102,200002\n")
    assert lines[2].verdict == Verdict.CHANGE and lines[2].text == "unit, card 200002"
    with any_ctx.sessions() as session:
        b1 = residents.get_resident(session, "B1")
        assert b1.unit == "2-102" and b1.group_name == "owners"  # no group column: kept
        assert sorted(c.uid for c in b1.cards) == ["200001", "200002", "200009"]  # not in the file: kept


def test_a_card_of_another_resident_and_a_moved_out_resident_are_refused(any_ctx):
    run(any_ctx, "code,name,cards\nC1,Zhao,300001\nC2,Qian,\n")
    with any_ctx.transaction() as session:
        residents.move_out(session, residents.get_resident(session, "C2"), any_ctx.store, actor="t")
    _, lines = run(any_ctx, "code,name,cards\nC3,Sun,300001\nC2,Qian,\n", dry_run=True)
    assert lines[2].text == "Card 300001 is already registered to resident C1."
    assert "moved out" in lines[3].text and lines[3].verdict == Verdict.REFUSE


def test_birth_dates_use_the_forms_rules(any_ctx):
    _, lines = run(any_ctx, "code,name,birth_date\nD1,Kid,2015-03-20\nD2,Kid,20/03/2015\nD3,Kid,2999-01-01\n",
                   dry_run=True)
    assert lines[2].verdict == Verdict.ADD
    assert "YYYY-MM-DD" in lines[3].text and "future" in lines[4].text


def test_generated_pins_come_back_as_letters_once_and_only_for_residents_without_a_pin(any_ctx):
    text = "code,name,unit,new_pin\nE1,Wu,5-101,是\nE2,Zheng,5-102,\n"
    result, lines = run(any_ctx, text)
    assert [(letter.code, letter.unit) for letter in result.letters] == [("E1", "5-101")]
    assert lines[2].text == "new PIN"
    pin = result.letters[0].pin
    with any_ctx.sessions() as session:
        stored = residents.get_resident(session, "E1").pin
        assert stored is not None and pin not in stored.pin_hash and FAST.verify(stored.pin_hash, pin)
        assert residents.get_resident(session, "E2").pin is None
    again, lines = run(any_ctx, text)
    assert again.letters == [] and lines[2].verdict == Verdict.SAME
    everyone, _ = run(any_ctx, text, generate_pins=True)
    assert [letter.code for letter in everyone.letters] == ["E2"]


def test_the_command_line_refuses_pin_lines_it_cannot_print(any_ctx):
    _, lines = run(any_ctx, "code,name,new_pin\nF1,Feng,yes\n", pins_allowed=False)
    assert lines[2].verdict == Verdict.REFUSE and "web UI" in lines[2].text


def test_writes_commit_in_short_transactions_and_a_failure_reports_what_was_saved(ctx, monkeypatch):
    monkeypatch.setattr(imports, "WRITE_BUDGET", 0.0)  # commit after every line
    real = imports._apply

    def flaky(session, plan, *args):
        if plan.code == "G4":
            raise RuntimeError("database went away")
        return real(session, plan, *args)

    monkeypatch.setattr(imports, "_apply", flaky)
    progress: list[int] = []
    text = "code,name\n" + "".join(f"G{i},Person {i}\n" for i in range(1, 7))
    result = run_import(ctx.sessions, open_table(text.encode()), FAST, actor="t",
                        on_progress=lambda r: progress.append(r.done))
    assert progress == [1, 2, 3]
    assert result.counts[Verdict.ADD] == 3 and result.failure is not None
    assert "stopped after 3 line(s), 3 of them saved" in result.failure and "database went away" in result.failure
    assert count(ctx, Resident) == 3
    with ctx.sessions() as session:
        summary = session.scalars(select(AuditEntry).where(AuditEntry.action == "resident.import")).one()
        assert json.loads(summary.details)["stopped"] is True and json.loads(summary.details)["added"] == 3
    monkeypatch.setattr(imports, "_apply", real)
    again = run_import(ctx.sessions, open_table(text.encode()), FAST, actor="t")
    assert again.counts[Verdict.SAME] == 3 and again.counts[Verdict.ADD] == 3 and again.failure is None


@pytest.mark.slow  # ~5 s on an idle two-core machine: 4,000 audited service calls
def test_two_thousand_households_import_with_a_valid_audit_chain(ctx):
    before = count(ctx, AuditEntry)
    text = "code,name,unit,cards\n" + "".join(
        f"H{i:05d},住户{i},{i // 100}-{i % 100:02d},{5_000_000 + i}\n" for i in range(2000))
    result = run_import(ctx.sessions, open_table(text.encode()), FAST, actor="t")
    assert result.counts[Verdict.ADD] == 2000 and result.failure is None
    assert count(ctx, Card) == 2000
    with ctx.sessions() as session:
        report = audit.verify(session)
    assert report.ok and report.entries == before + 4001  # resident.add + card.add per line, one summary


@pytest.mark.parametrize("raw", ["188:24910", "0x00BC614E", "0012345678"])
def test_card_numbers_are_normalised_like_the_form(ctx, raw):
    _, lines = run(ctx, f"code,name,cards\nK1,Kim,{raw}\n", dry_run=True)
    assert lines[2].text == "card 12345678"
