"""The dashboard counts residents again only when the residents changed (the directory version moved),
whoever changed them: counting 100,000 residents on every load was most of the page's time."""

from __future__ import annotations

from sqlalchemy import event, text

from gate.store import residents as resident_service
from gate.store.dashboard import privacy_report


def test_resident_counts_are_reused_until_the_residents_change(ctx) -> None:
    statements: list[str] = []
    event.listen(ctx.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append(statement))
    with ctx.transaction() as session:
        for code in ("A1", "A2", "A3"):
            resident_service.add_resident(session, code=code, name=f"Resident {code}", actor="test")

    def report() -> tuple[int, int, int]:
        statements.clear()
        with ctx.sessions() as session:
            found = privacy_report(session, ctx.settings)
        counted = sum("GROUP BY residents.status" in s for s in statements)
        return found.residents_active, found.residents_moved_out, counted

    assert report() == (3, 0, 1)
    assert report() == (3, 0, 0)  # nothing changed: not counted again
    with ctx.transaction() as session:
        resident_service.move_out(session, resident_service.get_resident(session, "A2"), ctx.store, actor="test")
    assert report() == (2, 1, 1)
    with ctx.transaction() as session:  # plain SQL, as another tool or an older release might write
        session.execute(text("UPDATE residents SET status = 'moved_out' WHERE code = 'A3'"))
    assert report() == (1, 2, 1)
