"""The gate service at run time: one event loop per gate, devices each with one owner, face off-loop.

* The event loop thread owns the transaction state (`machine.State`). Everything that happens --
  a card on the reader, a key, a button on the kiosk, a door input, a timer, a face result -- is put
  on its queue and handled there, one at a time. Card and PIN decisions run on the loop (a few ms).
* Face work (camera burst + verification, ~0.3-1 s) runs on a one-thread executor and comes back as
  a `FaceVerified` event. A card presented meanwhile is handled at once; the face result is stale.
* The door (DoorController on the relay board) and the reader belong to this runtime; web handlers
  only post events and read `snapshot()`.
* Timers are `threading.Timer`s that post `TimedOut(token)`; no handler sleeps.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import logging
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from gate.core.claims import ClaimKind
from gate.access.pipeline import AccessService
from gate.clock import Clock, utcnow
from gate.core.decision import Decision, Reason
from gate.store.models import AccessEvent
from gate.core.policy import GatePolicy, Method
from gate.core import machine as m
from gate.access.offline import CacheExpired, OfflineCache
from gate.service.face_check import FaceCheck

log = logging.getLogger("gate.service")
events_log = logging.getLogger("gate.store.events")

LAST_EVENTS = 50


@dataclass(frozen=True)
class Timeouts:
    claim: float = 20.0
    face: float = 15.0
    decision: float = 10.0
    refusal: float = 8.0
    passage: float = 8.0
    held_open: float = 30.0


@dataclass(frozen=True)
class Snapshot:
    """What /health, the kiosk page and `gate status` show. Never a PIN, a card number or a face."""

    gate: str
    running: bool
    phase: str
    offered: list[str]
    camera_on: bool
    message: str
    reason: str | None
    granted: bool | None
    database: dict[str, Any]
    door: dict[str, Any]
    reader: dict[str, Any]
    camera: dict[str, Any]
    face_model: dict[str, Any]
    last_events: list[dict[str, Any]]
    alarms: list[str]
    transaction: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Ctl:
    """Control events that are not part of the transaction machine."""

    kind: str
    value: Any = None
    reply: queue.Queue | None = field(default=None, repr=False)


IDLE_MESSAGES = {
    m.Phase.IDLE: "Present your card, or choose a way in.",
    m.Phase.CLAIM: "Present your card or type your resident code.",
    m.Phase.CHOICE: "Enter your PIN.",
    m.Phase.DECISION: "One moment...",
    m.Phase.PRECHECK: "One moment...",
    m.Phase.CAPTURE: "Camera on: look at the camera.",
}


class GateRuntime:
    """The gate service for one gate. `start()` / `stop()`; `post(event)` from anywhere."""

    def __init__(self, gate_name: str, access: AccessService, *, door: Any = None,
                 reader_factory: Callable[[Callable[[Any], None]], Any] | None = None,
                 face: FaceCheck | None = None, cache: OfflineCache | None = None,
                 timeouts: Timeouts = Timeouts(), clock: Clock = utcnow,
                 publishers: tuple[Callable[[dict[str, Any]], None], ...] = (),
                 cache_refresh_seconds: float = 60.0) -> None:
        self.gate_name = gate_name
        self.access = access
        self.door = door
        # The reader driver pushes its events to a callback given at construction: ours.
        self.reader = reader_factory(self.on_reader_event) if reader_factory is not None else None
        self.face = face
        self.cache = cache
        self.timeouts = timeouts
        self.clock = clock
        self.publishers = publishers
        self.cache_refresh_seconds = cache_refresh_seconds
        self.extras: dict[str, Any] = {}  # simulator handles, for the /sim page

        self._queue: queue.SimpleQueue[m.Event | _Ctl | None] = queue.SimpleQueue()
        self._state = m.State()
        self._rules = m.Rules(methods=frozenset({Method.CARD, Method.PIN}))
        self._policy: GatePolicy | None = None
        self._thread: threading.Thread | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="face")
        self._face_cancel = threading.Event()
        self._timer: threading.Timer | None = None
        self._held_timer: threading.Timer | None = None
        self._keys_timer: threading.Timer | None = None
        self._refresh_timer: threading.Timer | None = None
        self._lock = threading.Lock()  # guards the published snapshot fields below
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=LAST_EVENTS)
        self._alarms: set[str] = set()
        self._camera_on = False
        self._challenge: str | None = None
        self._door_failed_token: int | None = None
        self._db_ok = True
        self._db_error: str | None = None
        self._offline_since: datetime | None = None
        self._pending: list[dict[str, Any]] = []
        self._keys = ""
        self._card_waiters: list[queue.Queue[str]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._running = False
        self._stopped = threading.Event()
        self._transitions = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> GateRuntime:
        self._load_policy()
        self._refresh_cache()
        if self.door is not None:
            self._unsubscribe.append(self.door.subscribe(self._on_door_event))
            self.door.start()
        if self.reader is not None:
            self.reader.start()
        if self.face is not None:
            self._executor.submit(self.face.warm_up)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"gate:{self.gate_name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)
        for timer in (self._timer, self._held_timer, self._refresh_timer, self._keys_timer):
            if timer is not None:
                timer.cancel()
        self._face_cancel.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.reader is not None:
            self.reader.stop()
        if self.door is not None:
            self.door.stop()

    def __enter__(self) -> GateRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- input from anywhere ---------------------------------------------------------------------
    def post(self, event: m.Event) -> None:
        self._queue.put(event)

    def on_reader_event(self, event: Any) -> None:
        """From the reader driver's thread: CardRead, KeyPress, ReaderStatus, ReaderFault."""
        kind = type(event).__name__
        if kind == "CardRead":
            self.reader_input("card", event.card)
        elif kind == "KeyPress":
            for key in event.keys:
                self.reader_input("key", key)
        elif kind == "ReaderStatus":
            self._queue.put(_Ctl("reader_status", event))
        elif kind == "ReaderFault":
            self._queue.put(_Ctl("reader_fault", event))

    def reader_input(self, kind: str, value: str) -> None:
        """From the reader driver (or the simulator's virtual reader): 'card' or 'key'."""
        self._queue.put(_Ctl(kind, value))

    def reload_policy(self) -> None:
        """Pick up a changed gate policy now (it is also reloaded between transactions and on refresh)."""
        self._queue.put(_Ctl("policy"))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every event posted before this call has been handled (tests, the bench)."""
        reply: queue.Queue[bool] = queue.Queue()
        self._queue.put(_Ctl("sync", reply=reply))
        try:
            return reply.get(timeout=timeout)
        except queue.Empty:
            return False

    def capture_card(self, timeout: float) -> str | None:
        """For the operator UI's "present the card now": the next card read, or None. Not decided."""
        waiter: queue.Queue[str] = queue.Queue(maxsize=1)
        self._queue.put(_Ctl("capture", waiter))
        try:
            return waiter.get(timeout=timeout)
        except queue.Empty:
            return None
        finally:
            self._queue.put(_Ctl("uncapture", waiter))

    def camera_frames(self, n: int) -> list:
        """Frames for enrollment at the gate camera. Runs on the face worker, not the caller's thread."""
        if self.face is None or self.face.camera_factory is None:
            from gate.face.errors import FaceUnavailable
            raise FaceUnavailable("this gate has no camera configured")

        def grab() -> list:
            camera = self.face.camera_factory()  # type: ignore[union-attr]
            self._set_camera(True)
            try:
                with camera:
                    return camera.burst(n)
            finally:
                self._set_camera(False)

        return self._executor.submit(grab).result(timeout=30)

    # -- snapshot --------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        state, rules = self._state, self._rules
        decision = state.decision
        if state.phase in (m.Phase.OPEN, m.Phase.REFUSAL) and decision is not None:
            message = decision.message
        else:
            message = IDLE_MESSAGES.get(state.phase, "")
        if state.phase is m.Phase.OPEN and self._door_failed_token == state.token:
            message = "Access granted, but the door could not be released. Please call the management office."
        if state.phase is m.Phase.CAPTURE and self._challenge:
            message += " " + self._challenge
        if state.phase is m.Phase.REFUSAL and decision is not None and decision.reason is Reason.NO_CONSENT:
            message += " To use face, ask the management office to enroll you (it needs your separate consent)."
        door = _door_state(self.door)
        now = self.clock()
        with self._lock:
            offered = m.offered(state, rules)
            if not self._db_ok:
                offered = [w for w in offered if w != "face"]
            database = {"ok": self._db_ok, "error": self._db_error,
                        "offline_since": self._offline_since.isoformat() if self._offline_since else None,
                        "cache_age_seconds": self.cache.age(now) if self.cache else None,
                        "decisions_from_cache": not self._db_ok and bool(self.cache and self.cache.usable(now)),
                        "pending_events": len(self._pending)}
            return Snapshot(
                gate=self.gate_name, running=self._running, phase=state.phase.value, offered=offered,
                camera_on=self._camera_on, message=message,
                reason=decision.reason.value if decision else None,
                granted=decision.granted if decision else None,
                database=database, door=door, reader=_reader_state(self.reader),
                camera=self._camera_state(), face_model=self.face.model_state() if self.face else {"state": "disabled"},
                last_events=list(self._events)[::-1][:20], alarms=sorted(self._alarms), transaction=state.token,
            )

    def _camera_state(self) -> dict[str, Any]:
        if self.face is None:
            return {"state": "none"}
        stats = self.face.stats
        return {"state": "on" if self._camera_on else "off", "opens": stats.camera_opens,
                "frames_read": stats.frames_read, "last_error": stats.last_error}

    # -- the loop --------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, _Ctl):
                    self._control(item)
                else:
                    self._handle(item)
            except Exception:  # noqa: BLE001 - the loop must survive anything one event does
                log.exception("gate loop: event %r failed", item)

    def _control(self, ctl: _Ctl) -> None:
        if ctl.kind == "sync":
            ctl.reply.put(True)  # type: ignore[union-attr]
        elif ctl.kind == "capture":
            self._card_waiters.append(ctl.value)
        elif ctl.kind == "uncapture":
            if ctl.value in self._card_waiters:
                self._card_waiters.remove(ctl.value)
        elif ctl.kind == "card":
            if self._card_waiters:
                self._card_waiters.pop(0).put(ctl.value)
                return
            self._handle(m.PresentCard(ctl.value))
        elif ctl.kind == "key":
            self._key(ctl.value)
        elif ctl.kind == "regrant":
            self._release(*ctl.value)
        elif ctl.kind == "keys_clear":
            self._keys = ""
        elif ctl.kind == "door":
            self._door_event(ctl.value)
        elif ctl.kind == "refresh":
            if self._state.phase is m.Phase.IDLE:
                self._load_policy()
            self._refresh_cache()
        elif ctl.kind == "policy":
            if self._state.phase is m.Phase.IDLE:
                self._load_policy()
        elif ctl.kind == "reader_status":
            self._alarm("reader_offline", not ctl.value.online)
            self._record_door("reader_online" if ctl.value.online else "reader_offline", ctl.value.detail)
        elif ctl.kind == "reader_fault":
            self._record_door("reader_fault", ctl.value.message)

    def _key(self, key: str) -> None:
        """Keypad: digits collect, '#' submits (first the resident code, then the PIN), '*' clears."""
        if key == "*":
            self._keys = ""
            return
        if key != "#":
            if key.isdigit() and len(self._keys) < 32:
                self._keys += key
                self._arm_keys_timer()
            return
        typed, self._keys = self._keys, ""
        if not typed:
            return
        if self._state.phase is m.Phase.CHOICE:
            self._handle(m.EnterPin(typed))
        else:
            self._handle(m.EnterCode(typed))

    def _arm_keys_timer(self) -> None:
        """Half-typed digits are forgotten after the claim timeout: the next person starts clean."""
        if self._keys_timer is not None:
            self._keys_timer.cancel()
        self._keys_timer = threading.Timer(self.timeouts.claim, self._queue.put, args=(_Ctl("keys_clear"),))
        self._keys_timer.daemon = True
        self._keys_timer.start()

    def _handle(self, event: m.Event) -> None:
        if isinstance(event, (m.PresentCard, m.EnterCode, m.Choose)) and self._state.phase is m.Phase.IDLE:
            self._load_policy()  # pick up policy changes made in the UI between transactions
        before = self._state
        after, effects = m.step(before, event, self._rules)
        self._state = after
        self._transitions += 1
        if after.phase is m.Phase.IDLE and before.phase is not m.Phase.IDLE:
            self._keys = ""
        if after.phase is not before.phase:
            log.debug("%s: %s --%s--> %s", self.gate_name, before.phase, type(event).__name__, after.phase)
        for effect in effects:
            self._execute(effect)

    # -- effects ---------------------------------------------------------------------------------
    def _execute(self, effect: m.Effect) -> None:
        if isinstance(effect, m.Decide):
            self._decide(effect)
        elif isinstance(effect, m.Precheck):
            self._precheck(effect)
        elif isinstance(effect, m.StartFace):
            self._start_face(effect)
        elif isinstance(effect, m.StopFace):
            self._face_cancel.set()
        elif isinstance(effect, m.Grant):
            self._grant(effect.decision)
        elif isinstance(effect, m.Refuse):
            self._feedback(False)
        elif isinstance(effect, m.ArmTimer):
            self._arm(effect)

    def _arm(self, effect: m.ArmTimer) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(effect.seconds, self.post, args=(m.TimedOut(effect.token),))
        self._timer.daemon = True
        self._timer.start()

    def _decide(self, effect: m.Decide) -> None:
        decision = self._decide_now(effect)
        # Queued, not handled re-entrantly: the effects after this one (its timer) run first.
        self.post(m.Decided(effect.token, decision, effect.method))

    def _decide_now(self, effect: m.Decide) -> Decision:
        claim = effect.claim
        try:
            if effect.method is Method.CARD:
                outcome = self.access.card(self.gate_name, claim.value)
            elif effect.method is Method.PIN:
                outcome = self.access.pin(self.gate_name, claim.value, effect.pin or "")
            elif effect.method is Method.CARD_PIN:
                outcome = self.access.card_pin(self.gate_name, claim.value, effect.pin or "")
            else:
                outcome = self.access.face(self.gate_name, claim, effect.face, effect.face_failures)
        except SQLAlchemyError as err:
            return self._decide_offline(effect, err)
        self._database_back()
        self._remember({"kind": "access", "method": effect.method.value, "granted": outcome.decision.granted,
                        "reason": outcome.decision.reason.value, "resident_id": outcome.resident_id,
                        "event_id": outcome.event_id})
        return outcome.decision

    def _decide_offline(self, effect: m.Decide, err: Exception) -> Decision:
        self._database_lost(err)
        now = self.clock()
        alternatives = self._rules.methods & frozenset({Method.CARD, Method.PIN, Method.CARD_PIN})
        if self.cache is None or effect.method not in (Method.CARD, Method.PIN, Method.CARD_PIN):
            decision = Decision(False, Reason.FACE_UNAVAILABLE if effect.method.uses_face else Reason.UNKNOWN_CARD,
                                alternatives)
            self._record_pending(effect.method, decision, None, "database unreachable")
            return decision
        try:
            if effect.method is Method.CARD:
                cached = self.cache.card(effect.claim.value, now)
            elif effect.method is Method.CARD_PIN:
                cached = self.cache.card_pin(effect.claim.value, effect.pin or "", now)
            else:
                cached = self.cache.pin(effect.claim.value, effect.pin or "", now)
        except CacheExpired as expired:
            reason = Reason.UNKNOWN_CARD if effect.method is Method.CARD else Reason.UNKNOWN_RESIDENT
            decision = Decision(False, reason)
            self._record_pending(effect.method, decision, None, str(expired))
            return decision
        self._record_pending(effect.method, cached.decision, cached.resident_id, "decided from the local cache")
        return cached.decision

    def _precheck(self, effect: m.Precheck) -> None:
        if not self._db_ok and not self._probe_database():
            denial: Decision | None = Decision(False, Reason.FACE_UNAVAILABLE, self._rules.methods & frozenset(
                {Method.CARD, Method.PIN, Method.CARD_PIN}))
        else:
            try:
                denial = self.access.face_precheck(self.gate_name, effect.claim, effect.face_failures)
            except SQLAlchemyError as err:
                self._database_lost(err)
                denial = Decision(False, Reason.FACE_UNAVAILABLE,
                                  self._rules.methods & frozenset({Method.CARD, Method.PIN, Method.CARD_PIN}))
        if denial is not None and self._db_ok:
            # Recorded like any decision (no face evidence: nothing was captured), so "no consent,
            # no capture" leaves a trace in the event table and the JSON log.
            try:
                outcome = self.access.face(self.gate_name, effect.claim, None, effect.face_failures)
                denial = outcome.decision if not outcome.decision.granted else denial
                event_id = outcome.event_id
            except SQLAlchemyError as err:
                self._database_lost(err)
                event_id = None
            method = Method.CARD_FACE if effect.claim.kind is ClaimKind.CARD else Method.FACE
            self._remember({"kind": "access", "method": method.value, "granted": False,
                            "reason": denial.reason.value, "camera_opened": False, "event_id": event_id})
        self.post(m.Prechecked(effect.token, denial))

    def _start_face(self, effect: m.StartFace) -> None:
        self._face_cancel = cancel = threading.Event()
        policy = self._policy
        if self.face is None or policy is None:
            self.post(m.FaceVerified(effect.token, _unavailable()))
            return
        face = self.face
        # A head turn's direction is drawn per attempt, so a recording cannot know it in advance.
        direction = secrets.choice(("left", "right")) if policy.liveness == "head_turn" else None
        with self._lock:
            self._challenge = {"blink": "Blink once.",
                               "head_turn": f"Turn your head to the {direction}, then look back."}.get(policy.liveness)

        def job() -> None:
            outcome = face.run(effect.claim, policy, cancel, direction)
            self.post(m.FaceVerified(effect.token, outcome))

        self._executor.submit(job)

    #: A grant that meets a momentary serial glitch is tried again this many times, 0.5 s apart, while
    #: the same person is still "open" on the screen: never later than ~1.5 s after the decision.
    GRANT_RETRIES = 3

    def _grant(self, decision: Decision) -> None:
        self._feedback(True)
        self._release(self._state.token, self.GRANT_RETRIES)

    def _release(self, token: int, retries: int) -> None:
        if self.door is None or self._state.token != token or self._state.phase is not m.Phase.OPEN:
            return
        try:
            opened = self.door.grant("granted")
        except Exception as err:  # noqa: BLE001 - a dead board leaves the door locked (fail-secure)
            opened = False
            log.warning("door grant failed: %s", err)
        if opened:
            with self._lock:
                self._door_failed_token = None
            return
        if retries > 0:
            timer = threading.Timer(0.5, self._queue.put, args=(_Ctl("regrant", (token, retries - 1)),))
            timer.daemon = True
            timer.start()
            return
        with self._lock:
            self._door_failed_token = token
        self._remember({"kind": "door", "event": "grant_failed", "detail": "relay board did not release"})

    def _feedback(self, granted: bool) -> None:
        if self.reader is None:
            return
        try:
            self.reader.feedback(granted)
        except Exception as err:  # noqa: BLE001 - LEDs are a courtesy, never a reason to fail a decision
            log.info("reader feedback failed: %s", err)

    # -- door ------------------------------------------------------------------------------------
    def _on_door_event(self, event: Any) -> None:
        self._queue.put(_Ctl("door", event))

    def _door_event(self, event: Any) -> None:
        kind = event.kind
        alarm_kinds = {"fire_alarm": "fire_alarm", "door_forced": "door_forced", "link_lost": "relay_offline"}
        if kind in alarm_kinds:
            self._alarm(alarm_kinds[kind], True)
        if kind == "fire_alarm_cleared":
            self._alarm("fire_alarm", False)
        if kind == "link_restored":
            self._alarm("relay_offline", False)
        if kind in ("door_opened", "door_forced"):
            self._arm_held_open()
        if kind == "door_closed":
            if self._held_timer is not None:
                self._held_timer.cancel()
            self._alarm("door_held_open", False)
            self._alarm("door_forced", False)
        if kind == "passage":
            self._handle(m.Passed())
        if kind == "passage_timeout":
            kind = "granted_not_used"
        if kind == "held_open":
            self._alarm("door_held_open", True)
        if kind not in ("granted",):
            self._record_door(kind, event.detail)

    def _arm_held_open(self) -> None:
        if self._held_timer is not None:
            self._held_timer.cancel()
        self._held_timer = threading.Timer(self.timeouts.held_open, self._on_door_event,
                                           args=(_DoorNote("held_open", f"door open longer than {self.timeouts.held_open:g} s"),))
        self._held_timer.daemon = True
        self._held_timer.start()

    def _alarm(self, name: str, on: bool) -> None:
        with self._lock:
            (self._alarms.add if on else self._alarms.discard)(name)

    def _record_door(self, kind: str, detail: str) -> None:
        """Door events go to the same event table and JSON log as decisions (method "door")."""
        now = self.clock()
        event_id = None
        row = {"at": now.isoformat(), "gate": self.gate_name, "method": "door", "reason": kind, "detail": detail}
        try:
            with self.access.sessions() as session, session.begin():
                gate_id = self._policy.gate_id if self._policy else None
                row_obj = AccessEvent(at=now, gate_id=gate_id, resident_id=None, method="door",
                                      granted=kind in ("exit_request",), reason=kind[:32], detail=detail[:200])
                session.add(row_obj)
                session.flush()
                event_id = row_obj.id
        except SQLAlchemyError as err:
            self._database_lost(err)
            self._pending.append(row)
        events_log.info(json.dumps({"event": "door", "id": event_id, **row}))
        self._remember({"kind": "door", "event": kind, "detail": detail, "event_id": event_id})

    # -- database health and the cache -----------------------------------------------------------
    def _load_policy(self) -> None:
        try:
            policy = self.access.policy(self.gate_name)
        except SQLAlchemyError as err:
            self._database_lost(err)
            return
        self._policy = policy
        self._rules = m.Rules(methods=policy.methods, max_face_attempts=policy.max_face_attempts,
                              claim_timeout=self.timeouts.claim, face_timeout=self.timeouts.face,
                              decision_timeout=self.timeouts.decision, refusal_timeout=self.timeouts.refusal,
                              passage_timeout=self.timeouts.passage)

    def _refresh_cache(self) -> None:
        if self.cache is not None:
            try:
                self.cache.refresh(self.access.sessions, self.gate_name, self.clock())
                self._database_back()
            except SQLAlchemyError as err:
                self._database_lost(err)
        if self._running or self._thread is None:
            timer = threading.Timer(self.cache_refresh_seconds, self._queue.put, args=(_Ctl("refresh"),))
            timer.daemon = True
            self._refresh_timer = timer
            timer.start()

    def _probe_database(self) -> bool:
        try:
            self.access.policy(self.gate_name)
        except SQLAlchemyError:
            return False
        self._database_back()
        return True

    def _database_lost(self, err: Exception) -> None:
        with self._lock:
            if self._db_ok:
                self._offline_since = self.clock()
                log.warning("database unreachable: %s", err)
            self._db_ok = False
            self._db_error = type(err).__name__
            self._alarms.add("database_offline")

    def _database_back(self) -> None:
        if self._db_ok:
            return
        with self._lock:
            self._db_ok = True
            self._db_error = None
            self._offline_since = None
            self._alarms.discard("database_offline")
            pending, self._pending = self._pending, []
        self._flush_pending(pending)

    def _record_pending(self, method: Method, decision: Decision, resident_id: int | None, detail: str) -> None:
        row = {"at": self.clock().isoformat(), "gate": self.gate_name, "method": method.value,
               "granted": decision.granted, "reason": decision.reason.value, "resident_id": resident_id,
               "detail": detail}
        events_log.info(json.dumps({"event": "access", "id": None, "offline": True, **row}))
        with self._lock:
            self._pending.append(row)
        self._remember({"kind": "access", "method": method.value, "granted": decision.granted,
                        "reason": decision.reason.value, "resident_id": resident_id, "offline": True})

    def _flush_pending(self, pending: list[dict[str, Any]]) -> None:
        if not pending:
            return
        try:
            with self.access.sessions() as session, session.begin():
                for row in pending:
                    session.add(AccessEvent(
                        at=datetime.fromisoformat(row["at"]), gate_id=self._policy.gate_id if self._policy else None,
                        resident_id=row.get("resident_id"), method=row["method"][:16],
                        granted=bool(row.get("granted", False)), reason=row["reason"][:32],
                        detail=("offline: " + row.get("detail", ""))[:200]))
        except SQLAlchemyError as err:
            with self._lock:
                self._pending = pending + self._pending
            self._database_lost(err)

    # -- bookkeeping -----------------------------------------------------------------------------
    def _set_camera(self, on: bool) -> None:
        with self._lock:
            self._camera_on = on

    def _remember(self, entry: dict[str, Any]) -> None:
        entry = {"at": self.clock().isoformat(), "gate": self.gate_name, **entry}
        with self._lock:
            self._events.append(entry)
        for publish in self.publishers:
            try:
                publish(entry)
            except Exception as err:  # noqa: BLE001 - an integration never blocks the gate
                log.info("publisher failed: %s", err)


@dataclass(frozen=True)
class _DoorNote:
    kind: str
    detail: str


def _unavailable() -> Any:
    from gate.core.decision import FaceOutcome
    return FaceOutcome.UNAVAILABLE


def _door_state(door: Any) -> dict[str, Any]:
    if door is None:
        return {"state": "none"}
    try:
        snap = door.snapshot()
    except Exception as err:  # noqa: BLE001
        return {"state": "error", "detail": str(err)}
    return {"state": snap.state, "link_ok": snap.link_ok, "fault": snap.fault, "fire_alarm": snap.fire_alarm,
            "door_open": snap.door_open, "mode": snap.mode, "failure_mode": snap.failure_mode,
            "inputs": list(snap.inputs), "outputs": [c for c in snap.board.commanded],
            "holds": list(snap.holds)}


def _reader_state(reader: Any) -> dict[str, Any]:
    if reader is None:
        return {"state": "none"}
    try:
        health = reader.health()
    except Exception as err:  # noqa: BLE001
        return {"state": "error", "detail": str(err)}
    return health if isinstance(health, dict) else {k: v for k, v in vars(health).items() if not k.startswith("_")}
