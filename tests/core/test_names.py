"""The masked name on the gate's screen."""

from __future__ import annotations

import pytest

from gate.core.names import mask_name


@pytest.mark.parametrize(("name", "shown"), [
    ("张小明", "张*明"), ("张明", "张*"), ("欧阳小明", "欧*明"), ("Anna Lee", "A*a L*e"), ("Jo", "J*"),
    ("X", "X"), ("  Anna   Lee ", "A*a L*e"),
])
def test_every_word_keeps_only_its_ends(name: str, shown: str) -> None:
    assert mask_name(name) == shown
