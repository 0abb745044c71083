"""deploy/install, run for real in a throw-away root: the service user, folders, venv, unit, upgrade, rollback.

What runs for real: useradd/usermod (against the root's /etc files, `--prefix`), Debian's python3.11
creating the venvs, pip installing the wheel and its dependencies exactly as on a gate, `gate init`,
`gate backup` and `gate db upgrade` as the service user's uid (setpriv), `systemctl --root ... enable`.
What does not: a running systemd (no daemon-reload, start or stop), the machine's own /etc/passwd,
devices. Offline: pip takes every package from a wheelhouse repacked from the shared virtualenv's
installed packages (the same files an index would have given).
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from gate.config import load_settings

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "deploy" / "install"
#: Debian's interpreter, as on a gate; pyenv's lives under /root, which the service user cannot enter.
DEBIAN_PYTHON = Path("/usr/bin/python3.11")
#: Far above the machine's own users, so the throw-away `gate` user's uid is nobody's here.
LOGIN_DEFS = "SYS_UID_MIN 60900\nSYS_UID_MAX 60999\nSYS_GID_MIN 60900\nSYS_GID_MAX 60999\n"


# ---- a wheelhouse from the packages already installed in the shared venv --------------------------

def _repack(dist: metadata.Distribution, dest: Path) -> None:
    """Writes the installed distribution back as a wheel (stored, not compressed: it is copied once)."""
    files = [f for f in dist.files or [] if not str(f).startswith("..") and "__pycache__" not in f.parts
             and not (f.parts[0].endswith(".dist-info")
                      and f.name in ("INSTALLER", "REQUESTED", "RECORD", "direct_url.json"))]
    info = next(f for f in dist.files or [] if f.name == "METADATA").parts[0]
    wheel_text = Path(str(dist.locate_file(f"{info}/WHEEL"))).read_text()
    tags = [tag.split("-") for tag in re.findall(r"^Tag: (\S+)", wheel_text, re.M)]
    assert tags, f"{dist.name}: no Tag in WHEEL"
    # The file name carries the tags pip matches, compressed as in "py2.py3-none-any".
    tag = "-".join(".".join(sorted({parts[i] for parts in tags})) for i in range(3))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    target = dest / f"{name}-{dist.version}-{tag}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for f in files:
            data = Path(str(dist.locate_file(f))).read_bytes()
            archive.writestr(str(f), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            writer.writerow([str(f), f"sha256={digest}", len(data)])
        writer.writerow([f"{info}/RECORD", "", ""])
        archive.writestr(f"{info}/RECORD", record.getvalue())


def _closure(roots: list[str], extras: set[str]) -> set[str]:
    seen: set[tuple[str, frozenset[str]]] = set()
    found: set[str] = set()
    todo = [(name, frozenset(extras)) for name in roots]
    while todo:
        name, wanted = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if (key, wanted) in seen:
            continue
        seen.add((key, wanted))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # dlib: face_recognition asks for it, dlib-bin provides the module
        found.add(key)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted | {""}):
                todo.append((req.name, frozenset(req.extras)))
    return found


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("wheelhouse")
    # The gate's runtime closure with the postgres extra, dlib-bin, and setuptools + wheel to build with.
    names = _closure(["gate-controller"], {"postgres"}) | _closure(["dlib-bin", "setuptools", "wheel"], set())
    names.discard("gate-controller")  # the wheel under test is built from the checkout, never repacked
    for name in sorted(names):
        _repack(metadata.distribution(name), dest)
    return dest


# ---- wheels of the checkout ----------------------------------------------------------------------

def _source_copy(dest: Path, version: str | None = None) -> Path:
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO, check=True, capture_output=True, text=True).stdout
    for name in filter(None, listing.split("\0")):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    if version:
        project = dest / "pyproject.toml"
        project.write_text(project.read_text().replace('version = "0.1.0"', f'version = "{version}"', 1))
    return dest


@pytest.fixture(scope="module")
def newer_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout as version 0.1.1: what an upgrade installs."""
    tmp = tmp_path_factory.mktemp("newer")
    source = _source_copy(tmp / "src", "0.1.1")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "-w", str(tmp / "dist"), str(source)],
                   check=True, capture_output=True, text=True)
    (built,) = (tmp / "dist").glob("gate_controller-0.1.1-*.whl")
    return built


# ---- the throw-away root -------------------------------------------------------------------------

@pytest.fixture
def root() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("deploy/install runs as root (useradd, chown, setpriv)")
    if not DEBIAN_PYTHON.exists() or shutil.which("setpriv") is None or shutil.which("useradd") is None:
        pytest.skip(f"needs {DEBIAN_PYTHON} (python3.11, python3-venv), setpriv and useradd, as on Debian 12")
    # Not under pytest's 0700 temporary folder: the service user must be able to walk down to its data.
    top = Path(tempfile.mkdtemp(prefix="gate-install-"))
    top.chmod(0o755)
    etc = top / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\nvideo:x:44:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\ndialout:!::\nvideo:!::\n")
    (etc / "login.defs").write_text(LOGIN_DEFS)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def _env() -> dict[str, str]:
    """This process's environment without what would let the checkout stand in for the installed wheel."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GATE_", "VIRTUAL_ENV"))}


def _install(root: Path, wheelhouse: Path, *args: str, ok: bool = True) -> str:
    # PIP_NO_COMPILE=0 means "do not compile" (pip reads the negated option's value inverted): the
    # throw-away venvs are never imported often enough for .pyc files to pay for their 2-core minutes.
    done = subprocess.run([str(INSTALL), "--root", str(root), "--python", str(DEBIAN_PYTHON),
                           "--wheelhouse", str(wheelhouse), *args], env=_env() | {"PIP_NO_COMPILE": "0"},
                          capture_output=True, text=True, timeout=600, check=False)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    return done.stdout + done.stderr


def _ids(root: Path, user: str = "gate") -> tuple[int, int]:
    for line in (root / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"no user {user} in {root}/etc/passwd")


def _venv(root: Path, link: str = "venv") -> str:
    return os.readlink(root / "opt" / "gate" / link)


@pytest.mark.slow
def test_install_rerun_upgrade_and_rollback(root: Path, wheelhouse: Path, newer_wheel: Path) -> None:
    # 1. A fresh install, the wheel built from this checkout by the script itself.
    out = _install(root, wheelhouse, "--extra", "postgres")
    uid, gid = _ids(root)
    passwd = next(line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("gate:"))
    assert passwd.endswith(":/var/lib/gate:/usr/sbin/nologin"), passwd
    groups = {fields[0]: fields[3].split(",")
              for fields in (line.split(":") for line in (root / "etc/group").read_text().splitlines())}
    assert "gate" in groups["dialout"] and "gate" in groups["video"]
    assert not Path("/etc/passwd").read_text().count("\ngate:"), "the machine's own users were touched"

    data = root / "var/lib/gate"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700 and (data.stat().st_uid, data.stat().st_gid) == (uid, gid)
    key = data / "keys" / "master.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.stat().st_uid == uid  # written by gate init as gate
    assert (data / "gate.toml").stat().st_uid == uid

    first = _venv(root)
    assert re.fullmatch(r"venvs/0\.1\.0-[0-9a-f]{12}", first), first
    gate = root / "opt/gate/venv/bin/gate"
    help_text = subprocess.run([str(gate), "--help"], env=_env(), capture_output=True, text=True,
                               check=True).stdout
    assert "init" in help_text and "serve" in help_text
    # The venv holds the installed wheel (not the checkout) and the optional PostgreSQL driver.
    origin = subprocess.run([str(root / "opt/gate/venv/bin/python"), "-c",
                             "import gate, psycopg; print(gate.__file__)"],
                            env=_env(), capture_output=True, text=True, check=True, cwd=root).stdout
    assert Path(origin.strip()).resolve().is_relative_to(root / "opt/gate/venvs"), origin
    # Root's venv, the service user's data: the service cannot rewrite its own code.
    assert (root / "opt/gate" / first).stat().st_uid == 0
    assert stat.S_IMODE((root / "opt/gate" / first / "bin").stat().st_mode) == 0o755

    unit = root / "etc/systemd/system/gate.service"
    assert "ExecStart=/opt/gate/venv/bin/gate" in unit.read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/gate.service").is_symlink()
    assert "Next steps" in out and "admin create" in out

    # 2. Again: the same source gives the same wheel, nothing is rebuilt, nothing is lost.
    keys_before = key.read_bytes()
    out = _install(root, wheelhouse, "--extra", "postgres")
    assert "already runs" in out and "creating" not in out, out
    assert _venv(root) == first and not (root / "opt/gate/venv.previous").exists()
    assert key.read_bytes() == keys_before

    # A resident, to see that an upgrade keeps the data.
    env = {"PATH": "/usr/bin:/bin", "GATE_DATA_DIR": str(data)}
    subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", str(gate), "resident", "add",
                    "1001", "--name", "张伟"], env=env, cwd=data, check=True, capture_output=True)

    # 3. An upgrade to 0.1.1: a new venv beside the old one, a backup first, the data kept.
    out = _install(root, wheelhouse, "--extra", "postgres", "--wheel", str(newer_wheel))
    second = _venv(root)
    assert re.fullmatch(r"venvs/0\.1\.1-[0-9a-f]{12}", second) and _venv(root, "venv.previous") == first, out
    assert (root / "opt/gate" / first / "bin/gate").exists()
    backups = list((data / "backups").iterdir())
    assert len(backups) == 1 and stat.S_IMODE(backups[0].stat().st_mode) == 0o600, backups
    assert f"backup: /var/lib/gate/backups/{backups[0].name}" in (root / "opt/gate/last-upgrade").read_text()
    assert key.read_bytes() == keys_before
    listing = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", str(gate), "resident",
                              "list"], env=env, cwd=data, check=True, capture_output=True, text=True).stdout
    assert "1001" in listing
    version = subprocess.run([str(gate.parent / "python"), "-c",
                              "from importlib.metadata import version; print(version('gate-controller'))"],
                             env=_env(), capture_output=True, text=True, check=True).stdout.strip()
    assert version == "0.1.1"

    # 4. Rollback: back to 0.1.0, and it says the database stays as it is.
    out = _install(root, wheelhouse, "--rollback")
    assert _venv(root) == first and _venv(root, "venv.previous") == second
    assert "NOT rolled back" in out and backups[0].name in out, out


def test_rollback_without_an_earlier_venv_is_refused(root: Path, tmp_path: Path) -> None:
    out = _install(root, tmp_path, "--rollback", ok=False)
    assert "no previous virtual environment" in out
    assert not (root / "opt" / "gate" / "venv").exists()


def test_unknown_options_and_relative_paths_are_refused(root: Path, tmp_path: Path) -> None:
    assert "unknown option: --frobnicate" in _install(root, tmp_path, "--frobnicate", ok=False)
    assert "absolute path" in _install(root, tmp_path, "--data-dir", "var/lib/gate", ok=False)
    assert not (root / "var").exists()


def test_the_kiosk_opens_the_kiosk_page_from_an_address_allowed_to_press_its_buttons(tmp_path: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(REPO / "deploy/kiosk/gate-kiosk.service")
    command = unit["Service"]["ExecStart"].replace("\\\n", " ").split()
    assert command[0] == "/usr/bin/chromium" and "--kiosk" in command
    assert "--autoplay-policy=no-user-gesture-required" in command  # the tone before the first touch
    url = re.fullmatch(r"http://([^/:]+):(\d+)/kiosk", command[-1])
    assert url, command[-1]
    defaults = load_settings(tmp_path)  # no gate.toml: every default
    assert url.group(1) in defaults.gate.kiosk_clients and int(url.group(2)) == defaults.web.port
    assert unit["Service"]["Restart"] == "always"
    desktop = (REPO / "deploy/kiosk/gate-kiosk.desktop").read_text()
    assert "systemctl --user start gate-kiosk.service" in desktop
    if shutil.which("systemd-analyze") and Path(command[0]).exists():
        # Syntax and the executables; --user needs a user manager, which a test machine lacks.
        done = subprocess.run(["systemd-analyze", "verify", str(REPO / "deploy/kiosk/gate-kiosk.service")],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
