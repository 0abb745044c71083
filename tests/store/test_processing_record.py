"""U2: the record of processing names purposes, data, storage, recipients, security, retention and counts,
from the real configuration, and never a password."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gate.config.sections import DatabaseSection, MqttSection, WebhookSection
from gate.store import consent, residents
from gate.store.processing_record import processing_record
from tests.conftest import GateCli
from tests.store import site
from tests.store.helpers import resident_with_template


def test_record_from_configuration_and_database(ctx) -> None:
    resident_with_template(ctx, "R1")
    with ctx.transaction() as session:
        residents.add_resident(session, code="R2", name="No Face", actor="t")
    settings = dataclasses.replace(
        ctx.settings,
        database=DatabaseSection(url="postgresql+psycopg://gate:s3cret-pw@db.estate.lan:5433/gate"),
        mqtt=MqttSection(enabled=True, host="broker.estate.lan", port=8883, topic="estate/doors"),
        webhook=WebhookSection(enabled=True, url="https://bot:hook-pw@hooks.example.com/gate"),
    )
    with ctx.sessions() as session:
        record = processing_record(session, settings).as_dict()
    text = json.dumps(record)
    assert "s3cret-pw" not in text and "hook-pw" not in text
    assert record["storage"] | {} == {
        "database_backend": "postgresql", "database_host": "db.estate.lan", "database_port": "5433",
        "database_name": "gate", "master_key_file": str(ctx.settings.key_file),
        "data_folder": str(ctx.settings.data_dir)}
    assert [(r["kind"], r["host"]) for r in record["recipients"]] == [
        ("MQTT broker", "broker.estate.lan:8883"), ("webhook", "hooks.example.com")]
    assert record["counts"]["residents_with_face"] == 1 and record["counts"]["residents_active"] == 2
    assert consent.FACE_PURPOSE in record["purposes"]
    assert any("face data" in c["category"] for c in record["categories"])
    assert record["retention"]["face_template_days_after_last_use"] == ctx.settings.template_retention_days
    assert [g["gate"] for g in record["impact_assessments"]] == ["main"]
    assert any("AES-256-GCM" in m for m in record["security_measures"])


def test_sqlite_storage_and_no_recipients_by_default(ctx) -> None:
    with ctx.sessions() as session:
        record = processing_record(session, ctx.settings).as_dict()
    assert record["storage"]["database_backend"] == "sqlite" and record["storage"]["database_host"] is None
    assert record["storage"]["database_name"].endswith("gate.db")
    assert record["recipients"] == []


def test_home_assistant_is_a_recipient_when_enabled(ctx) -> None:
    settings = dataclasses.replace(
        ctx.settings, mqtt=MqttSection(host="ha.estate.lan", port=8883, username="gate", password="hunter2"),
        homeassistant=dataclasses.replace(ctx.settings.homeassistant, enabled=True))
    with ctx.sessions() as session:
        record = processing_record(session, settings).as_dict()
    assert [(r["kind"], r["host"], r["includes_resident_id"]) for r in record["recipients"]] == [
        ("Home Assistant (MQTT broker)", "ha.estate.lan:8883", False)]
    assert "hunter2" not in json.dumps(record)


site_url, joined = site.site_url, site.joined


@pytest.mark.postgres
def test_at_a_gate_of_a_site_the_record_names_the_sealed_site_key_and_this_gates_key_file(
        joined: site.Site) -> None:
    for ctx in (joined.north, joined.south):
        with ctx.sessions() as session:
            record = processing_record(session, ctx.settings).as_dict()
        storage = record["storage"]
        assert "master_key_file" not in storage  # type: ignore[operator]
        assert "sealed for each approved gate" in storage["master_key"]  # type: ignore[index]
        gate_key = ctx.settings.key_file.parent / "gate.key"
        assert gate_key.exists() and storage["gate_key_file"] == str(gate_key)  # type: ignore[index]
        assert not any("kept in a file" in m for m in record["security_measures"])  # type: ignore[union-attr]
    assert GateCli(joined.south_dir).ok("privacy", "record").count("master_key_file") == 0
