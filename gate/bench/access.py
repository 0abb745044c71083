"""Benchmarks behind `gate bench`. They build their own throw-away installation."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gate.bench.stats import percentile
from gate.context import GateContext
from gate.install import initialise
from gate.store import residents


def summarize(samples_ms: list[float]) -> dict[str, float]:
    return {"n": len(samples_ms), "median_ms": statistics.median(samples_ms),
            "p95_ms": percentile(samples_ms, 0.95), "p99_ms": percentile(samples_ms, 0.99)}


def time_calls(call: Callable[[], object], rounds: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def access_decisions(rounds: int = 200) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as tmp:
        data_dir = Path(tmp)
        initialise(data_dir)
        ctx = GateContext.open(data_dir)
        try:
            with ctx.transaction() as session:
                resident = residents.add_resident(session, code="B1", name="Bench", actor="bench")
                residents.add_card(session, resident, "123:45678", actor="bench")
                residents.set_pin(session, resident, "482915", ctx.hasher, actor="bench")
            access = ctx.access()
            card = time_calls(lambda: access.card("main", "123:45678"), rounds)
            pin = time_calls(lambda: access.pin("main", "B1", "482915"), max(20, rounds // 4))
        finally:
            ctx.close()
    return {"card_decision": summarize(card), "pin_decision": summarize(pin)}
