"""Fixtures shared by every test folder: installations on SQLite and PostgreSQL, the CLI, real faces."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from gate.context import GateContext
from gate.install import initialise

if TYPE_CHECKING:
    from flask import Flask

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "faces"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def faces_dir() -> Path:
    if not FACES.is_dir():
        pytest.skip(f"real face photos not found at {FACES} (the shared/ folder beside the checkout)")
    return FACES


@pytest.fixture(scope="session")
def faces() -> Path:
    return faces_dir()


@pytest.fixture(scope="session", autouse=True)
def face_graph_seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """The face encoder's graph converted once per test run, not once per gate a test builds: every
    installation's models/ copies it from here (GATE_FACE_GRAPH_SEED, also inherited by the gates tests
    start as processes). pytest-xdist's workers share one conversion (the first converts, under a lock).
    Tests of the conversion itself unset the variable. Without the models or onnx, nothing is seeded."""
    import fcntl
    import os

    from gate.face import onnx_encoder
    from gate.face.engine import ModelPaths

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, shared by workers
    seed = root / "face-graph-seed"
    seed.mkdir(mode=0o700, exist_ok=True)
    with open(root / "face-graph-seed.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        try:
            onnx_encoder.prepare(ModelPaths.default().encoder, seed)
            converted = True
        except Exception:  # no model package, no onnx: each gate converts (or falls back) as in production
            converted = False
    if not converted:
        yield None
        return
    before = os.environ.get(onnx_encoder.SEED_ENV)
    os.environ[onnx_encoder.SEED_ENV] = str(seed)
    yield seed
    if before is None:
        os.environ.pop(onnx_encoder.SEED_ENV, None)
    else:
        os.environ[onnx_encoder.SEED_ENV] = before


def _postgres_database() -> Iterator[str]:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as err:  # noqa: BLE001 - any failure means: no server here
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(err).__name__}: {err}); "
                    "run scripts/test-services to start it")
    name = f"gate_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gate.db'}"
    else:
        yield from _postgres_database()


#: What a site fills in before publishing: `gate init` only drafts the notice (its contact is a placeholder).
SITE_NOTICE_FIELDS = {"processor": "Lakeside Gardens Property Management Co., Ltd.",
                      "contact": "Management office, Building 1; tel. 0571-8800 1234; privacy@lakeside-gardens.cn"}


def publish_site_notice(data_dir: Path, version: str = "1", *, letter_codes: bool = False) -> None:
    """Fill in and publish the notice `gate init` drafted (version 1), as an admin does after `gate init`.

    `letter_codes`: the suite's residents have codes like A101, for a site that never types codes on a
    keypad ([site] resident_codes = "letters"); written as `gate init` would have seeded it, so no test sees
    an extra "site.setting" change in the audit log. Both in one context: this runs for every installation."""
    import json

    from gate.config import load_settings
    from gate.store import notices
    from gate.store.models import SiteSetting

    context = GateContext.open(data_dir)
    try:
        with context.transaction() as session:
            if notices.current_notice(session) is None:
                notices.create_notice(session, version, {**notices.default_fields(), **SITE_NOTICE_FIELDS}, "test",
                                      site_days=load_settings(data_dir).template_retention_days)
                notices.publish_notice(session, version, "test")
            if letter_codes:
                row = session.get(SiteSetting, "site.resident_codes")
                assert row is not None, "gate init seeds every site-wide key"
                row.value = json.dumps("letters")
    finally:
        context.close()


def make_installation(data_dir: Path, database_url: str | None = None) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    if database_url:
        (data_dir / "gate.toml").write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    initialise(data_dir)
    publish_site_notice(data_dir, letter_codes=True)
    return data_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An initialised installation on SQLite."""
    return make_installation(tmp_path / "data")


@pytest.fixture
def any_data_dir(tmp_path: Path, database_url: str) -> Path:
    """An initialised installation, once on SQLite and once on PostgreSQL."""
    return make_installation(tmp_path / "data", database_url)


# ---- a fresh installation per test, copied from one built per session (gate init costs ~1-2 s) ----
#
# The copy is what `make_installation` would build (same migrations, notice, gate, site settings), with
# the session's master key. On PostgreSQL the database is cloned with CREATE DATABASE ... TEMPLATE, which
# copies files instead of running the migrations again.


def fast_hasher():
    """argon2id with test-sized cost (the production parameters cost ~50 ms per hash, far more on a loaded
    machine), for tests where the hash's cost is not what is tested."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_installation(tmp_path_factory.mktemp("sqlite-template") / "data")


@pytest.fixture(scope="session")
def _postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """An installation on a PostgreSQL database that serves as the template of each test's database."""
    for url in _postgres_database():
        name = url.rsplit("/", 1)[1]
        yield make_installation(tmp_path_factory.mktemp("postgres-template") / "data", url), name


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_copied_data_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """As `any_data_dir` (once on SQLite, once on PostgreSQL), copied from the session's template."""
    import shutil

    target = tmp_path / "data"
    if request.param == "sqlite":
        shutil.copytree(request.getfixturevalue("_sqlite_template"), target)
        yield target
        return
    import psycopg

    template_dir, template = request.getfixturevalue("_postgres_template")
    shutil.copytree(template_dir, target)
    name = f"gate_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        try:
            (target / "gate.toml").write_text(
                f'[database]\nurl = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"\n', encoding="utf-8")
            yield target
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def any_copied_ctx(any_copied_data_dir: Path) -> Iterator[GateContext]:
    """A context on a copied installation (SQLite and PostgreSQL) with the test-cost hasher."""
    context = GateContext.open(any_copied_data_dir)
    context.hasher = fast_hasher()
    yield context
    context.close()


@pytest.fixture
def ctx(data_dir: Path) -> Iterator[GateContext]:
    context = GateContext.open(data_dir)
    yield context
    context.close()


@pytest.fixture
def any_ctx(any_data_dir: Path) -> Iterator[GateContext]:
    context = GateContext.open(any_data_dir)
    yield context
    context.close()


class GateCli:
    """Runs `gate` in-process with a data folder, as a person would type it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        from gate.cli import cli

        return self.runner.invoke(cli, ["--data-dir", str(self.data_dir), *args], input=input)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self(*args, input=input)
        assert result.exit_code == 0, f"gate {' '.join(args)} failed: {result.output}{result.stderr}"
        return result.stdout


@pytest.fixture
def gate_cli(data_dir: Path) -> GateCli:
    return GateCli(data_dir)


#: End-to-end tests that drive real driver threads against simulators over ptys, real subprocesses or
#: real sockets, on two shared cores: a scheduling hiccup can miss one of their deadlines. They are run
#: again up to twice; a failure that repeats three times fails the suite. Unit tests are never re-run.
TIMING_SENSITIVE = (
    "tests/drivers/test_door.py", "tests/drivers/test_modbus_strict.py", "tests/drivers/test_osdp_noise.py",
    "tests/drivers/test_readers.py", "tests/drivers/test_relays.py", "tests/drivers/test_sim_cli.py",
    "tests/drivers/test_pulse_faults.py", "tests/drivers/test_board_pulse.py", "tests/drivers/test_line_noise.py",
    "tests/face/test_camera.py", "tests/service/", "tests/webui/test_gate_endpoints.py",
    "tests/webui/test_browser.py", "tests/multigate/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = Path(str(item.fspath)).resolve().relative_to(REPO).as_posix()
        if where.startswith(TIMING_SENSITIVE) and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1))


# ---- one Chromium per test process, for every browser test (Playwright's sync API allows one per thread) ----

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        # A fake webcam, so the webcam path (getUserMedia -> frame check -> feedback -> enroll) runs headless.
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        # The kiosk's tone plays before anyone touched the page, as on the gate's screen (deploy/kiosk).
        "--autoplay-policy=no-user-gesture-required"]
WEBCAM_PHOTO = "special/obama/obama-480p.jpg"


def fake_webcam_video(photo: Path, target: Path) -> Path:
    """The test's fake camera: a real photo as a few frames of Y4M (Chromium's file-backed fake device).
    Test fixture only, in pytest's temporary folder; the product never writes pixels anywhere."""
    import numpy as np
    from PIL import Image

    with Image.open(photo) as image:
        rgb = image.convert("RGB")
        width, height = rgb.width - rgb.width % 2, rgb.height - rgb.height % 2
        ycc = np.asarray(rgb.crop((0, 0, width, height)).convert("YCbCr"))
    frame = ycc[:, :, 0].tobytes() + ycc[::2, ::2, 1].tobytes() + ycc[::2, ::2, 2].tobytes()
    with target.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(3):
            handle.write(b"FRAME\n" + frame)
    return target


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a real port of 127.0.0.1 (werkzeug's threaded server on a daemon thread), for the browser:
    yields its base URL, http://127.0.0.1:<port>; afterwards the server stops and its socket is closed."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One Chromium per test session, shared by every browser test here (Playwright's sync API allows one
    per process)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium: run scripts/test-services")
    from playwright.sync_api import sync_playwright

    video = fake_webcam_video(faces_dir() / WEBCAM_PHOTO, tmp_path_factory.mktemp("webcam") / "face.y4m")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=ARGS + [f"--use-file-for-fake-video-capture={video}"])
        yield instance
        instance.close()
