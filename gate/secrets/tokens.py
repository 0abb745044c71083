"""Bearer tokens kept in files (the metrics scraper's): read once, refused when others could read them.

A token is a shared secret like the master key, so it follows the same rule: its own file, mode 0600,
never a line of gate.toml.
"""

from __future__ import annotations

import stat
from pathlib import Path

from gate.errors import ConfigError

#: Shorter tokens can be guessed by a scraper-shaped brute force on the LAN; 32 hex digits = 128 bits.
MIN_TOKEN_LENGTH = 32


def read_token(path: Path, what: str) -> str:
    """The token in `path` (surrounding whitespace stripped); ConfigError in one sentence otherwise."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"The {what} token file {path} does not exist: create it with "
                          f"`openssl rand -hex 32 > {path} && chmod 600 {path}`.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"The {what} token file {path} cannot be read ({err}).") from err
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"The {what} token file {path} is readable by other users: run `chmod 600 {path}`.")
    token = text.strip()
    if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() or ord(c) < 33 or ord(c) > 126 for c in token):
        raise ConfigError(f"The {what} token file {path} must hold one token of at least {MIN_TOKEN_LENGTH} "
                          "printable characters without spaces (e.g. `openssl rand -hex 32`).")
    return token
