"""The web UI's secret key, security headers and the per-address login throttle (kept per app, not global)."""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO

from flask import Flask, Request, Response

from gate.errors import ConfigError

SECRET_NAME = "web_secret"
#: Secrets copied from tutorials or left as placeholders: refusing them is cheaper than a forged session.
KNOWN_DEFAULTS = frozenset({"dev", "development", "secret", "changeme", "change-me", "change_me", "default",
                            "your-secret-key", "secret-key", "secret_key", "please-change", "test", "testing"})
MIN_SECRET_LENGTH = 32


def check_secret(secret: str | bytes) -> None:
    text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else str(secret)
    if text.strip().lower() in KNOWN_DEFAULTS or len(text) < MIN_SECRET_LENGTH:
        raise ConfigError(
            "The web UI's secret key is a default or shorter than 32 characters; refusing to start. "
            "Remove the SECRET_KEY setting so one is generated in the key folder."
        )


def load_or_create_secret(key_dir: Path) -> str:
    """`<key dir>/web_secret`, created 0600 on first start; refused if others can read it."""
    path = key_dir / SECRET_NAME
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} can be read by other users; run `chmod 600 {path}` and start again.")
    secret = path.read_text(encoding="ascii").strip()
    check_secret(secret)
    return secret


def trusted_hosts(configured: tuple[str, ...], listen_host: str) -> list[str]:
    """Flask's TRUSTED_HOSTS: [web] trusted_hosts plus the address the server listens on (unless that is a
    wildcard, which is not a name anyone types). A page on evil.example that re-resolves to 127.0.0.1
    (DNS rebinding) still sends `Host: evil.example`, and gets 400 before any view runs."""
    hosts = list(dict.fromkeys(configured))
    if listen_host not in ("0.0.0.0", "::", "") and listen_host not in hosts:
        hosts.append(listen_host)
    return hosts


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def add_headers(app: Flask, tls: bool) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
        if not response.headers.get("Cache-Control"):
            # Pages carry personal data: never keep them in a shared or browser cache.
            headers["Cache-Control"] = "no-store"
        if tls:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


class LoginThrottle:
    """At most `limit` sign-in attempts per client address per `window` seconds (one instance per app)."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(address, deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # bound memory under a spray of addresses
                for key in [k for k, v in self._hits.items() if not v or now - v[-1] > self.window]:
                    del self._hits[key]
            return True


class InMemoryRequest(Request):
    """Uploads stay in memory. Werkzeug would spool any file part over 500 KB to a temporary file on disk,
    which for a face photo is exactly what must never happen; MAX_CONTENT_LENGTH bounds the memory."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return io.BytesIO()


#: Headers a reverse proxy adds. With `[web] proxy_hops = 0` a proxy on this machine would make every
#: LAN client look local, so a request carrying one is not taken as local.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_local_request(trust_forwarded: bool) -> bool:
    """The request comes from this machine (loopback) and not through a proxy we do not trust."""
    import ipaddress

    from flask import request

    if not trust_forwarded and any(h in request.headers for h in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def bearer_matches(token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (the time says nothing about the match)."""
    import hmac

    from flask import request

    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())
