"""`gate init`: a working installation in one step (config, key file, migrated database, draft notice, gate).

The default notice is only a draft: its processor and contact are placeholders no one could contact,
so it cannot be published (gate.store.notices) and no face consent can be given until an admin fills
them in. Card and PIN work from the start."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from gate.clock import utcnow
from gate.config import CONFIG_NAME, DEFAULT_CONFIG_TEXT, load_settings, sitewide
from gate.errors import ConflictError
from gate.secrets.keys import KeyFile
from gate.store import db, notices, site_keys, site_settings
from gate.store.gates import DEFAULT_METHODS, add_gate
from gate.store.models import Gate, Notice

SYSTEM_ACTOR = "system"


def initialise(data_dir: Path, *, local_key: bool = True) -> list[str]:
    """Idempotent: creates what is missing and says what it did. `local_key=False` (`gate join`): no
    master key file, the gate gets the site's key through its slot (docs/keys.md)."""
    done: list[str] = []
    # The folder holds the database, the config (perhaps a database password) and usually the keys:
    # the gate's user only, whatever the umask (`gate` sets 077 itself; a library caller may not).
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    config = data_dir / CONFIG_NAME
    if not config.exists():
        with os.fdopen(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
            out.write(DEFAULT_CONFIG_TEXT)
        done.append(f"wrote {config}")
    settings = load_settings(data_dir)
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
                notices.create_notice(session, "1", notices.default_fields(), SYSTEM_ACTOR,
                                      site_days=site_days)
                done.append("drafted face notice version 1: fill in the processor and contact and publish a "
                            "version (Settings) before anyone can consent to face")
            if session.scalar(select(Gate.id).limit(1)) is None:
                add_gate(session, "main", DEFAULT_METHODS, actor=SYSTEM_ACTOR)
                done.append("added gate 'main' accepting card and PIN (face needs an impact assessment first)")
    finally:
        engine.dispose()
    return done
