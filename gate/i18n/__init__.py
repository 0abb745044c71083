"""Languages: the message catalogue (Chinese and English), local time for people, and the marker that
lets code below the web layer name a message without translating it.

`gate.i18n.marker` imports nothing, so `gate.core` may use it; the catalogue loader imports Babel and is
used by the web UI (through Flask-Babel) and the CLI. docs/i18n.md says how to add a language.
"""
