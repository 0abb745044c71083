"""Separate face consent: `gate consent grant|withdraw` (withdrawal destroys the template at once)."""

from __future__ import annotations

import click

from gate.cli import Env, pass_env
from gate.store import consent as consent_service
from gate.store import face_standing, residents
from gate.store.rights import consent_receipt_number


@click.group("consent")
def consent_group() -> None:
    """Separate consent to face processing."""


@consent_group.command("grant")
@click.argument("code")
@click.option("--operator", required=True, help="Who recorded the consent.")
@click.option("--guardian", default=None, help="For a resident under 14: the guardian who consented.")
@click.option("--retention-days", type=int, default=None, help="Defaults to the site's retention period.")
@pass_env
def consent_grant(env: Env, code: str, operator: str, guardian: str | None, retention_days: int | None) -> None:
    ctx = env.context()
    with ctx.transaction() as session:
        resident = residents.get_resident(session, code)
        consent = consent_service.grant_consent(
            session, resident, operator=operator, guardian_name=guardian,
            retention_days=retention_days or ctx.settings.template_retention_days,
            forbid_minors=ctx.settings.forbid_face_for_minors, now=ctx.clock(),
            site_days=ctx.settings.template_retention_days,
            today=face_standing.site_today(ctx.clock(), ctx.settings.site.timezone))
        version = consent.notice.version
        number = consent_receipt_number(session, resident)
    click.echo(f"face consent recorded for {code} against notice version {version} (receipt no. {number})")


@consent_group.command("withdraw")
@click.argument("code")
@click.option("--operator", required=True)
@pass_env
def consent_withdraw(env: Env, code: str, operator: str) -> None:
    """Withdraw consent: the face template is destroyed at once."""
    ctx = env.context()
    with ctx.transaction() as session:
        destroyed = consent_service.withdraw_consent(session, residents.get_resident(session, code), ctx.store,
                                                     operator=operator)
    click.echo(f"consent withdrawn for {code}; face templates destroyed: {destroyed}")


# -- gates --------------------------------------------------------------------------------------------


COMMANDS = [consent_group]
