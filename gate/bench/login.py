"""`gate bench login`: does the sign-in page tell which usernames exist by how long it takes?

POST /login through the real web app (the production argon2id parameters, CSRF off: the bench times
the check, not the form) for three kinds of failed sign-in, interleaved round by round so a machine
getting busier shows in all of them: a known username with a wrong password (the baseline), an
unknown username, and a locked account. Finding 7 measured 427 ms unknown against 211 ms known: the
unknown path hashed the dummy password on every attempt, then verified it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from gate.bench.access import summarize
from gate.context import GateContext
from gate.install import initialise
from gate.store import operators as operator_service
from gate.store.models import Operator, OperatorRole

PASSWORD = "bench passphrase for timing"
WRONG = "not the passphrase at all"
KINDS = ("known_wrong_password", "unknown_username", "locked_account")


def _post(client: Any, username: str) -> float:
    start = time.perf_counter()
    response = client.post("/login", data={"username": username, "password": WRONG})
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 401:
        raise RuntimeError(f"sign-in bench: expected a refused sign-in, got HTTP {response.status_code}")
    return elapsed


def login_timing(rounds: int = 40, warmup: int = 3) -> dict[str, Any]:
    """Median (and tails) of a refused sign-in per kind, and each kind's median over the baseline's."""
    from webui import create_app

    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        data_dir = Path(tmp)
        initialise(data_dir)
        ctx = GateContext.open(data_dir)
        try:
            with ctx.transaction() as session:
                for name in ("keeper", "locked"):
                    operator_service.create_operator(session, ctx.hasher, username=name, password=PASSWORD,
                                                     role=OperatorRole.OPERATOR, actor="bench")
            app = create_app(ctx, config={"TESTING": True, "WTF_CSRF_ENABLED": False,
                                          "LOGIN_ATTEMPTS_PER_MINUTE": 1_000_000})
            client = app.test_client()
            for _ in range(operator_service.MAX_FAILURES):
                _post(client, "locked")
            for index in range(warmup + rounds):
                # Rotate the order so no kind always runs first (a cold cache) or last.
                order = KINDS[index % 3:] + KINDS[:index % 3]
                for kind in order:
                    username = {"known_wrong_password": "keeper", "unknown_username": f"nobody{index}",
                                "locked_account": "locked"}[kind]
                    elapsed = _post(client, username)
                    if index >= warmup:
                        samples[kind].append(elapsed)
                with ctx.transaction() as session:  # keep "keeper" below the lockout, outside the timing
                    session.execute(update(Operator).where(Operator.username == "keeper").values(failed_logins=0))
        finally:
            ctx.close()
    result: dict[str, Any] = {kind: summarize(values) for kind, values in samples.items()}
    base = result["known_wrong_password"]["median_ms"]
    result["ratio_unknown"] = result["unknown_username"]["median_ms"] / base
    result["ratio_locked"] = result["locked_account"]["median_ms"] / base
    return result
