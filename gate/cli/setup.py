"""Setting up a gate: `gate init`, `gate db upgrade`, `gate keys init|rotate`."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from gate import install
from gate.cli import CLI_ACTOR, Env, pass_env
from gate.config import load_settings
from gate.errors import ConflictError
from gate.i18n.locales import NEW_INSTALL, SUPPORTED
from gate.secrets.keys import KeyFile
from gate.store import db, residents, rotation, site_keys


@click.command()
@click.option("--database-url", default=None,
              help="The site's shared database (PostgreSQL), written into the new gate.toml (docs/site.md).")
@click.option("--gate-name", default=None, help="This gate's name, written into the new gate.toml as [gate] name.")
@click.option("--language", type=click.Choice(SUPPORTED), default=NEW_INSTALL, show_default=True,
              help="The site's language ([site] language); zh_Hans_CN also sets [site] timezone Asia/Shanghai.")
@pass_env
def init(env: Env, database_url: str | None, gate_name: str | None, language: str) -> None:
    """Create config, master key and a migrated database (SQLite in the data folder unless
    --database-url names the site's), and this gate ([gate] name, "main" unless --gate-name)."""
    done = install.initialise(env.data_dir, database_url=database_url, gate_name=gate_name, language=language)
    for line in done or ["nothing to do: the data folder is already initialised"]:
        click.echo(line)


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@pass_env
def db_upgrade(env: Env) -> None:
    """Apply all migrations."""
    settings = load_settings(env.data_dir)
    db.require_database(settings.database_url, env.data_dir)
    engine = db.make_engine(settings.database_url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
        with Session(engine) as session:
            untypeable = residents.untypeable_codes(session)
    finally:
        engine.dispose()
    click.echo(f"database at {after}" + ("" if before != after else " (already up to date)"))
    if untypeable:
        # Kept as they are (renaming would break cards' and people's habits); those residents use a card.
        shown = ", ".join(untypeable[:20]) + (f" and {len(untypeable) - 20} more" if len(untypeable) > 20 else "")
        click.echo(f"note: {len(untypeable)} resident code(s) have characters a gate keypad cannot type, so code "
                   f"and PIN cannot be used for them (their cards keep working): {shown}")


@click.group("keys")
def keys_group() -> None:
    """The master key that wraps every template's data key."""


@keys_group.command("init")
@pass_env
def keys_init(env: Env) -> None:
    """Create the master key file (refuses to overwrite one)."""
    settings = load_settings(env.data_dir)
    if site_keys.gate_key_path(settings.key_file).exists():
        raise ConflictError("This gate has joined a site: its key comes from its slot (docs/keys.md); a key file "
                            "of its own would not be used.")
    KeyFile(settings.key_file).create()
    click.echo(f"created master key {settings.key_file}")


@keys_group.command("rotate")
@pass_env
def keys_rotate(env: Env) -> None:
    """Re-wrap every data key under a new master key. Safe to interrupt and run again."""
    ctx = env.context()

    def progress(done: int, total: int) -> None:
        click.echo(f"re-wrapped {done}/{total} data keys", err=True)

    report = rotation.rotate(ctx.sessions, ctx.key_file, actor=CLI_ACTOR, progress=progress)
    click.echo(f"master key is now {report.new_key_id}; re-wrapped {report.rewrapped} data keys"
               + (" (finished an interrupted rotation)" if report.resumed else ""))


# -- residents, cards, PINs ---------------------------------------------------------------------------


COMMANDS = [init, db_group, keys_group]
