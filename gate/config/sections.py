"""One frozen dataclass per section of gate.toml; each key carries its check and its meaning."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate.config.checks import (
    ADDRESSES,
    CAMERA_SOURCE,
    DATABASE_URL,
    FLAG,
    HOST,
    HOST_NAMES,
    HTTP_URL,
    MQTT_TOPIC,
    PATH,
    PORT,
    SECRET,
    Check,
    is_timezone,
    number,
    optional,
    secret,
    setting,
    text,
    whole,
)
from gate.core.retention import MAX_TEMPLATE_RETENTION_DAYS
from gate.i18n.locales import SOURCE as SOURCE_LANGUAGE
from gate.i18n.locales import is_supported
from gate.i18n.marker import N_

CONFIG_NAME = "gate.toml"
#: Under the legal cap (gate.core.retention: BIPA 15(a), 3 years); PIPL wants the shortest necessary.
DEFAULT_TEMPLATE_RETENTION_DAYS = 365
#: Closed visitor codes (ended, used up, revoked) are kept this long for questions about a visit, then deleted.
DEFAULT_VISITOR_RETENTION_DAYS = 90
#: CAC 2025 rules: filing is due at 100,000 people with face data; warn well before.
FACE_FILING_THRESHOLD = 100_000
#: The runtimes for dlib's face-recognition ResNet (gate.face.engine): same weights, same templates.
FACE_ENGINES = ("onnx", "dlib")
DEFAULT_IDLE_MINUTES = 15
#: OWASP ASVS 3.3.2: a session ends after this long however active it is (a working day and a half).
DEFAULT_SESSION_HOURS = 12
#: The Host names the UI answers to; the listening [web] host is added. Anything else gets 400, which
#: stops a DNS-rebinding page (evil.example resolving to 127.0.0.1) from driving the UI or the kiosk.
DEFAULT_TRUSTED_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_KIOSK_CLIENTS = ("127.0.0.1", "::1")
#: Environment variables that win over the file (GATE_DATA_DIR picks the folder itself).
ENV_DATABASE_URL = "GATE_DATABASE_URL"
ENV_KEY_FILE = "GATE_KEY_FILE"



@dataclass(frozen=True)
class DatabaseSection:
    url: str = setting("", DATABASE_URL, "SQLAlchemy URL of the database (by default the SQLite file "
                       "gate.db in the data folder). Use PostgreSQL when several gates share one database. "
                       f"{ENV_DATABASE_URL} wins over it.")


@dataclass(frozen=True)
class KeysSection:
    master_key_file: Path = setting(Path("keys/master.key"),
                                    Check(Path, "a file path", lambda v: Path(PATH(v))),
                                    "The master key file, relative to the data folder unless absolute; keep it on "
                                    f"separate storage if you can. {ENV_KEY_FILE} wins over it.")


@dataclass(frozen=True)
class RetentionSection:
    template_days: int = setting(
        DEFAULT_TEMPLATE_RETENTION_DAYS,
        whole(1, MAX_TEMPLATE_RETENTION_DAYS, "days", " (3 years is the legal maximum)"),
        N_("Face templates unused for this many days are deleted by `gate purge`; a consent may set a shorter period."))
    visitor_days: int = setting(
        DEFAULT_VISITOR_RETENTION_DAYS, whole(1, 1095, "days"),
        "Visitor codes that ended, were used up or were revoked are deleted this many days later by the daily "
        "purge (`gate purge`); their access events stay (detail `visitor #id`), no longer linked to the record.")


@dataclass(frozen=True)
class SecuritySection:
    pin_max_failures: int = setting(5, whole(1, 100), N_("Wrong PINs for one resident within "
                                                      "`pin_resident_window_hours` before that resident's PIN "
                                                      "is locked; other residents are not affected."))
    pin_lockout_base_seconds: int = setting(30, whole(1, 86_400, "seconds"),
                                            N_("A resident's first PIN lockout; it doubles with each further "
                                            "lockout in the window, up to an hour."))
    pin_resident_window_hours: int = setting(24, whole(1, 720, "hours"),
                                             N_("A resident's wrong PINs and lockouts older than this (counted "
                                             "from the first one) no longer count."))
    pin_gate_free_failures: int = setting(3, whole(1, 100), N_("Wrong PINs at one gate keypad within "
                                                            "`pin_gate_window_minutes`, whoever is claimed, "
                                                            "before the keypad waits between PINs."))
    pin_gate_delay_base_seconds: int = setting(5, whole(1, 3600, "seconds"),
                                               N_("The keypad's first wait; it doubles with each further wrong "
                                               "PIN in the window. A right PIN after the wait is accepted."))
    pin_gate_delay_max_seconds: int = setting(120, whole(1, 3600, "seconds"),
                                              N_("The longest wait between PINs at a gate keypad; it bounds "
                                              "guesses per hour at that gate."))
    pin_gate_window_minutes: int = setting(15, whole(1, 1440, "minutes"),
                                           N_("Wrong PINs at a gate keypad older than this (counted from the "
                                           "first one) no longer count."))
    face_max_attempts: int = setting(3, whole(1, 10), N_("Failed face checks before face is refused; card and "
                                                      "PIN still work."))


@dataclass(frozen=True)
class WebSection:
    host: str = setting("127.0.0.1", HOST, "Address the operator UI listens on; keep it local and put a "
                                           "TLS reverse proxy in front to reach it from a LAN.")
    port: int = setting(8080, PORT, "Port the operator UI listens on.")
    tls: bool = setting(False, FLAG, "The UI is reached over https (via a reverse proxy): Secure cookies, HSTS, "
                                     "strict CSRF referrer checks.")
    tls_cert: str | None = optional(PATH, "Path of the site certificate; setting it implies tls = true.")
    idle_minutes: int = setting(DEFAULT_IDLE_MINUTES, whole(1, 1440, "minutes"),
                                "An operator session ends after this many idle minutes.")
    session_hours: int = setting(DEFAULT_SESSION_HOURS, whole(1, 168, "hours"),
                                 "An operator session ends this many hours after sign-in, however active.")
    trusted_hosts: tuple[str, ...] = setting(DEFAULT_TRUSTED_HOSTS, HOST_NAMES,
                                             "Host names (as typed in the browser's address bar) the UI answers "
                                             "to, besides [web] host; other Host headers get 400 (DNS "
                                             "rebinding). Add the reverse proxy's public name here.")
    proxy_hops: int = setting(0, whole(0, 10), "How many X-Forwarded-* hops (reverse proxies) to trust; 0 trusts "
                                               "none.")
    threads: int = setting(8, whole(1, 256), "Request threads of the web server; a request beyond them waits "
                                             "in a queue.")
    connection_limit: int = setting(500, whole(1, 100_000), "Open connections the web server accepts; past "
                                                            "it, it stops accepting until some close.")
    channel_timeout: int = setting(30, whole(1, 3600, "seconds"), "A connection with no request in progress "
                                                                  "and no traffic (a half-open client) is closed "
                                                                  "after this many seconds.")
    cleanup_interval: int = setting(10, whole(1, 3600, "seconds"), "Seconds between the web server's sweeps "
                                                                   "for such connections.")


@dataclass(frozen=True)
class FaceSection:
    """A gate's face threshold and liveness are set per gate (`gate gates set`, Settings page), not here."""

    max_upload_megapixels: float = setting(
        12.0, number(1, 40, "megapixels"),
        "Photos uploaded in the operator UI with more pixels than this are refused from their header, before "
        "any decoding: a PNG costs about 6 MB of memory per megapixel while it is decoded and checked.")
    engine: str = setting(
        "onnx", text('"onnx" or "dlib"', lambda v: v in FACE_ENGINES),
        "What runs the face encoder (dlib's ResNet, the same weights either way, so templates work with both): "
        "onnx is about ten times faster; without onnxruntime, or if converting the model fails, the gate "
        "uses dlib and logs why. /health names the one in use.")
    threads: int = setting(
        1, whole(1, 16, "threads"),
        "Threads onnxruntime uses for one face encoding. On a 2-core gate keep 1: the other core serves the "
        "web UI and the door loop, and two threads measured slower there.")


@dataclass(frozen=True)
class GateSection:
    name: str = setting("main", text("a gate name", max_length=64), "Which gate (as in `gate gates list`) this "
                                                                     "process runs; every gate of a site has its "
                                                                     "own (docs/site.md).")
    claim_timeout: float = setting(20.0, number(1, 600, "seconds"), "How long the gate waits while a person "
                                                                    "chooses a way in or types a code or PIN.")
    face_timeout: float = setting(15.0, number(1, 600, "seconds"), "The camera is on at most this long per face "
                                                                   "check.")
    refusal_timeout: float = setting(8.0, number(1, 600, "seconds"), "How long a refusal stays on the screen.")
    held_open_seconds: float = setting(30.0, number(1, 3600, "seconds"), "A door open longer than this raises the "
                                                                         "held-open alarm.")
    offline_cache_hours: float = setting(24.0, number(0.1, 720, "hours"), "How old the offline cache may be and "
                                                                          "still admit card and PIN while the "
                                                                          "database is away.")
    cache_refresh_seconds: float = setting(60.0, number(1, 3600, "seconds"), "How often the offline cache is "
                                                                             "refreshed from the database.")
    change_poll_seconds: float = setting(2.0, number(0.5, 3600, "seconds"), "How often the gate asks the "
                                                                            "database whether residents, cards "
                                                                            "or PINs changed, and then refreshes "
                                                                            "the offline cache at once.")
    decision_deadline_ms: int = setting(1000, whole(100, 5000, "milliseconds"),
                                        "How long a decision waits on the database (a stalled link, a hung "
                                        "server, a lock) before the gate decides from its offline copy and "
                                        "marks the database offline; the PIN check's own time does not count. "
                                        "Keep it well under grant_window_ms.")
    grant_window_ms: int = setting(2000, whole(500, 30_000, "milliseconds"),
                                   "A grant releases the door only this long after the card, PIN or face "
                                   "result; a later one (a late answer, a relay retry) is dropped and "
                                   "recorded as grant_too_late.")
    kiosk_sound: bool = setting(True, FLAG, "The kiosk plays a short tone for a grant and a lower one for a refusal "
                                            "(docs/kiosk.md); false: silent.")
    kiosk_clients: tuple[str, ...] = setting(DEFAULT_KIOSK_CLIENTS, ADDRESSES,
                                             "Addresses allowed to press the kiosk screen's buttons (the gate's own "
                                             "screen).")
    max_clock_skew_seconds: float = setting(5.0, number(1, 3600, "seconds"),
                                            "This gate's clock may differ from the database server's by this "
                                            "much before /health shows the clock_skew alarm (shared state uses "
                                            "the database's time; the gate's clock stamps its events).")
    refuse_remote_in_fire_alarm: bool = setting(True, FLAG, "During a fire alarm (the door held released by the "
                                                            "fire loop) refuse remote open, keep open and lock down "
                                                            "from operators and Home Assistant.")


@dataclass(frozen=True)
class CameraSection:
    source: str | None = optional(
        text('a camera such as "device:0", "rtsp://host/stream", "file:PATH", "folder:PATH" or "pushed:NAME"',
             lambda v: CAMERA_SOURCE.fullmatch(v.strip()) is not None),
        "The gate's camera; without it face is unavailable (card and PIN work).")


@dataclass(frozen=True)
class MqttSection:
    enabled: bool = setting(False, FLAG, "Publish gate events to an MQTT broker.")
    host: str = setting("127.0.0.1", HOST, "The broker's host.")
    port: int = setting(1883, PORT, "The broker's port.")
    topic: str = setting("gate/events", MQTT_TOPIC, "Events go to <topic>/<gate name>.")
    include_resident: bool = setting(False, FLAG, "Send the resident's id with each event (also to Home "
                                                  "Assistant); gate serve refuses to start unless the published "
                                                  "face notice names the broker's host.")
    # The broker connection below is shared by the event publisher and [homeassistant].
    username: str | None = optional(text("a user name"), "User name at the broker; none: anonymous.")
    password: str | None = secret(SECRET, "Password at the broker (needs username). Never logged nor shown; "
                                          "keep gate.toml readable by the gate's user only.")
    tls: bool = setting(False, FLAG, "Connect to the broker over TLS (usually port 8883), checking its "
                                     "certificate against ca_file or the system's CAs.")
    ca_file: str | None = optional(PATH, "The CA certificate(s) the broker's certificate must chain to; "
                                         "setting it implies tls = true. Relative to the data folder.")
    client_cert: str | None = optional(PATH, "A client certificate to present to the broker (PEM); implies "
                                             "tls = true. Relative to the data folder.")
    client_key: str | None = optional(PATH, "The client certificate's private key (PEM), unless client_cert "
                                            "holds it. Relative to the data folder.")


@dataclass(frozen=True)
class HomeAssistantSection:
    """Home Assistant MQTT discovery on the [mqtt] broker (docs/homeassistant.md); off by default."""

    enabled: bool = setting(False, FLAG, "Announce the gate to Home Assistant (MQTT discovery on the [mqtt] "
                                         "broker) and keep its lock, door, fire-alarm, access-event and "
                                         "diagnostic entities up to date.")
    discovery_prefix: str = setting("homeassistant", MQTT_TOPIC, "Home Assistant's MQTT discovery prefix.")
    topic: str = setting("gate/homeassistant", MQTT_TOPIC, "The gate's availability, state, events and "
                                                           "commands go under <topic>/<gate name>/.")
    commands: bool = setting(False, FLAG, "Accept \"open once\" from Home Assistant on <topic>/<gate name>/command: "
                                          "time-stamped JSON only, never a retained message, audited as "
                                          "homeassistant.")
    command_max_age_seconds: float = setting(5.0, number(1, 60, "seconds"),
                                             "An open command whose time stamp is older than this (or this far "
                                             "ahead of the gate's clock) is refused.")


@dataclass(frozen=True)
class WebhookSection:
    enabled: bool = setting(False, FLAG, "POST gate events as JSON to url.")
    url: str = setting("", HTTP_URL, "Where events are posted; required when enabled.")
    timeout_seconds: float = setting(5.0, number(0.1, 60, "seconds"), "How long one post may take.")
    include_resident: bool = setting(False, FLAG, "Send the resident's id with each event; gate serve refuses "
                                                  "to start unless the published face notice names the URL's "
                                                  "host.")


@dataclass(frozen=True)
class MetricsSection:
    """GET /metrics for a Prometheus scraper (docs/metrics.md). The bearer token lives in its own 0600 file,
    never in gate.toml, which is not kept as a secret (it is backed up, copied and edited freely)."""

    enabled: bool = setting(False, FLAG, "Serve Prometheus metrics at /metrics (counts, latencies, door and device "
                                         "states; never a resident, card, PIN or name).")
    token_file: str | None = optional(PATH, "A file (mode 0600, relative to the data folder unless absolute) "
                                            "holding the bearer token scrapers must send; without it /metrics "
                                            "answers only requests from this machine.")


#: [site] resident_codes: digits only (every keypad), or letters too (gate.store.residents.CODE_RULES).
RESIDENT_CODE_KINDS = ("digits", "letters")


@dataclass(frozen=True)
class SiteSection:
    language: str = setting(SOURCE_LANGUAGE, text('"zh_Hans_CN" (Chinese) or "en" (English)', is_supported),
                            N_("The language of the gate's screen, the notice and the operator pages unless an "
                            "operator chose another; `gate init` writes zh_Hans_CN unless told --language en."))
    timezone: str = setting("UTC", text('an IANA time zone such as "Asia/Shanghai"', is_timezone),
                            N_("The site's local time, for schedules, holidays and birthdays (who is under 14)."))
    forbid_face_for_minors: bool = setting(False, FLAG, N_("Forbid face for residents under 14 altogether (PIPL "
                                                        "art. 31, strict reading): the gate refuses it at once and "
                                                        "the next purge deletes their face data, with receipts."))
    face_filing_warn_at: int = setting(90_000, whole(1, FACE_FILING_THRESHOLD),
                                       N_("Warn when this many people have face data (filing is due at 100,000)."))
    resident_codes: str = setting("digits", text('"digits" or "letters"', lambda v: v in RESIDENT_CODE_KINDS),
                                  N_("What a new resident code may hold: digits (what the gates' keypads can type, "
                                  "so code and PIN work) or letters (also letters, '-' and '_', for a site whose "
                                  "residents never type their code; those residents use a card)."))


@dataclass(frozen=True)
class PrivacySection:
    kiosk_self_service: bool = setting(False, FLAG, N_("Offer \"My face data\" at the gate's screen: a resident who "
                                                    "identifies with card or resident code and PIN can withdraw "
                                                    "face consent and delete their face data there, with a receipt "
                                                    "(PIPL art. 47). Card and PIN keep working."))


LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class LogSection:
    format: str = setting("json", text('"json" or "text"', lambda v: v in LOG_FORMATS),
                          "json: one JSON object per line with a fixed schema (docs/operations.md), for journald "
                          "and log shippers; text: one readable line per record.")
    file: str | None = optional(PATH, "Write the log to this file (relative to the data folder unless absolute), "
                                      "rotated by size; without it the log goes to standard output (journald "
                                      "under systemd).")
    max_bytes: int = setting(10_485_760, whole(65_536, 1_073_741_824, "bytes"),
                             "With file: the size at which the file is rotated.")
    backups: int = setting(5, whole(1, 100), "With file: how many rotated files are kept (file.1 is the newest).")
    level: str = setting("info", text('"debug", "info", "warning" or "error"', lambda v: v in LOG_LEVELS),
                         "The least severe records written.")


#: The sections gate parses itself, in the order the documentation lists them.
SECTIONS: dict[str, type] = {
    "database": DatabaseSection, "keys": KeysSection, "retention": RetentionSection,
    "security": SecuritySection, "web": WebSection, "face": FaceSection, "gate": GateSection,
    "camera": CameraSection, "mqtt": MqttSection, "homeassistant": HomeAssistantSection,
    "webhook": WebhookSection, "site": SiteSection,
    "privacy": PrivacySection,
    "metrics": MetricsSection,
    "log": LogSection,
}
#: Parsed by drivers.config (validated here at load).
DRIVER_SECTIONS = ("relay", "reader")

