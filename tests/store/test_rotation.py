"""`gate keys rotate`: re-wraps data keys only, and survives being interrupted."""

import numpy as np
import pytest
from sqlalchemy import select

from gate.store import rotation
from gate.store.models import DataKey, FaceTemplate

from .helpers import get, resident_with_template


def _snapshot(ctx):
    with ctx.sessions() as session:
        return {t.id: (t.nonce, t.ciphertext) for t in session.scalars(select(FaceTemplate))}


def test_rotation_rewraps_every_data_key_and_keeps_templates(any_ctx):
    people = [resident_with_template(any_ctx, f"R{i}", seed=i) for i in range(3)]
    old_id = any_ctx.key_file.load().current.id
    ciphertexts = _snapshot(any_ctx)

    report = rotation.rotate(any_ctx.sessions, any_ctx.key_file, actor="test")

    keyring = any_ctx.key_file.load()
    assert report.rewrapped == 3 and keyring.current.id == report.new_key_id != old_id
    assert keyring.pending is None
    assert _snapshot(any_ctx) == ciphertexts  # template ciphertexts untouched
    with any_ctx.sessions() as session:
        assert {k.kek_id for k in session.scalars(select(DataKey))} == {report.new_key_id}
        for resident_id, encodings in people:
            assert np.array_equal(any_ctx.store.load(session, get(any_ctx, session, resident_id)).encodings, encodings)


def test_interrupted_rotation_loses_nothing_and_finishes_when_run_again(ctx, monkeypatch):
    people = [resident_with_template(ctx, f"R{i}", seed=i) for i in range(5)]
    monkeypatch.setattr(rotation, "BATCH", 2)

    class PowerCut(Exception):
        pass

    def cut_after_first_batch(done, total):
        raise PowerCut

    with pytest.raises(PowerCut):
        rotation.rotate(ctx.sessions, ctx.key_file, actor="test", progress=cut_after_first_batch)

    keyring = ctx.key_file.load()
    assert keyring.pending is not None  # mid-rotation: both keys on file
    with ctx.sessions() as session:
        kek_ids = [k.kek_id for k in session.scalars(select(DataKey))]
        assert sorted(set(kek_ids)) == sorted({keyring.current.id, keyring.pending.id})
        for resident_id, encodings in people:  # every template still opens mid-rotation
            assert np.array_equal(ctx.store.load(session, get(ctx, session, resident_id)).encodings, encodings)

    report = rotation.rotate(ctx.sessions, ctx.key_file, actor="test")
    assert report.resumed and report.new_key_id == keyring.pending.id and report.rewrapped == 3
    final = ctx.key_file.load()
    assert final.pending is None and final.current.id == keyring.pending.id
    with ctx.sessions() as session:
        for resident_id, encodings in people:
            assert np.array_equal(ctx.store.load(session, get(ctx, session, resident_id)).encodings, encodings)


def test_key_file_is_0600_in_a_0700_folder(data_dir, ctx):
    assert (ctx.settings.key_file.stat().st_mode & 0o777) == 0o600
    assert (ctx.settings.key_file.parent.stat().st_mode & 0o777) == 0o700
    rotation.rotate(ctx.sessions, ctx.key_file, actor="test")
    assert (ctx.settings.key_file.stat().st_mode & 0o777) == 0o600
    assert ctx.settings.key_file.parent == data_dir / "keys"
