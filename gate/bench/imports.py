"""`gate bench import`: a large residents import, and card decisions taken while it runs.

The decisions go through an access service on the gate's own decision-path engine (it gives up on a busy
database after gate.store.db.DECISION_WAIT_MS and would decide from the offline copy): a decision that
raises here is one the gate would have had to take offline.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from gate.bench.access import summarize
from gate.context import GateContext, session_factory
from gate.install import initialise
from gate.store import imports, residents
from gate.store.db import make_engine
from gate.store.import_files import open_table

CARD = "123:45678"


def write_file(path: Path, rows: int) -> Path:
    """A site's worth of households: code, name, unit, group and one card each (UTF-8 with BOM)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.write("住户编号,姓名,房号,分组,门禁卡\r\n")
        for i in range(rows):
            handle.write(f"R{i:06d},住户{i},{i // 400 + 1}-{i // 100 % 4 + 1}-{i % 100 + 101},"
                         f"{'业主' if i % 3 else '租户'},{10_000_000 + i}\r\n")
    return path


def import_with_decisions(rows: int, database_url: str | None = None, interval: float = 0.05) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="gate-bench-import-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        if database_url:
            (data_dir / "gate.toml").write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
        initialise(data_dir)
        ctx = GateContext.open(data_dir)
        decision_engine = make_engine(ctx.settings.database_url, decision_path=True)
        try:
            with ctx.transaction() as session:
                resident = residents.add_resident(session, code="BENCH", name="Bench", actor="bench")
                residents.add_card(session, resident, CARD, actor="bench")
            from gate.access.pipeline import AccessService

            access = AccessService(session_factory(decision_engine, ctx.settings), lambda: ctx.settings,
                                   ctx.hasher, ctx.clock)
            source = write_file(Path(tmp) / "residents.csv", rows)

            def decide() -> tuple[float, bool]:
                start = time.perf_counter()
                try:
                    granted = access.card("main", CARD).decision.granted
                except Exception:  # noqa: BLE001 - the database was too busy: the gate would go offline
                    granted = False
                return (time.perf_counter() - start) * 1000, granted

            idle = [decide() for _ in range(50)]
            outcome: dict[str, imports.ImportResult] = {}

            def run() -> None:
                table = open_table(source.read_bytes(), source.name)
                outcome["result"] = imports.run_import(ctx.sessions, table, ctx.hasher, actor="bench")

            worker = threading.Thread(target=run, name="bench-import")
            started = time.perf_counter()
            worker.start()
            during: list[tuple[float, bool]] = []
            while worker.is_alive():
                during.append(decide())
                time.sleep(interval)
            seconds = time.perf_counter() - started
            result = outcome["result"]
        finally:
            decision_engine.dispose()
            ctx.close()
    return {
        "rows": rows, "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds),
        "added": result.counts[imports.Verdict.ADD], "failure": result.failure,
        "card_idle": summarize([ms for ms, _ok in idle]),
        "card_during_import": {**summarize([ms for ms, _ok in during]), "max_ms": max(ms for ms, _ok in during),
                               "not_granted": sum(1 for _ms, ok in during if not ok)},
    }
