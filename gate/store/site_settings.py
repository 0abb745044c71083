"""Site-wide settings in the database: read, seeded on first use, changed with an audit entry.

The keys are listed in gate.config.sitewide; each value is stored as JSON and checked with the same
check as in gate.toml, when written and again when read. Every change bumps one version number
(`site_settings_version`, under its row lock, so two changes at two gates never share a number): a
running gate polls it and reloads only when it moved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gate.config import sitewide
from gate.errors import ConfigError
from gate.store import audit
from gate.store.db import transaction
from gate.store.models import SiteSetting, SiteSettingsVersion

log = logging.getLogger(__name__)


def version(session: Session) -> int:
    return session.scalar(select(SiteSettingsVersion.version).where(SiteSettingsVersion.id == 1)) or 0


def _bump(session: Session) -> None:
    bumped = session.execute(update(SiteSettingsVersion).where(SiteSettingsVersion.id == 1)
                             .values(version=SiteSettingsVersion.version + 1))
    if getattr(bumped, "rowcount", 1) == 0:
        session.add(SiteSettingsVersion(id=1, version=1))


def stored(session: Session) -> dict[str, object]:
    """Every site-wide value the database holds, checked; a value that fails its check (edited by
    hand) is left out, with a warning, so the key keeps its file or default value."""
    values: dict[str, object] = {}
    for row in session.scalars(select(SiteSetting)):
        if row.key not in sitewide.SITE_WIDE_KEYS:
            continue  # a key a newer version added; this version does not know it
        try:
            values[row.key] = sitewide.checked(row.key, json.loads(row.value))
        except (ConfigError, ValueError) as err:
            log.warning("site setting %s in the database is not valid and is ignored: %s", row.key, err)
    return values


def seed(session: Session, from_file: Mapping[str, object], *, actor: str, now: datetime) -> list[str]:
    """Store each site-wide key the database does not hold yet: the file's value where gate.toml sets it,
    else the default. Returns the keys stored. Done by the first gate (or command) to open the database,
    and for a key a newer version adds."""
    present = set(session.scalars(select(SiteSetting.key)))
    missing = [name for name in sitewide.SITE_WIDE_KEYS if name not in present]
    for name in missing:
        value = sitewide.checked(name, from_file[name]) if name in from_file else sitewide.default_of(name)
        session.add(SiteSetting(key=name, value=json.dumps(value), changed_at=now, changed_by=actor))
        audit.record(session, actor, "site.setting.seed", f"site:{name}", now=now, new=value,
                     source="gate.toml" if name in from_file else "default")
    if missing:
        _bump(session)
    return missing


def change(session: Session, name: str, value: object, *, actor: str, now: datetime) -> tuple[object, object]:
    """Set one site-wide key (checked as gate.toml checks it); audited old -> new. Returns (old, new)."""
    new = sitewide.checked(name, value)
    row = session.scalar(select(SiteSetting).where(SiteSetting.key == name).with_for_update())
    old = sitewide.checked(name, json.loads(row.value)) if row is not None else sitewide.default_of(name)
    if row is not None and old == new and type(old) is type(new):
        return old, new
    if row is None:
        row = SiteSetting(key=name)
        session.add(row)
    row.value, row.changed_at, row.changed_by = json.dumps(new), now, actor
    _bump(session)
    audit.record(session, actor, "site.setting", f"site:{name}", now=now, old=old, new=new,
                 applies="at each gate's restart" if name in sitewide.RESTART_KEYS else "within seconds")
    return old, new


def parse_text(name: str, text: str) -> object:
    """A value typed on the command line or in a form: a TOML value (30, true, "Asia/Shanghai") or, when
    it is not one, the text itself (Asia/Shanghai). Whether it is allowed is the key's check's to say."""
    import tomllib

    check = sitewide.check_for(name)
    text = text.strip()
    if check.kind is bool and text.lower() in ("true", "false", "on", "off", "yes", "no", "1", "0"):
        return text.lower() in ("true", "on", "yes", "1")
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def load(sessions: sessionmaker[Session], written: Mapping[str, object], *, actor: str,
         now: datetime) -> tuple[dict[str, object], int]:
    """At start: seed what the database lacks, then read every value and the version.

    `written` are the site-wide keys this gate's gate.toml sets: used for seeding only; each one that was
    not needed for that and differs from the stored value is ignored, with a warning naming it, so nobody edits the file and wonders why
    nothing changed.
    """
    for attempt in (1, 2):
        try:
            with transaction(sessions) as session:
                seeded = seed(session, written, actor=actor, now=now)
                values, number = stored(session), version(session)
            break
        except IntegrityError:
            if attempt == 2:  # pragma: no cover - two gates seeding at once: the second reads the first's rows
                raise
    for name in written:
        # A file value equal to the stored one changes nothing, so it is worth no warning (`gate init`
        # writes [site] language and timezone, which seed the database the first time).
        if name not in seeded and values.get(name) != written[name]:
            section, key = sitewide.split(name)
            log.warning("[%s] %s in gate.toml is ignored: it is a site-wide setting kept in the database "
                        "(now %r); change it with `gate site set %s VALUE` or on the Settings page, and "
                        "remove it from the file.", section, key, values.get(name), name)
    return values, number
