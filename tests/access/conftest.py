"""The offline directory is tested against the same seeded installation as the gate service."""

from tests.service.conftest import installation

__all__ = ["installation"]
