"""Face test fixtures: one engine (dlib models loaded once) and real photos read from ../shared/faces."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from gate.face.engine import FaceEngine
from gate.face.images import read_image_file
from tests.conftest import faces_dir


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    engine = FaceEngine()
    engine.load()
    return engine


@lru_cache(maxsize=64)
def _photo(path: Path) -> np.ndarray:
    array = read_image_file(path)
    array.setflags(write=False)  # shared between tests: nobody may paint on it
    return array


@pytest.fixture(scope="session")
def photo() -> Callable[[str], np.ndarray]:
    """photo("people/obama/obama.jpg") -> RGB array, decoded once per session."""
    root = faces_dir()

    def load(relative: str) -> np.ndarray:
        return _photo(root / relative)

    return load


@pytest.fixture(scope="session")
def dlib_engine() -> FaceEngine:
    """The same models with dlib's own runtime for the encoder: the reference the onnx engine must match."""
    engine = FaceEngine(encoder="dlib")
    engine.load()
    return engine
