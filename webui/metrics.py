"""GET /metrics: the gate's Prometheus metrics, for a scraper, never for an operator.

Off unless `[metrics] enabled = true`. With `[metrics] token_file`, a scraper sends
`Authorization: Bearer <token>` (401 without it); without a token only this machine may scrape (403
for anyone else). It is never behind the operator sign-in (a scraper cannot sign in) and is GET
only, so no form and no CSRF token is involved. No label carries a resident, card, PIN or name
(gate.service.metrics).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gate.config import Settings
from gate.secrets.tokens import read_token
from gate.service.metrics import GateMetrics
from webui.security import FORWARDING_HEADERS, bearer_matches, is_local_request

bp = Blueprint("metrics", __name__)

__all__ = ["FORWARDING_HEADERS", "bp", "install", "token_from"]


def token_from(settings: Settings) -> str | None:
    """The scrapers' bearer token, or None (no token: local scrapers only). Raises ConfigError, which
    `gate serve` shows before anything starts."""
    section = settings.metrics
    if not section.enabled or section.token_file is None:
        return None
    path = Path(section.token_file).expanduser()
    return read_token(path if path.is_absolute() else settings.data_dir / path, "[metrics]")


def install(app: Flask, settings: Settings) -> None:
    """Serve /metrics on `app` when `[metrics] enabled`; otherwise there is no such page (404)."""
    if not settings.metrics.enabled:
        return
    app.extensions["metrics_token"] = token_from(settings)
    app.extensions["metrics_trust_forwarded"] = settings.web.proxy_hops > 0
    app.register_blueprint(bp)


def _local() -> bool:
    return is_local_request(current_app.extensions["metrics_trust_forwarded"])


def _text(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, headers=headers, mimetype="text/plain")


@bp.get("/metrics")
def metrics() -> Response:
    token: str | None = current_app.extensions["metrics_token"]
    if token is None:
        if not _local():
            return _text("Metrics are served only to this machine: set [metrics] token_file to let a remote "
                         "scraper in with a bearer token.", 403)
    else:
        if not bearer_matches(token):
            return _text("Metrics need the bearer token of [metrics] token_file (Authorization: Bearer ...).",
                         401, {"WWW-Authenticate": 'Bearer realm="gate metrics"'})
    gate_metrics = getattr(current_app.extensions.get("gate_runtime"), "metrics", None)
    if not isinstance(gate_metrics, GateMetrics):
        return _text("The gate service is not running in this process, so it has no metrics.", 503)
    return Response(generate_latest(gate_metrics.registry), 200, content_type=CONTENT_TYPE_LATEST)
