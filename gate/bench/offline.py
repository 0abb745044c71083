"""`gate bench offline`: card-to-relay latency while another process holds the SQLite file locked.

A backup, a `sqlite3` shell or a long purge can hold an exclusive lock on the database file. The
gate must then decide card and PIN from its offline copy without waiting on the file: the first
card after the lock pays one short wait (the decision engine's busy timeout) and opens the circuit;
every card after it is decided from the copy without asking the database.

One run, one throw-away installation on the simulators (`gate bench gate`'s path: OSDP reader to
Modbus coil write): a block of cards with the file free (the baseline), then the lock is taken by a
child process (`BEGIN EXCLUSIVE`), the first card is timed on its own and a block of cards follows.
Goal: the median with the lock held is at most 100 ms.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gate.bench.access import summarize
from gate.bench.gate import card_to_relay, simulated_gate

GOAL_MEDIAN_MS = 100.0

_HOLD = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # held until the parent closes our stdin
connection.execute("ROLLBACK")
"""


@contextmanager
def exclusive_lock(db_file: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds `BEGIN EXCLUSIVE` on `db_file` until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(db_file)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "locked":
            raise RuntimeError(f"the lock holder did not take the lock on {db_file}")
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def offline_latency(rounds: int = 30) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with simulated_gate() as bench:
        rig, runtime = bench.rig, bench.runtime
        db_file = bench.ctx.settings.data_dir / "gate.db"
        result["card_to_relay"] = summarize(card_to_relay(rig, rounds))
        with exclusive_lock(db_file):
            first = card_to_relay(rig, 1, warmup=0)
            locked = card_to_relay(rig, rounds, warmup=0)
            result["circuit_open"] = not runtime.snapshot().database.ok
            result["journaled"] = runtime.events.pending_count
        result["first_card_locked_ms"] = first[0]
        result["card_to_relay_locked"] = summarize(locked)
        result["ratio_median"] = result["card_to_relay_locked"]["median_ms"] / result["card_to_relay"]["median_ms"]
        result["goal_median_ms"] = GOAL_MEDIAN_MS
        # Leave the installation as found: the re-probe closes the circuit and the journal is replayed.
        deadline = time.monotonic() + 30
        while (not runtime.snapshot().database.ok or runtime.events.pending_count) and time.monotonic() < deadline:
            runtime.wait_idle()
            time.sleep(0.05)  # bench only: not a request handler
        result["replayed"] = runtime.events.pending_count == 0
    return result
