"""`_()` for the pages written before the translation infrastructure (Flask-Babel) is on this branch.

With Flask-Babel initialised on the app it translates; without, it returns the English text with its
`%(name)s` fields filled in, so the pages render either way. The Jinja `_` is only set where nothing
installed one, so Flask-Babel's own always wins. (Once the i18n infrastructure is merged, the imports
of this module can become `from flask_babel import gettext as _`.)
"""

from __future__ import annotations

from flask import current_app
from flask.sansio.app import App


def gettext(string: str, /, **fields: object) -> str:
    if "babel" in current_app.extensions:
        from flask_babel import gettext as babel_gettext

        return babel_gettext(string, **fields)
    return string % fields if fields else string


def install(app: App) -> None:
    app.jinja_env.globals.setdefault("_", gettext)


__all__ = ["gettext", "install"]
