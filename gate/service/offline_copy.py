"""Wiring for the offline copy at run time: the disk-backed cache a gate starts from, and the watcher
that keeps it within seconds of the database (`copy_watch`). Used by the builder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from gate.access.offline import OfflineCache
from gate.access.offline_disk import OfflineCopyFile, copy_path
from gate.config import Settings
from gate.secrets.sealed_file import local_key_path
from gate.service.copy_watch import CopyWatch
from gate.service.db_health import DatabaseHealth
from gate.store.change_marker import directory_version


def disk_backed_cache(settings: Settings, hasher: PasswordHasher, gate_name: str, max_age_seconds: float,
                      now: datetime) -> OfflineCache:
    """The cache, saving every refresh to `<data folder>/offline/<gate>.copy` and starting from that
    file when it opens and is young enough (a gate that starts while the database is away)."""
    disk = OfflineCopyFile(copy_path(settings.data_dir, gate_name), local_key_path(Path(settings.key_file)),
                           gate_name)
    cache = OfflineCache(settings, hasher, max_age_seconds=max_age_seconds, timezone=settings.site.timezone,
                         saver=disk.save)
    copy = disk.load(now, cache.max_age)
    if copy is not None:
        cache.adopt(copy)
    return cache


def change_watch(cache: OfflineCache, sessions: sessionmaker[Session], gate_name: str,
                 clock: Callable[[], datetime], database: DatabaseHealth, interval: float) -> CopyWatch:
    def read_version() -> str | None:
        with sessions() as session:
            return directory_version(session)

    return CopyWatch(read_version, lambda: cache.refresh(sessions, gate_name, clock()), database, interval)
