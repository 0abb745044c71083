"""The operator web UI: a Flask application factory with one blueprint per area.

`create_app(context)` is what `gate serve` calls. Pages are server-rendered and work without JavaScript;
the only script is the webcam capture on the enrollment page. Every data change goes through the
services in `gate/`, which write the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import SecurityError

from gate.context import GateContext
from gate.store import operators as operator_service
from webui.security import (
    InMemoryRequest,
    LoginThrottle,
    add_headers,
    check_secret,
    load_or_create_secret,
    trusted_hosts,
)

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


def create_app(context: GateContext, *, config: dict[str, Any] | None = None,
               extra_blueprints: Sequence[Blueprint] = (), gate_runtime: object | None = None) -> Flask:
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    web = context.settings.web
    tls = web.tls or web.tls_cert is not None
    idle = web.idle_minutes
    lifetime = timedelta(hours=web.session_hours)
    app.config.update(
        SESSION_COOKIE_NAME="gate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=tls,
        # The cookie may outlive an idle period; the operator_sessions row decides (idle and absolute end).
        PERMANENT_SESSION_LIFETIME=lifetime,
        IDLE_TIMEOUT=timedelta(minutes=idle),
        SESSION_LIFETIME=lifetime,
        TRUSTED_HOSTS=trusted_hosts(web.trusted_hosts, web.host),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which the idle timeout ends
        WTF_CSRF_SSL_STRICT=tls,
        LOGIN_ATTEMPTS_PER_MINUTE=10,
        TEMPLATES_AUTO_RELOAD=False,
    )
    if config:
        app.config.update(config)
    if app.config.get("SECRET_KEY"):
        check_secret(app.config["SECRET_KEY"])
    else:
        app.config["SECRET_KEY"] = load_or_create_secret(context.settings.key_file.parent)

    hops = web.proxy_hops
    if hops:  # behind a TLS-terminating reverse proxy: trust exactly that many X-Forwarded-* hops
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Replacing wsgi_app is Flask's documented way to add WSGI middleware; mypy sees a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.extensions["gate_context"] = context
    app.extensions["gate_runtime"] = gate_runtime
    app.extensions["login_throttle"] = LoginThrottle(int(app.config["LOGIN_ATTEMPTS_PER_MINUTE"]), 60.0)
    operator_service.prepare(context.hasher)
    CSRFProtect(app)
    add_headers(app, tls)

    from webui import (
        auth,
        dashboard,
        enroll,
        events,
        i18n,
        imports,
        operations,
        residents,
        rights,
        schedules,
        settings_views,
        site,
        tenants,
        visitors,
    )
    from webui.base import install_request_hooks, render_error

    install_request_hooks(app)
    i18n.init_app(app)
    for blueprint in (auth.bp, dashboard.bp, residents.bp, enroll.bp, rights.bp, events.bp, settings_views.bp,
                      site.bp, tenants.bp, visitors.bp, imports.bp, schedules.bp, operations.bp):
        app.register_blueprint(blueprint)
    for blueprint in extra_blueprints:
        app.register_blueprint(blueprint)

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        return render_error(400, _("The form was stale or not sent by this site (CSRF check failed): "
                                   "go back, reload the page and try again."))

    @app.errorhandler(SecurityError)
    def _untrusted_host(err: SecurityError) -> Response:
        # Plain text: with an untrusted Host no URL can be built, so the page template cannot render.
        return Response("This gate does not answer to that host name (a DNS-rebinding page?): open it by an "
                        "address listed in [web] trusted_hosts.\n", 400, mimetype="text/plain")

    for code, text in ((403, _l("Your role does not allow this page.")),
                       (404, _l("There is no such page or record.")),
                       (405, _l("That action is not allowed here.")),
                       (413, _l("The upload is too large: send fewer or smaller photos."))):
        app.register_error_handler(code, lambda _err, c=code, t=text: render_error(c, str(t)))
    return app


__all__ = ["create_app"]
