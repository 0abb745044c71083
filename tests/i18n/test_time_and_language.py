"""Local time for people and the language of each request."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gate.i18n import locales, timefmt
from gate.i18n.catalogue import gettext_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_an_early_beijing_entry_reads_as_its_local_time_with_the_offset() -> None:
    stored = datetime(2026, 11, 30, 23, 30, 5)  # naive UTC, as the database gives it
    assert timefmt.local_time_text(stored, SHANGHAI) == "2026-12-01 07:30:05 UTC+08:00"
    assert timefmt.local_date_text(stored, SHANGHAI) == "2026-12-01"
    assert timefmt.iso_with_offset(stored, SHANGHAI) == "2026-12-01T07:30:05+08:00"
    assert timefmt.local_time_text(stored, ZoneInfo("UTC"), seconds=False) == "2026-11-30 23:30 UTC"
    assert timefmt.local_date_text(date(2026, 1, 2), SHANGHAI) == "2026-01-02"
    assert timefmt.local_time_text(None, SHANGHAI) == ""


@pytest.mark.parametrize(("asked", "got"), [("zh", "zh_Hans_CN"), ("zh-CN", "zh_Hans_CN"),
                                            ("zh_CN.UTF-8", "zh_Hans_CN"), ("zh_Hans_CN", "zh_Hans_CN"),
                                            ("en-GB", "en"), ("en", "en"), ("fr", None), ("", None),
                                            (None, None), ("C.UTF-8", None)])
def test_a_requested_language_matches_a_supported_one(asked: str | None, got: str | None) -> None:
    assert locales.match(asked) == got


def test_the_catalogue_translates_outside_flask() -> None:
    assert gettext_for("zh_Hans_CN")("Residents") == "住户"
    assert gettext_for("en")("Residents") == "Residents"
    assert gettext_for(None)("Residents") == "Residents"
