"""`_()` for the tenants and visitors pages until the Flask-Babel set-up lands on main: the real
gettext when the app has Babel, the English text otherwise. At merge, `from flask_babel import gettext as _`
replaces this module (the strings are already marked)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState


def _(text: str, **values: Any) -> str:
    from flask import current_app

    if "babel" in current_app.extensions:
        from flask_babel import gettext

        return str(gettext(text, **values))
    return text % values if values else text


def _identity(text: str, **values: Any) -> str:
    return text % values if values else text


def install_template_fallback(bp: Blueprint) -> None:
    """Templates call `_()`; the i18n set-up installs the real one, which this never replaces."""
    def setup(state: BlueprintSetupState) -> None:
        state.app.jinja_env.globals.setdefault("_", _identity)

    bp.record_once(setup)
