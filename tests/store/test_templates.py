"""Encrypted templates, stored apart from identity, on SQLite and PostgreSQL."""

import numpy as np
import pytest
from sqlalchemy import func, inspect, select

from gate.errors import ConsentError, KeyUnavailableError, TemplateIntegrityError
from gate.store import consent, residents
from gate.store.models import DataKey, FaceTemplate, Resident

from .helpers import get, random_encodings, resident_with_template


def test_round_trip_is_exact_float32(any_ctx):
    resident_id, encodings = resident_with_template(any_ctx, "A1")
    with any_ctx.sessions() as session:
        stored = any_ctx.store.load(session, get(any_ctx, session, resident_id))
    assert stored is not None
    assert stored.encodings.dtype == np.float32
    assert np.array_equal(stored.encodings, encodings)
    assert stored.model_version == "dlib-test"


def test_template_table_holds_no_identity_and_no_image(any_ctx):
    columns = {c["name"] for c in inspect(any_ctx.engine).get_columns("face_templates")}
    assert columns == {"id", "pseudonym", "model_version", "encodings", "nonce", "ciphertext", "created_at",
                       "last_used_at"}
    for table in inspect(any_ctx.engine).get_table_names():
        names = {c["name"] for c in inspect(any_ctx.engine).get_columns(table)}
        assert not any("image" in n or "photo" in n or "picture" in n for n in names), table


def test_ciphertext_is_not_the_plain_encoding(ctx):
    resident_id, encodings = resident_with_template(ctx, "A1")
    with ctx.sessions() as session:
        row = session.scalar(select(FaceTemplate))
    assert encodings.tobytes() not in row.ciphertext
    assert encodings[0, :4].tobytes() not in row.ciphertext


def test_a_row_copied_onto_another_resident_fails_to_decrypt(any_ctx):
    a_id, _ = resident_with_template(any_ctx, "A1", seed=1)
    b_id, _ = resident_with_template(any_ctx, "B1", seed=2)
    with any_ctx.transaction() as session:
        a, b = get(any_ctx, session, a_id), get(any_ctx, session, b_id)
        a_row = session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == a.face_pseudonym))
        b_row = session.scalar(select(FaceTemplate).where(FaceTemplate.pseudonym == b.face_pseudonym))
        a_key = session.get(DataKey, a_row.id)
        b_key = session.get(DataKey, b_row.id)
        # The attacker copies A's template and data key into B's row.
        b_row.nonce, b_row.ciphertext, b_row.encodings = a_row.nonce, a_row.ciphertext, a_row.encodings
        b_key.wrapped, b_key.kek_id = a_key.wrapped, a_key.kek_id
    with any_ctx.sessions() as session:
        with pytest.raises(TemplateIntegrityError):
            any_ctx.store.load(session, get(any_ctx, session, b_id))


def test_relabelled_model_version_fails_to_decrypt(ctx):
    resident_id, _ = resident_with_template(ctx, "A1")
    with ctx.transaction() as session:
        session.scalar(select(FaceTemplate)).model_version = "other-model"
    with ctx.sessions() as session, pytest.raises(TemplateIntegrityError):
        ctx.store.load(session, get(ctx, session, resident_id))


def test_no_template_without_current_consent(any_ctx):
    with any_ctx.transaction() as session:
        resident = residents.add_resident(session, code="N1", name="No Consent", actor="test")
        with pytest.raises(ConsentError, match="consent"):
            any_ctx.store.save(session, resident, random_encodings(), "dlib-test")


def test_withdrawal_destroys_the_template_at_once(any_ctx):
    resident_id, _ = resident_with_template(any_ctx, "A1")
    with any_ctx.transaction() as session:
        destroyed = consent.withdraw_consent(session, get(any_ctx, session, resident_id), any_ctx.store, operator="op")
    assert destroyed == 1
    with any_ctx.sessions() as session:
        resident = get(any_ctx, session, resident_id)
        assert resident.face_pseudonym is None
        assert any_ctx.store.load(session, resident) is None
        assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 0
        assert session.scalar(select(func.count()).select_from(DataKey)) == 0
        assert consent.current_consent(session, resident) is None


def test_re_enrollment_replaces_and_destroys_the_old_template(ctx):
    resident_id, first = resident_with_template(ctx, "A1", seed=1)
    with ctx.sessions() as session:
        old_pseudonym = get(ctx, session, resident_id).face_pseudonym
    second = random_encodings(seed=9)
    with ctx.transaction() as session:
        ctx.store.save(session, get(ctx, session, resident_id), second, "dlib-test")
    with ctx.sessions() as session:
        resident = get(ctx, session, resident_id)
        assert resident.face_pseudonym != old_pseudonym
        assert session.scalar(select(func.count()).select_from(FaceTemplate)) == 1
        assert np.array_equal(ctx.store.load(session, resident).encodings, second)


def test_load_reads_only_the_claimed_residents_rows(ctx):
    from sqlalchemy import event

    a_id, _ = resident_with_template(ctx, "A1", seed=1)
    b_id, _ = resident_with_template(ctx, "B1", seed=2)
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(f"{statement} {parameters}")

    with ctx.sessions() as session:
        b_pseudonym = get(ctx, session, b_id).face_pseudonym
        event.listen(ctx.engine, "before_cursor_execute", capture)
        try:
            ctx.store.load(session, get(ctx, session, a_id))
        finally:
            event.remove(ctx.engine, "before_cursor_execute", capture)
    assert statements, "load ran no query"
    assert not any(b_pseudonym in s for s in statements)
    template_queries = [s for s in statements if "face_templates" in s]
    assert template_queries and all("WHERE face_templates.pseudonym = " in s for s in template_queries)


def test_missing_key_file_makes_face_unavailable_with_a_clear_error(ctx):
    resident_id, _ = resident_with_template(ctx, "A1")
    ctx.settings.key_file.unlink()
    with ctx.sessions() as session, pytest.raises(KeyUnavailableError, match="card and PIN still work"):
        ctx.store.load(session, get(ctx, session, resident_id))


def test_wrong_key_file_cannot_open_templates(ctx, tmp_path):
    from gate.secrets.keys import KeyFile

    resident_id, _ = resident_with_template(ctx, "A1")
    ctx.settings.key_file.unlink()
    KeyFile(ctx.settings.key_file).create()
    with ctx.sessions() as session, pytest.raises(KeyUnavailableError, match="wrong key file"):
        ctx.store.load(session, get(ctx, session, resident_id))


def test_key_file_readable_by_others_is_refused(ctx):
    resident_id, _ = resident_with_template(ctx, "A1")
    ctx.settings.key_file.chmod(0o644)
    with ctx.sessions() as session, pytest.raises(KeyUnavailableError, match="chmod 600"):
        ctx.store.load(session, get(ctx, session, resident_id))


def test_removing_a_resident_deletes_everything_but_audit_facts(any_ctx):
    resident_id, _ = resident_with_template(any_ctx, "A1", card="123:456", pin="482915")
    with any_ctx.transaction() as session:
        counts = residents.remove_resident(session, get(any_ctx, session, resident_id), any_ctx.store, actor="op")
    assert counts == {"templates_destroyed": 1, "cards": 1, "pins": 1, "consents": 1}
    with any_ctx.sessions() as session:
        assert session.get(Resident, resident_id) is None
        for model in (FaceTemplate, DataKey):
            assert session.scalar(select(func.count()).select_from(model)) == 0
        from gate.store.models import AuditEntry, Card, Consent, Pin

        for model in (Card, Pin, Consent):
            assert session.scalar(select(func.count()).select_from(model)) == 0
        details = " ".join(e.details + e.subject for e in session.scalars(select(AuditEntry)))
        assert "Resident A1" not in details


@pytest.mark.parametrize("current", [None, "a key", [1, 2], {"id": "k1"}, {"id": "k1", "key": "not base64!"}])
def test_key_file_with_a_malformed_key_is_reported_damaged(tmp_path, current):
    import json

    from gate.secrets.keys import FORMAT, KeyFile

    path = tmp_path / "master.key"
    path.write_text(json.dumps({"format": FORMAT, "current": current}), encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(KeyUnavailableError, match=r"is damaged \(.+\)\. Restore it from your key backup"):
        KeyFile(path).load()
