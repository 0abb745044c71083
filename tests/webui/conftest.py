"""flaskr-style fixtures: an app on a fresh installation, a client, and AuthActions that sign in for real."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from gate.context import GateContext
from gate.store import operators as operator_service
from gate.store.models import OperatorRole
from tests.conftest import make_installation
from webui import create_app

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def _installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `gate init` per session; each test gets a copy (migrating per test costs ~0.5 s)."""
    return make_installation(tmp_path_factory.mktemp("template") / "data")


@pytest.fixture
def data_dir(_installed: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(_installed, target)
    return target


@pytest.fixture
def gctx(data_dir: Path) -> Iterator[GateContext]:
    context = GateContext.open(data_dir)
    # Still argon2id, with test-sized cost: the production parameters cost ~50 ms per hash.
    context.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield context
    context.close()


def add_operator(context: GateContext, username: str, role: OperatorRole) -> None:
    with context.transaction() as session:
        operator_service.create_operator(session, context.hasher, username=username, password=PASSWORD,
                                         role=role, actor="test")


@pytest.fixture(scope="session")
def face_engine():
    """dlib's models, loaded once for the whole session and shared by the apps that need face."""
    from gate.face.engine import FaceEngine

    engine = FaceEngine()
    if not engine.available:
        pytest.skip("face models are not installed (dlib / face_recognition_models)")
    return engine


@pytest.fixture
def app(gctx: GateContext) -> Flask:
    return create_app(gctx, config={"TESTING": True})


@pytest.fixture
def face_app(app: Flask, face_engine) -> Flask:
    app.extensions["face_engine"] = face_engine
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


class AuthActions:
    def __init__(self, client: FlaskClient, context: GateContext) -> None:
        self.client = client
        self.context = context

    def login(self, username: str = "admin", role: OperatorRole = OperatorRole.ADMIN, password: str = PASSWORD):
        with self.context.sessions() as session:
            exists = session.scalar(
                __import__("sqlalchemy").select(__import__("gate.store.models", fromlist=["Operator"]).Operator.id)
                .where(__import__("gate.store.models", fromlist=["Operator"]).Operator.username == username))
        if exists is None:
            add_operator(self.context, username, role)
        token = csrf(self.client, "/login")
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf(self.client, "/")
        return self.client.post("/logout", data={"csrf_token": token})

    def token(self, path: str = "/") -> str:
        return csrf(self.client, path)

    def post(self, path: str, data: dict | None = None, token_from: str = "/", **kwargs):
        payload = dict(data or {})
        payload["csrf_token"] = self.token(token_from)
        return self.client.post(path, data=payload, **kwargs)


@pytest.fixture
def auth(client: FlaskClient, gctx: GateContext) -> AuthActions:
    return AuthActions(client, gctx)
