"""`gate init`: a working installation in one step (config, key file, migrated database, draft notice, gate).

The default notice is only a draft: its processor and contact are placeholders no one could contact,
so it cannot be published (gate.store.notices) and no face consent can be given until an admin fills
them in. Card and PIN work from the start."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from sqlalchemy import select

from gate.clock import utcnow
from gate.config import CONFIG_NAME, DEFAULT_CONFIG_TEXT, ENV_DATABASE_URL, load_settings, sitewide
from gate.errors import ConfigError, ConflictError, PolicyError
from gate.i18n.locales import DEFAULT_TIMEZONE, SOURCE
from gate.secrets.keys import KeyFile
from gate.store import db, notices, site_keys, site_settings
from gate.store.gates import DEFAULT_METHODS, GATE_NAME, add_gate
from gate.store.models import Gate, Notice

SYSTEM_ACTOR = "system"


def _refuse_other_config(config: Path, database_url: str | None, gate_name: str | None) -> None:
    """Options that disagree with an existing gate.toml are refused, not silently ignored."""
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    for given, section, key in ((database_url, "database", "url"), (gate_name, "gate", "name")):
        if given and raw.get(section, {}).get(key) != given:
            raise ConfigError(f"{config} exists already and its [{section}] {key} is not {given!r}: edit the "
                              "file instead of passing the option.")


def _refuse_sqlite_over_configured(config: Path, effective_url: str) -> None:
    """gate.toml names a server database but GATE_DATABASE_URL points to a SQLite file not made yet: making
    it would give this gate a database of its own, silently apart from the site's."""
    configured = tomllib.loads(config.read_text(encoding="utf-8")).get("database", {}).get("url")
    new_file = db.sqlite_file(effective_url)
    if (isinstance(configured, str) and configured and db.sqlite_file(configured) is None
            and new_file is not None and not new_file.exists()):
        raise ConfigError(f"{config} names the site's database but {ENV_DATABASE_URL} points to a new SQLite "
                          f"file {new_file}: unset {ENV_DATABASE_URL} (or set it to the site's database).")


def config_text(database_url: str | None = None, gate_name: str | None = None,
                language: str | None = None) -> str:
    """The default gate.toml, with this gate's database and name filled in when given (`gate init
    --database-url URL --gate-name NAME`, docs/site.md), and the site's language and its time zone."""
    text = DEFAULT_CONFIG_TEXT
    if language:
        zone = DEFAULT_TIMEZONE.get(language, "UTC")
        site = f"[site]\nlanguage = {json.dumps(language)}\ntimezone = {json.dumps(zone)}\n"
        text = text.replace("[site]\n", site, 1)
    if database_url:
        # A TOML basic string: JSON's escaping is valid TOML.
        text = text.replace('[database]\n', f"[database]\nurl = {json.dumps(database_url)}\n", 1)
    if gate_name:
        lines = text.split("\n")
        at = next(i for i, line in enumerate(lines) if line.startswith('# name = "main"'))
        lines[at] = f"name = {json.dumps(gate_name)}   # this computer's gate; every gate of a site has its own"
        text = "\n".join(lines)
    return text


def initialise(data_dir: Path, *, database_url: str | None = None, gate_name: str | None = None,
               local_key: bool = True, language: str | None = None) -> list[str]:
    """Idempotent: creates what is missing and says what it did. `database_url` and `gate_name` go into
    a new gate.toml; an existing one is never rewritten (edit it instead). `local_key=False` (`gate
    join`): no master key file, the gate gets the site's key through its slot (docs/keys.md)."""
    done: list[str] = []
    if gate_name is not None and not GATE_NAME.fullmatch(gate_name):
        raise PolicyError("A gate name is 1-64 letters, digits, '.', '-' or '_', starting with a letter or digit.")
    # The folder holds the database, the config (perhaps a database password) and usually the keys:
    # the gate's user only, whatever the umask (`gate` sets 077 itself; a library caller may not).
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    config = data_dir / CONFIG_NAME
    if not config.exists():
        with os.fdopen(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
            out.write(config_text(database_url, gate_name, language))
        done.append(f"wrote {config}")
    elif database_url or gate_name:
        _refuse_other_config(config, database_url, gate_name)
    settings = load_settings(data_dir)
    _refuse_sqlite_over_configured(config, settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
        if before != db.head_revision():
            done.append(f"migrated the database to {db.head_revision()}")
        sessions = db.make_session_factory(engine)
        key_file = KeyFile(settings.key_file)
        joined = site_keys.gate_key_path(settings.key_file).exists()
        if local_key and not joined and not key_file.exists():
            with sessions() as session:
                if site_keys.has_site(session):
                    # A key of its own would make face fail here for everyone (issue 17, item 3).
                    raise ConflictError("This database belongs to a site whose gates share one key: run "
                                        "`gate join` on this gate instead of creating a key of its own.")
            key_file.create()
            done.append(f"created master key {settings.key_file} (0600; back it up apart from the database)")
        with db.transaction(sessions) as session:
            # The first gate seeds the site-wide settings from its gate.toml; a later gate's are ignored.
            if site_settings.seed(session, sitewide.written_in_file(data_dir), actor=SYSTEM_ACTOR, now=utcnow()):
                done.append("stored the site-wide settings in the database (`gate site show`)")
            site_days = sitewide.overlay(settings, site_settings.stored(session)).template_retention_days
            if session.scalar(select(Notice.id).limit(1)) is None:
                # A notice in the site's language, and in English beside a Chinese one: residents are
                # shown the notice in the language they read (docs/i18n.md).
                site_language = sitewide.overlay(settings, site_settings.stored(session)).site.language
                notices.create_notice(session, "1", notices.default_fields(site_language), SYSTEM_ACTOR,
                                      site_days=site_days, language=site_language)
                if site_language != SOURCE:
                    notices.create_notice(session, "1-en", notices.default_fields(SOURCE), SYSTEM_ACTOR,
                                          site_days=site_days, language=SOURCE)
                done.append("drafted face notice version 1: fill in the processor and contact and publish a "
                            "version (Settings) before anyone can consent to face")
            # The gate this installation runs ([gate] name), so `gate serve` finds it; the others of a
            # shared database are theirs to add.
            name = settings.gate.name
            if session.scalar(select(Gate.id).where(Gate.name == name)) is None:
                add_gate(session, name, DEFAULT_METHODS, actor=SYSTEM_ACTOR)
                done.append(f"added gate '{name}' accepting card and PIN (face needs an impact assessment first)")
    finally:
        engine.dispose()
    return done
