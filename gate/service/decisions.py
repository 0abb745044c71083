"""Everything the gate loop asks of the database: decisions, the policy, the offline copy, door rows.

With the database away, card and PIN are decided from the offline copy; without a usable copy (and
for face) the refusal comes from `decide_unavailable()`, never "card not recognised". Events taken
offline go to the local journal and are replayed as soon as the database answers again.

Fast offline: once one call failed, the circuit (`DatabaseHealth`) is open and nothing here asks the
database -- no policy reload, no cache refresh, no decision -- until the background re-probe
(`db_health.Reprobe`, off the loop) finds it answering and the loop calls `database_back()`.

No database work runs on the loop itself: every call goes through `DatabaseDeadline.run` (a worker
with a hard deadline, `db_deadline`), so a stalled link or a hung server costs one deadline, after
which the circuit is open and the copy decides; a late answer is discarded and its commit refused.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gate.access.offline import OFFLINE_METHODS, CacheExpired, OfflineCache
from gate.access.pipeline import AccessService, face_method
from gate.clock import Clock
from gate.core import machine as m
from gate.core.claims import Claim, ClaimKind
from gate.core.decision import Decision, decide_unavailable
from gate.core.policy import GatePolicy, Method
from gate.errors import NotMigratedError
from gate.service.db_deadline import DatabaseDeadline
from gate.service.event_log import EventLog
from gate.service.metrics import GateMetrics

log = logging.getLogger("gate.service")


class Decider:
    def __init__(self, gate_name: str, access: AccessService, events: EventLog, cache: OfflineCache | None,
                 clock: Clock, metrics: GateMetrics | None = None, deadline: DatabaseDeadline | None = None) -> None:
        self.gate_name = gate_name
        self.deadline = deadline or DatabaseDeadline()
        self.bounded = self.deadline.run
        self.metrics = metrics
        self.access = access
        self.events = events
        self.database = events.database
        self.cache = cache
        self.clock = clock
        self.policy: GatePolicy | None = None
        #: Set when the gate started while the database was away: the schema is checked (and must be
        #: the code's) before the gate joins it again; until then the gate stays on its offline copy.
        self.schema_check: Callable[[], object] | None = None
        self._schema_refused: str | None = None

    @property
    def gate_id(self) -> int | None:
        return self.policy.gate_id if self.policy is not None else None

    def load_policy(self) -> GatePolicy | None:
        """The gate's current policy, or None (and the database marked lost) when it cannot be read."""
        if not self.database.ok:
            return self._policy_from_copy()
        try:
            self.policy = self.bounded(lambda: self.access.policy(self.gate_name))
        except SQLAlchemyError as err:
            self.database.lost(err)
            return self._policy_from_copy()
        return self.policy

    def _policy_from_copy(self) -> GatePolicy | None:
        """A gate that started during an outage has no policy but the one its offline copy carries:
        use it, so the screen offers the gate's own ways in (and counts its gate id) until the database
        is back."""
        if self.policy is None and self.cache is not None and self.cache.copy is not None:
            self.policy = self.cache.copy.policy
            return self.policy
        return None

    def refresh_cache(self) -> None:
        if not self.database.ok:
            return  # the re-probe asks the database; the copy is refreshed when it is back
        if self.cache is not None:
            try:
                cache, now = self.cache, self.clock()
                self.bounded(lambda: cache.refresh(self.access.sessions, self.gate_name, now))
            except SQLAlchemyError as err:
                self.database.lost(err)
                return
        self.database_back()

    def answers(self) -> bool:
        """The re-probe's question (asked off the loop, on the decision engine's short timeouts): can
        the database be read, and does it take the writes waiting on the journal?"""
        def probe() -> None:
            if self.schema_check is not None:
                self.schema_check()
                self.schema_check = None
            self.access.policy(self.gate_name)
            self.events.check_writes(self.access.sessions, self.gate_id)

        try:
            self.bounded(probe)
        except NotMigratedError as err:
            if str(err) != self._schema_refused:  # said once, not every probe
                log.error("the database answers but the gate does not join it: %s", err)
                self._schema_refused = str(err)
                self.database.refuse(str(err))
            return False
        except SQLAlchemyError:
            return False
        return True

    def ping(self) -> None:
        """The heartbeat's question while the circuit is closed (off the loop): does the database answer
        at all? Raises SQLAlchemyError (DatabaseStalled after the deadline) when it does not."""
        def select_one() -> None:
            with self.access.sessions() as session:
                session.execute(text("SELECT 1"))

        self.bounded(select_one)

    def database_back(self) -> None:
        """The database answered: close the circuit, replay the journal (also a previous run's) and,
        if it had been away, refresh the offline copy."""
        came_back = self.database.back()
        if self.events.pending_count:
            try:
                self.bounded(lambda: self.events.flush(self.access.sessions, self.gate_id))
            except SQLAlchemyError as err:
                self.database.lost(err)  # the lines stay on the journal for the next time
        if came_back and self.database.ok:
            self.load_policy()
            self.refresh_cache()

    def record_door(self, kind: str, detail: str) -> None:
        self.events.door(self.access.sessions, self.gate_id, kind, detail, run=self.bounded)

    def decide(self, effect: m.Decide, rules: m.Rules) -> Decision:
        # A monotonic clock, not `self.clock`: latency must not jump with the wall clock (or a test's).
        started = time.perf_counter()
        decision = self._decide(effect, rules)
        if self.metrics is not None:
            self.metrics.decision(effect.method, decision, time.perf_counter() - started)
        return decision

    def _decide(self, effect: m.Decide, rules: m.Rules) -> Decision:
        if not self.database.ok:
            return self._decide_offline(effect, rules)
        try:
            outcome = self.bounded(lambda: self.access.decide(
                self.gate_name, effect.method, effect.claim, pin=effect.pin, face=effect.face,
                face_failures=effect.face_failures))
        except SQLAlchemyError as err:
            self.database.lost(err)
            return self._decide_offline(effect, rules)
        self.database_back()
        self.events.remember({"kind": "access", "method": effect.method.value, "granted": outcome.decision.granted,
                              "reason": outcome.decision.reason.value, "resident_id": outcome.resident_id,
                              "event_id": outcome.event_id})
        return outcome.decision

    def _decide_offline(self, effect: m.Decide, rules: m.Rules) -> Decision:
        detail = "database unreachable"
        if self.cache is not None and effect.method in OFFLINE_METHODS:
            try:
                outcome = self.cache.decide(effect.method, effect.claim, self.clock(), pin=effect.pin)
            except CacheExpired as expired:
                detail = str(expired)
            else:
                self.events.offline(effect.method, outcome.decision, outcome.resident_id, self.gate_id,
                                    "decided from the local cache", _card(effect.claim),
                                    visitor_id=outcome.visitor_id)
                return outcome.decision
        decision = decide_unavailable(rules.methods, effect.method)
        self.events.offline(effect.method, decision, None, self.gate_id, detail, _card(effect.claim))
        return decision

    def face_declined(self, effect: m.CheckFaceOffer) -> bool:
        """Whether the held claim's resident declined face; unknown (database away) counts as not declined,
        since face is then not offered anyway."""
        if not self.database.ok:
            return False
        try:
            return self.bounded(lambda: self.access.face_declined(effect.claim))
        except SQLAlchemyError as err:
            self.database.lost(err)
            return False

    def precheck(self, effect: m.Precheck, rules: m.Rules) -> Decision | None:
        """The denial that ends a face attempt before any camera opens, or None to go on."""
        started = time.perf_counter()
        method = face_method(effect.claim)
        if not self.database.ok:
            return self._face_offline(method, rules)
        try:
            denial = self.bounded(lambda: self.access.face_precheck(self.gate_name, effect.claim,
                                                                    effect.face_failures))
        except SQLAlchemyError as err:
            self.database.lost(err)
            return self._face_offline(method, rules)
        if denial is None:
            return None
        # Recorded like any decision (no face evidence: nothing was captured), so "no consent,
        # no capture" leaves a trace in the event table and the JSON log.
        event_id: int | None = None
        try:
            outcome = self.bounded(lambda: self.access.face(self.gate_name, effect.claim, None, effect.face_failures))
            denial = outcome.decision if not outcome.decision.granted else denial
            event_id = outcome.event_id
        except SQLAlchemyError as err:
            self.database.lost(err)
        self.events.remember({"kind": "access", "method": method.value, "granted": False,
                              "reason": denial.reason.value, "camera_opened": False, "event_id": event_id})
        if self.metrics is not None:  # a refusal recorded like any decision, so it is counted like one
            self.metrics.decision(method, denial, time.perf_counter() - started)
        return denial

    def _face_offline(self, method: Method, rules: m.Rules) -> Decision:
        """Face is never decided from the copy; the refusal goes on the offline journal like any decision."""
        decision = decide_unavailable(rules.methods, method)
        self.events.offline(method, decision, None, self.gate_id, "face is never decided offline")
        return decision


def _card(claim: Claim) -> str | None:
    """The claimed card, for the log line (masked there)."""
    return claim.value if claim.kind is ClaimKind.CARD else None
