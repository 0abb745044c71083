"""`gate admin create USERNAME --role admin`: operator accounts from the controller's shell.

The password is read from stdin (prompted twice on a terminal), never taken as an argument.
"""

from __future__ import annotations

import sys

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.errors import PolicyError
from gate.store import operators as operator_service


def _read_password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group()
def admin() -> None:
    """Operator accounts for the web UI."""


@admin.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "operator", "auditor"]), default="admin", show_default=True)
@pass_env
def create(env: Env, username: str, role: str) -> None:
    """Create an operator; the password comes from stdin."""
    password = _read_password()
    if not password:
        raise PolicyError("No password was given on stdin.")
    context = env.context()
    with context.transaction() as session:
        operator_service.create_operator(session, context.hasher, username=username, password=password,
                                         role=operator_service.parse_role(role), actor=CLI_ACTOR)
    click.echo(f"created {role} {username}")


@admin.command("list")
@pass_env
def list_(env: Env) -> None:
    """List operator accounts."""
    with env.context().sessions() as session:
        for op in operator_service.list_operators(session):
            state = "active" if op.active else "disabled"
            click.echo(f"{op.username}\t{op.role.value}\t{state}")


@admin.command("password")
@click.argument("username")
@pass_env
def password(env: Env, username: str) -> None:
    """Reset an operator's password (from stdin) and unlock the account."""
    secret = _read_password()
    context = env.context()
    with context.transaction() as session:
        operator = operator_service.get_operator(session, username)
        operator_service.set_password(session, context.hasher, operator, secret, actor=CLI_ACTOR)
    click.echo(f"password of {username} reset")
