"""The gate service at run time: one event loop per gate, devices each with one owner, face off-loop.

* The event loop thread owns the transaction state (`machine.State`). Everything that happens --
  a card on the reader, a key, a button on the kiosk, a door input, a timer, a face result -- is put
  on its queue and handled there, one at a time. Card and PIN decisions run on the loop (a few ms).
* Face work (camera burst + verification, ~0.3-1 s) runs on the face worker (`FaceRunner`) and comes
  back as a `FaceVerified` event. A card presented meanwhile is handled at once; the face result is stale.
* The door (DoorController on the relay board) and the reader belong to this runtime; web handlers
  only post events and read `snapshot()`.
* Timers are `threading.Timer`s that post onto the queue; no handler sleeps.

Collaborators: `EventLog` (every event row, JSON line and "last events"; the local journal while
the database is away), `DatabaseHealth` (the decision path's circuit) and its background `Reprobe`,
`Decider` (decisions, online or from the offline copy; the policy), `DoorGrant` (releasing the door,
its bounded retries, the reader's LEDs), `FaceRunner` (the face worker), `DoorWatch` (door events ->
alarms, held-open timer), `Keypad`, `status` (the snapshot and the screen's words).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np

from drivers.door import DoorDevice, DoorEvent
from drivers.readers.base import CardRead, KeyPress, ReaderDevice, ReaderEvent, ReaderFault, ReaderStatus
from gate.access.offline import OfflineCache
from gate.access.pipeline import AccessService
from gate.clock import Clock, utcnow
from gate.core import machine as m
from gate.core.decision import Decision, Reason
from gate.core.grant_window import DEFAULT_GRANT_WINDOW_MS
from gate.core.policy import Method
from gate.service import controls as c
from gate.service import status
from gate.service.changes import ChangeSignal
from gate.service.db_deadline import DatabaseDeadline
from gate.service.db_health import REPROBE_SECONDS, DatabaseHealth, Heartbeat, Reprobe
from gate.service.decisions import Decider
from gate.service.door_grant import DoorGrant, StampedQueue
from gate.service.door_override import ActiveOverride, DoorOverride
from gate.service.door_watch import DoorWatch
from gate.service.event_log import EventLog
from gate.service.face_check import FaceCheck
from gate.service.face_runner import EnrollmentBurst, FaceRunner
from gate.service.keypad import Keypad
from gate.service.metrics import GateMetrics, count_templates
from gate.service.purger import Purger
from gate.service.remote_open import RemoteOpener
from gate.service.self_service import SelfService
from gate.service.status import Snapshot
from gate.service.timeouts import DEFAULT_TIMEOUTS, Timeouts, rules_for

log = logging.getLogger("gate.service")
POLICY_INVALID = "policy_invalid"

__all__ = ["GateRuntime", "Snapshot", "Timeouts"]


QueueItem = m.Event | c.Control | ReaderEvent | None


class GateRuntime:
    """The gate service for one gate. `start()` / `stop()`; `post(event)` from anywhere."""

    def __init__(self, gate_name: str, access: AccessService, events: EventLog, *,
                 door: DoorDevice | None = None,
                 reader_factory: Callable[[Callable[[ReaderEvent], None]], ReaderDevice] | None = None,
                 face: FaceCheck | None = None, cache: OfflineCache | None = None,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, clock: Clock = utcnow,
                 cache_refresh_seconds: float = 60.0, reprobe_seconds: float = REPROBE_SECONDS,
                 purger: Purger | None = None, self_service: SelfService | None = None,
                 deadline: DatabaseDeadline | None = None, grant_window_ms: int = DEFAULT_GRANT_WINDOW_MS,
                 refuse_remote_in_fire_alarm: bool = True) -> None:
        self.gate_name = gate_name
        self.purger = purger
        self.self_service = self_service  # None: the site does not offer "My face data" at the kiosk
        self.access = access
        self.events = events
        self.database: DatabaseHealth = events.database
        self.door = door
        # The reader driver pushes its events to a callback given at construction: ours.
        self.reader = reader_factory(self.on_reader_event) if reader_factory is not None else None
        self.face = face
        self.cache = cache
        self.timeouts = timeouts
        self.clock = clock
        self.cache_refresh_seconds = cache_refresh_seconds
        # Owned here, not global: two runtimes in one process (tests, benches) never share counts.
        self.metrics = GateMetrics(gate_name)
        self.decider = Decider(gate_name, access, events, cache, clock, self.metrics, deadline)
        self.extras: dict[str, object] = {}  # simulator handles, for the /sim page
        self.keypad = Keypad(timeouts.claim, lambda: self._queue.put(c.ForgetKeys()))
        self.door_watch = DoorWatch(timeouts.held_open, self._queue_put)
        self.door_grant = DoorGrant(door, self.reader, events, self._queue_put, self._still_open,
                                    window_ms=grant_window_ms, record=self.decider.record_door)
        self.faces = FaceRunner(face, self.post, self.metrics)
        self.remote = RemoteOpener(gate_name, door, self.decider, access.sessions, clock,
                                   fire_alarm=lambda: "fire_alarm" in self._alarms,
                                   refuse_in_fire_alarm=refuse_remote_in_fire_alarm)
        self.override = DoorOverride(door, self.remote, self._queue_put, clock, self.decider.record_door)
        #: Bumped whenever what snapshot() shows may have changed: the live operations view waits on it.
        self.changes = ChangeSignal()
        self.reprobe = Reprobe(self.decider.answers, lambda: self._queue.put(c.DatabaseBack()), reprobe_seconds)
        self.db_heartbeat = Heartbeat(self.decider.ping, self.database, self.reprobe.arm, reprobe_seconds)
        self._on_stop: list[Callable[[], None]] = []
        self._on_start: list[Callable[[], None]] = []

        self._queue: StampedQueue[QueueItem] = StampedQueue()
        self._arrived = 0.0  # when the item being handled reached the queue
        self._credential_at = 0.0  # ... and the one whose handling asked for the current decision
        self._state = m.State()
        self._rules = m.Rules(methods=frozenset({Method.CARD, Method.PIN}), self_service=self_service is not None)
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._refresh_timer: threading.Timer | None = None
        self._lock = threading.Lock()  # guards the alarms, which snapshot() reads from web threads
        self._alarms: set[str] = set()
        self._alarm_since: dict[str, datetime] = {}  # when each active alarm was raised (acknowledgements)
        self._card_waiters: list[queue.Queue[str]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._running = False
        # The change signal: bumped whenever what snapshot() shows may have changed, waited on by the
        # kiosk's event stream (webui.kiosk), so a camera switched on for 160 ms is still pushed.
        self._camera_uses = 0
        self.metrics.watch(self.snapshot, lambda: count_templates(access.sessions))
        self._beats: list[Callable[[], None]] = []
        self._beat_every: float | None = None  # None: no heartbeat, the loop just waits for events

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> GateRuntime:
        self._load_policy()
        self._refresh_cache()
        if self.door is not None:
            self._unsubscribe.append(self.door.subscribe(self._on_door_event))
            self.door.start()
        if self.reader is not None:
            self.reader.start()
        self.faces.warm_up()
        self.faces.check_key()
        if self.purger is not None:
            self.purger.start()
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"gate:{self.gate_name}", daemon=True)
        self._thread.start()
        for callback in self._on_start:
            callback()
        if not self.database.ok:
            self.reprobe.arm()  # started during an outage: ask again in the background until it answers
        self.db_heartbeat.start()
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)
        for timer in (self._timer, self._refresh_timer):
            if timer is not None:
                timer.cancel()
        self.reprobe.stop()
        self.db_heartbeat.stop()
        self.decider.deadline.stop()
        if self.purger is not None:
            self.purger.stop()
        self.keypad.stop()
        self.override.stop()  # the keep-open hold is withdrawn while the door controller still runs
        self.door_watch.stop()
        self.faces.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.reader is not None:
            self.reader.stop()
        if self.door is not None:
            self.door.stop()
        for callback in self._on_stop:
            callback()

    def on_start(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the loop runs (the builder starts the offline copy's change watcher this way)."""
        self._on_start.append(callback)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the runtime stops (the builder closes the decision engine this way)."""
        self._on_stop.append(callback)

    def heartbeat(self, callback: Callable[[], None], every: float) -> None:
        """Call `callback` from the loop thread at least every `every` seconds while the loop turns.

        For the systemd watchdog: a loop stuck in one step stops calling it. Register before start()."""
        self._beats.append(callback)
        self._beat_every = every if self._beat_every is None else min(every, self._beat_every)

    def __enter__(self) -> GateRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- input from anywhere ---------------------------------------------------------------------
    def post(self, event: m.Event) -> None:
        self._queue.put(event)

    def on_reader_event(self, event: ReaderEvent) -> None:
        """From the reader driver's thread: CardRead, KeyPress, ReaderStatus, ReaderFault."""
        self._queue.put(event)

    def reload_policy(self) -> None:
        """Pick up a changed gate policy now (it is also reloaded between transactions and on refresh)."""
        self._queue.put(c.ReloadPolicy())

    def open_once(self, actor: str, detail: str) -> None:
        """A remote's "open" (Home Assistant), from any thread: audited as `actor`, then one pulse (remote_open.py)."""
        self._queue.put(c.RemoteOpen(actor, detail))

    def command(self, item: c.RemoteOpen | c.Override, timeout: float = 5.0) -> str | None:
        """An operator's door command, carried out on the loop: None when done, else why not."""
        self._queue.put(item)
        assert item.reply is not None, "command() needs a reply queue"
        try:
            return item.reply.get(timeout=timeout)
        except queue.Empty:
            return "The gate did not answer in time: look at the door state before trying again."

    def door_override(self) -> ActiveOverride | None:
        """The keep open or lock down in force, if any (any thread)."""
        return self.override.current()

    def alarm_times(self) -> dict[str, datetime]:
        """When each active alarm was raised (any thread): an acknowledgement names one raising."""
        with self._lock:
            return dict(self._alarm_since)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every event posted before this call has been handled (tests, the bench)."""
        reply: queue.Queue[bool] = queue.Queue()
        self._queue.put(c.Sync(reply))
        try:
            return reply.get(timeout=timeout)
        except queue.Empty:
            return False

    def capture_card(self, timeout: float) -> str | None:
        """For the operator UI's "present the card now": the next card read, or None. Not decided."""
        waiter: queue.Queue[str] = queue.Queue(maxsize=1)
        self._queue.put(c.CaptureCard(waiter))
        try:
            return waiter.get(timeout=timeout)
        except queue.Empty:
            return None
        finally:
            self._queue.put(c.ReleaseCapture(waiter))

    def camera_frames(self, n: int) -> list[np.ndarray]:
        """Frames for enrollment at the gate camera. Runs on the face worker, not the caller's thread."""
        return self.faces.frames(n)

    def enrollment_burst(self) -> EnrollmentBurst:
        """Frames for enrollment at the gate camera with the liveness challenge they must pass."""
        return self.faces.enrollment_burst(self.decider.policy)

    def set_camera(self, on: bool) -> None:
        """The camera indicator: called by whoever opens the gate camera (face worker only)."""
        self.faces.set_camera(on)
        if on:
            self._camera_uses += 1  # only the face worker writes it
        self._bump()

    @property
    def version(self) -> int:
        """The change signal's counter: it moves whenever the snapshot may have changed."""
        return self.changes.version

    def wait_change(self, since: int, timeout: float) -> int:
        """Block until the counter moves past `since` or `timeout` seconds pass; the counter then."""
        return self.changes.wait(since, timeout)

    def _bump(self) -> None:
        self.changes.bump()

    def snapshot(self) -> Snapshot:
        state = self._state
        with self._lock:
            alarms = frozenset(self._alarms)
        view = status.GateView(self.gate_name, self._running, state, self._rules, alarms, self.faces.camera_on,
                               self.faces.challenge, self.door_grant.failed(state.token), self.clock(),
                               self.faces.challenge_line, self._camera_uses)
        return status.assemble(view, events=self.events, cache=self.cache, door=self.door, reader=self.reader,
                               face=self.face)

    # -- the loop --------------------------------------------------------------------------------
    def _queue_put(self, item: QueueItem) -> None:
        self._queue.put(item)

    def _loop(self) -> None:
        next_beat = 0.0
        while True:
            try:
                self._arrived, item = self._queue.get(timeout=self._beat_every)
            except queue.Empty:
                item = c.Beat()
            if self._beat_every is not None and time.monotonic() >= next_beat:
                next_beat = time.monotonic() + self._beat_every
                self._beat()
            if item is None:
                return
            try:
                self._dispatch(item)
            except Exception:
                log.exception("gate loop: event %r failed", item)
            if not isinstance(item, (c.Beat, c.Sync)):
                self._bump()
            if not self.database.ok:
                self.reprobe.arm()  # the circuit is open: ask the database again, off the loop

    def _beat(self) -> None:
        for callback in self._beats:
            try:
                callback()
            except Exception:
                log.exception("gate loop: heartbeat failed")

    def _dispatch(self, item: m.Event | c.Control | ReaderEvent) -> None:
        match item:
            case c.Beat():
                pass
            case c.Sync(reply=reply):
                reply.put(True)
            case c.CaptureCard(waiter=waiter):
                self._card_waiters.append(waiter)
            case c.ReleaseCapture(waiter=waiter):
                if waiter in self._card_waiters:
                    self._card_waiters.remove(waiter)
            case CardRead(card=card):
                if self._card_waiters:
                    self._card_waiters.pop(0).put(card)
                else:
                    self._handle(m.PresentCard(card))
            case KeyPress(keys=keys):
                for key in keys:
                    self._key(key)
            case ReaderStatus(online=online, detail=detail):
                self._alarm("reader_offline", not online)
                self.decider.record_door("reader_online" if online else "reader_offline", detail)
            case ReaderFault(message=message):
                self.decider.record_door("reader_fault", message)
            case c.RetryGrant():
                self.door_grant.retry(item)
            case c.ForgetKeys():
                self.keypad.clear()
            case c.DoorInput(kind=kind, detail=detail):
                self._door_event(kind, detail)
            case c.Refresh():
                if self._state.phase is m.Phase.IDLE:
                    self._load_policy()
                self._refresh_cache()
                self.faces.check_key()
            case c.DatabaseBack():
                self.decider.database_back()
                if self._state.phase is m.Phase.IDLE:
                    self._load_policy()
            case c.RemoteOpen():
                self.remote.open(item)
            case c.Override():
                self.override.apply(item)
            case c.OverrideEnds():
                self.override.ended(item)
            case c.ReloadPolicy():
                if self._state.phase is m.Phase.IDLE:
                    self._load_policy()
            case _:
                self._handle(item)

    def _key(self, key: str) -> None:
        """Keypad: the first '#' submits the resident code, the one after it (in CHOICE) the PIN."""
        typed = self.keypad.press(key)
        if typed is None:
            return
        wants_pin = self._state.phase in (m.Phase.CHOICE, m.Phase.SELF_PIN)
        self._handle(m.EnterPin(typed) if wants_pin else m.EnterCode(typed))

    def _handle(self, event: m.Event) -> None:
        if (isinstance(event, (m.PresentCard, m.EnterCode, m.Choose, m.OpenSelfService))
                and self._state.phase is m.Phase.IDLE):
            self._load_policy()  # pick up policy changes made in the UI between transactions
        before = self._state
        after, effects = m.step(before, event, self._rules)
        self._state = after
        if after.phase is m.Phase.IDLE and before.phase is not m.Phase.IDLE:
            self.keypad.clear()
        if after.phase is not before.phase:
            log.debug("%s: %s --%s--> %s", self.gate_name, before.phase, type(event).__name__, after.phase)
        for effect in effects:
            self._execute(effect)

    # -- effects ---------------------------------------------------------------------------------
    def _execute(self, effect: m.Effect) -> None:
        match effect:
            case m.Decide():
                self._credential_at = self._arrived  # the grant window counts from here (door_grant.py)
                decision = self._lockdown(effect.method.value) or self.decider.decide(effect, self._rules)
                # Queued, not handled re-entrantly: the effects after this one (its timer) run first.
                self.post(m.Decided(effect.token, decision, effect.method))
            case m.Precheck():
                # Locked down: refused before any camera opens.
                denial = self._lockdown("face") or self.decider.precheck(effect, self._rules)
                self.post(m.Prechecked(effect.token, denial))
            case m.CheckFaceOffer():
                self.post(m.FaceOfferChecked(effect.token, self.decider.face_declined(effect)))
            case m.Identify():
                assert self.self_service is not None  # the machine emits it only where rules.self_service
                self.post(self.self_service.identify(effect))
            case m.DeleteFaceData():
                assert self.self_service is not None
                self.post(self.self_service.delete(effect))
            case m.StartFace():
                self.faces.start(effect, self.decider.policy)
            case m.StopFace():
                self.faces.cancel()
            case m.Grant():
                self.door_grant.grant(self._state.token, self._credential_at)
            case m.Refuse():
                self.door_grant.refuse()
            case m.ArmTimer():
                self._arm(effect)

    def _lockdown(self, method: str) -> Decision | None:
        """The refusal while an operator has the gate locked down; nobody is looked up for it."""
        if not self.override.locked_down():
            return None
        self.decider.record_door("lockdown_refused", f"{method} refused: the gate is locked down")
        return Decision(False, Reason.LOCKDOWN)

    def _arm(self, effect: m.ArmTimer) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(effect.seconds, self.post, args=(m.TimedOut(effect.token),))
        self._timer.daemon = True
        self._timer.start()

    def _still_open(self, token: int) -> bool:
        """A grant (or its retry) only for the transaction that is still "open" on the screen."""
        return self._state.token == token and self._state.phase is m.Phase.OPEN

    # -- door ------------------------------------------------------------------------------------
    def _on_door_event(self, event: DoorEvent) -> None:
        self._queue.put(c.DoorInput(str(event.kind), event.detail))

    def _door_event(self, kind: str, detail: str) -> None:
        reaction = self.door_watch.react(kind)
        for name in reaction.raise_alarms:
            self._alarm(name, True)
        for name in reaction.clear_alarms:
            self._alarm(name, False)
        if reaction.passage:
            self._handle(m.Passed())
        if reaction.record is not None:
            self.decider.record_door(reaction.record, detail)

    def set_alarm(self, name: str, on: bool) -> None:
        """Raise or clear an alarm from any thread (the face worker: camera, face model, key file)."""
        self._alarm(name, on)

    def _alarm(self, name: str, on: bool) -> None:
        with self._lock:
            changed = (name in self._alarms) != on
            (self._alarms.add if on else self._alarms.discard)(name)
            if on and changed:
                self._alarm_since[name] = self.clock()
            elif not on:
                self._alarm_since.pop(name, None)
        if changed:
            self._bump()

    # -- policy and the offline copy --------------------------------------------------------------
    def _load_policy(self) -> None:
        policy = self.decider.load_policy()
        if policy is not None:
            self._rules = rules_for(policy, self.timeouts, self_service=self.self_service is not None)
            # A stored policy that makes face someone's only way in runs without face; say so (A1).
            if policy.invalid is not None and POLICY_INVALID not in self._alarms:
                log.warning("%s: the stored gate policy is invalid: %s", self.gate_name, policy.invalid)
            self._alarm(POLICY_INVALID, policy.invalid is not None)

    def _refresh_cache(self) -> None:
        self.decider.refresh_cache()
        if self._running or self._thread is None:
            timer = threading.Timer(self.cache_refresh_seconds, self._queue_put, args=(c.Refresh(),))
            timer.daemon = True
            self._refresh_timer = timer
            timer.start()
