"""Many gates, one site key: `gate join`, `gate gates approve|revoke|keys` (docs/keys.md)."""

from __future__ import annotations

import click

from gate import install
from gate.cli import CLI_ACTOR, Env, pass_env
from gate.cli.gates import gates_group
from gate.config import load_settings
from gate.errors import ConflictError, KeyUnavailableError
from gate.secrets.keys import KeyFile, Keyring, MasterKey
from gate.secrets.sealing import GateKeyPair
from gate.store import rotation, site_keys

_fingerprint = site_keys.fingerprint_of


@click.command("join")
@click.option("--name", default=None, help="This gate's name in the site (default: [gate] name).")
@click.option("--first", is_flag=True,
              help="Found the site: this gate's key file (or a new key, if it has none) becomes the site key.")
@click.option("--database-url", default=None, help="The site's database, written into a new gate.toml (as init).")
@click.option("--gate-name", default=None, help="This gate's [gate] name, written into a new gate.toml (as init).")
@pass_env
def join(env: Env, name: str | None, first: bool, database_url: str | None, gate_name: str | None) -> None:
    """Join this gate to the site on the shared database: make its key pair and ask for approval. On a new
    gate computer it also does what `gate init` does, without making a key of its own."""
    for line in install.initialise(env.data_dir, database_url=database_url, gate_name=gate_name, local_key=False):
        click.echo(line)
    settings = load_settings(env.data_dir)
    name = name or settings.gate.name
    path = site_keys.gate_key_path(settings.key_file)
    if path.exists():
        raise ConflictError(f"This gate has joined a site already (its key is {path}).")
    pair = GateKeyPair.generate(name, path)
    local = KeyFile(settings.key_file)
    ctx = env.context()
    keyring = (local.load() if local.exists() else Keyring(current=MasterKey.generate())) if first else None
    pair.write()
    try:
        with ctx.transaction() as session:
            if keyring is not None:
                foreign = site_keys.found_site(session, pair, keyring, actor=CLI_ACTOR)
            else:
                site_keys.request_slot(session, pair)
    except BaseException:
        path.unlink(missing_ok=True)  # nothing joined: leave the gate as it was
        raise
    if keyring is None:
        click.echo(f"gate {name} asked to join the site (key fingerprint {_fingerprint(pair.public)}); at a gate "
                   f"of the site run `gate gates approve {name} --fingerprint {_fingerprint(pair.public)}`")
        return
    opened = site_keys.SiteKeyFile(settings.key_file.parent, ctx.sessions).load()
    assert opened.current.id == keyring.current.id
    if local.exists():
        # The key now lives in the slot; a second copy here would outlive every rotation.
        settings.key_file.unlink()
    click.echo(f"gate {name} founded the site with master key {keyring.current.id}")
    if foreign:
        click.echo(f"warning: {foreign} face templates are wrapped by keys this gate never held (other gates' "
                   "own keys): they cannot be opened at any gate of the site; those residents enroll again.",
                   err=True)


@gates_group.command("approve")
@click.argument("name")
@click.option("--fingerprint", default=None, help="The fingerprint `gate join` printed on that gate.")
@pass_env
def approve(env: Env, name: str, fingerprint: str | None) -> None:
    """Give a gate that asked to join the site key (sealed for its own public key)."""
    ctx = env.context()
    store = ctx.key_file
    if not isinstance(store, site_keys.SiteKeyFile):
        raise KeyUnavailableError("This gate holds no site key (it has not joined a site): approve at a gate that has.")
    with store.exclusive():
        keyring = store.load()
        with ctx.transaction() as session:
            slot = site_keys.approve(session, name, keyring, actor=CLI_ACTOR, expected_fingerprint=fingerprint)
            printed = _fingerprint(slot.public_key)
    click.echo(f"gate {name} approved (key fingerprint {printed}); it picks the site key up at its next key check")


@gates_group.command("revoke")
@click.argument("name")
@pass_env
def revoke(env: Env, name: str) -> None:
    """Remove a gate from the site (a stolen or retired gate computer) and rotate the site key."""
    ctx = env.context()
    with ctx.transaction() as session:
        site_keys.revoke(session, name, actor=CLI_ACTOR)
    click.echo(f"gate {name} revoked")
    try:
        report = rotation.rotate(ctx.sessions, ctx.key_file, actor=CLI_ACTOR)
    except KeyUnavailableError as err:
        click.echo(f"warning: the site key was not rotated here ({err}); the service of any approved gate "
                   "rotates it within minutes.", err=True)
        return
    click.echo(f"site key rotated to {report.new_key_id}: what gate {name}'s key opened is destroyed")


@gates_group.command("keys")
@pass_env
def keys(env: Env) -> None:
    """The site's key slots: which gates hold the site key, which wait for approval."""
    with env.context().sessions() as session:
        for slot in site_keys.slots(session):
            approved = slot.approved_at.isoformat(timespec="seconds") if slot.approved_at else "-"
            click.echo(f"{slot.gate:<16} {slot.state:<9} fingerprint={_fingerprint(slot.public_key)} "
                       f"version={slot.version} approved={approved} by={slot.approved_by or '-'}")


COMMANDS = [join]
