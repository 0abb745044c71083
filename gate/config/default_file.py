"""The gate.toml that `gate init` writes: every key, commented out where the default applies."""

DEFAULT_CONFIG_TEXT = """\
# Gate controller configuration. Paths are relative to this data folder.
# Every key is listed; a commented-out key has the value shown as its default.
# docs/configuration.md describes each one. Unknown keys or bad values stop the gate with a message.
# Environment overrides: GATE_DATABASE_URL, GATE_KEY_FILE.

[database]
# url = "postgresql+psycopg://gate@127.0.0.1:5432/gate"   # multi-gate sites
# Default: SQLite file gate.db in this folder.

[keys]
# Keep the master key on separate storage if you can (e.g. a USB key or a TPM-backed mount).
master_key_file = "keys/master.key"

# Site-wide settings: [retention], [security], [site] and [privacy] hold one value for every gate of the
# site, kept in the database. Change them with `gate site set KEY VALUE` (see `gate site show`) or on the
# Settings page; a value written here only seeds the database the first time, and is ignored afterwards
# (with a warning). docs/configuration.md lists them.

[retention]
# Face templates unused for this many days are deleted by `gate purge` (1..1095).
# template_days = 365
# Visitor codes that ended, were used up or were revoked are deleted this many days later (1..1095).
# visitor_days = 90

[security]
# Wrong PINs lock only that resident's PIN (cards keep working); at a gate keypad, recent wrong PINs make
# the keypad wait between PINs. docs/security.md explains the figures.
# pin_max_failures = 5
# pin_lockout_base_seconds = 30
# pin_resident_window_hours = 24      # a resident's wrong PINs older than this no longer count
# pin_gate_free_failures = 3          # wrong PINs at a keypad before it waits between PINs
# pin_gate_delay_base_seconds = 5     # first wait; doubles with each further wrong PIN
# pin_gate_delay_max_seconds = 120    # longest wait
# pin_gate_window_minutes = 15        # a keypad's wrong PINs older than this no longer count
# face_max_attempts = 3

[site]
# Set true to forbid face for residents under 14 altogether (PIPL art. 31 strict reading); the next
# purge (at start and daily) then deletes their face data.
# forbid_face_for_minors = false
# language = "en"              # "zh_Hans_CN" (中文) or "en": the kiosk, the notice and the operator pages
# timezone = "UTC"              # IANA name, e.g. "Asia/Shanghai": schedules and birthdays use local time
# face_filing_warn_at = 90000   # warn before the 100,000-person filing threshold
# resident_codes = "digits"     # what the keypads can type; "letters" for codes residents never type

[privacy]
# true: residents may withdraw face consent and delete their face data themselves at the gate's screen
# ("My face data"), after card or resident code and PIN; card and PIN keep working.
# kiosk_self_service = false

[web]
# The operator UI listens on localhost only unless you change this (see README: exposing on a LAN).
host = "127.0.0.1"
port = 8080
# tls = false                   # true behind a TLS reverse proxy: Secure cookies, HSTS
# tls_cert = "/etc/ssl/gate.pem"   # setting it implies tls = true
# idle_minutes = 15             # operator sessions end after this many idle minutes (1..1440)
# session_hours = 12            # and this many hours after sign-in, however active (1..168)
# trusted_hosts = ["localhost", "127.0.0.1", "::1"]   # Host names the UI answers to, besides host
# proxy_hops = 0                # X-Forwarded-* hops to trust (the reverse proxy)
# threads = 8                   # web server request threads
# connection_limit = 500        # open connections the web server accepts
# channel_timeout = 30          # seconds before an idle (half-open) connection is closed
# cleanup_interval = 10         # seconds between sweeps for idle connections

[gate]
# name = "main"                 # this computer's gate (gate gates list); every gate of a site has its own
# claim_timeout = 20            # seconds
# face_timeout = 15
# refusal_timeout = 8
# held_open_seconds = 30
# offline_cache_hours = 24      # the offline copy (also on disk) is not used once older than this
# cache_refresh_seconds = 60
# change_poll_seconds = 2       # a revoked card reaches the offline copy within about this long
# decision_deadline_ms = 1000   # then the offline copy decides and the database shows offline
# grant_window_ms = 2000        # a grant later than this after the credential is dropped
# kiosk_sound = true            # a tone for a grant, a lower one for a refusal (docs/kiosk.md)
# refuse_remote_in_fire_alarm = true   # no remote open / keep open / lock down while the fire loop is open
# kiosk_clients = ["127.0.0.1", "::1"]   # who may press the kiosk's buttons (the local screen)
# max_clock_skew_seconds = 5    # /health raises clock_skew past this offset from the database's clock

[camera]
# source = "device:0"           # or "rtsp://...", "file:PATH", "folder:PATH"; none: face unavailable

[mqtt]
# enabled = false
# host = "127.0.0.1"
# port = 1883
# topic = "gate/events"         # events go to <topic>/<gate name>
# include_resident = false      # resident ids leave the site only if the published notice names the host
# The broker connection (also used by [homeassistant]):
# username = "gate"             # none: anonymous
# password = "..."              # needs username; never logged (keep this file readable by the gate only)
# tls = false                   # true: TLS, the broker's certificate checked (ca_file or the system's CAs)
# ca_file = "keys/mqtt-ca.pem"  # implies tls = true
# client_cert = "keys/mqtt-client.pem"   # a client certificate; implies tls = true
# client_key = "keys/mqtt-client.key"    # its key, unless client_cert holds it

[homeassistant]
# Home Assistant MQTT discovery on the [mqtt] broker (docs/homeassistant.md).
# enabled = false
# discovery_prefix = "homeassistant"
# topic = "gate/homeassistant"  # availability, state, events, commands under <topic>/<gate name>/
# commands = false              # accept "open once" (time-stamped, never retained, audited)
# command_max_age_seconds = 5   # older (or this far ahead) open commands are refused

[webhook]
# enabled = false
# url = "https://example.org/hooks/gate"
# timeout_seconds = 5
# include_resident = false      # resident ids leave the site only if the published notice names the host

[metrics]
# Prometheus metrics at /metrics (docs/metrics.md); off by default.
# enabled = false
# token_file = "keys/metrics.token"   # bearer token, mode 0600; without it only this machine may scrape

[face]
# Face threshold and liveness are set per gate (`gate gates set`).
# max_upload_megapixels = 12    # bigger uploaded photos are refused before decoding (1..40)
# engine = "onnx"               # the face encoder's runtime: "onnx" (fast) or "dlib"; same templates
# threads = 1                   # onnxruntime threads per encoding (1..16); keep 1 on a 2-core gate

[log]
# format = "json"               # one JSON object per line (docs/operations.md), or "text"
# file = "logs/gate.log"        # rotated by size; without it: standard output (journald under systemd)
# max_bytes = 10485760          # with file: rotate at this size
# backups = 5                   # with file: rotated files kept
# level = "info"                # debug, info, warning or error

# Devices (see hardware/README.md; `gate sim config` prints a working set):
# [relay]
# backend = "modbus"            # modbus, lcus or simulated
# port = "/dev/serial/by-id/usb-...-port0"
# baudrate = 9600
# parity = "N"
# stopbits = 1
# slave_id = 1
# outputs = 8
# inputs = 8
# coil_base = 0
# input_base = 0
# reply_timeout_ms = 300
# reconnect_initial_ms = 200
# reconnect_max_ms = 10000
# pulse_mode = "board"          # the board ends door pulses itself (Modbus); "host" for LCUS
# [relay.door]
# mode = "door"                 # or "turnstile"
# failure_mode = "secure"       # "safe" only for escape routes
# release_output = 0
# pulse_ms = 3000
# door_sensor_input = 0
# exit_button_input = 1
# fire_alarm_input = 2
# passage_sensor_input = 3
# passage_window_ms = 5000
# poll_ms = 50
# [reader]
# backend = "osdp"              # or "line"
# port = "/dev/serial/by-id/usb-...-port0"
# baudrate = 9600
# name = "reader"
# address = 0                   # OSDP only
# key_file = "keys/reader.key"  # OSDP secure channel key: 32 hex digits in a file (0600)
# key = "<32 hex digits>"       # the same key written here instead of key_file
# install_mode = false
# offline_after_ms = 2000
# feedback_ms = 2000
# pattern = '^\\s*(?P<card>[0-9A-Fa-fxX:,]+)\\s*$'   # line readers only
# format = "decimal"            # line readers: "decimal", "hex", "wiegand" (hex frame, parity checked) or "text"
# length = 10                   # line readers: digits the reader prints (a list for several)
# bits = 26                     # line readers: the card's Wiegand length (required for "wiegand")
# fault_interval_ms = 10000     # at most one reader-fault event this often; the rest are counted
# reconnect_initial_ms = 200
# reconnect_max_ms = 10000
"""
