"""Small builders for foundation tests."""

from __future__ import annotations

import numpy as np

from gate.context import GateContext
from gate.store import consent, residents
from gate.store.models import Resident


def random_encodings(count: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def resident_with_template(ctx: GateContext, code: str, seed: int = 0, *, card: str | None = None,
                           pin: str | None = None) -> tuple[int, np.ndarray]:
    encodings = random_encodings(seed=seed)
    with ctx.transaction() as session:
        resident = residents.add_resident(session, code=code, name=f"Resident {code}", actor="test")
        if card:
            residents.add_card(session, resident, card, actor="test")
        if pin:
            residents.set_pin(session, resident, pin, ctx.hasher, actor="test")
        consent.grant_consent(session, resident, operator="test", retention_days=365)
        ctx.store.save(session, resident, encodings, "dlib-test")
        return resident.id, encodings


def get(ctx: GateContext, session, resident_id: int) -> Resident:
    resident = session.get(Resident, resident_id)
    assert resident is not None
    return resident
