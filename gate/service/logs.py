"""The process's logging, set up once by `gate serve` from `[log]`: JSON lines or text, stdout or a rotated file.

Every line has `ts` (ISO 8601 local time with its offset), `level`, `logger` and `msg`; a line about
something that happened at the gate also has `event` and that event's fields (docs/operations.md).

`Redact` sits on every handler, so it sees every record, ours and the libraries': a card number never
gets out beyond its last digits (`gate.core.cardnumber.mask_card`, the one masking rule), a PIN or the
keys typed on a keypad never, nor raw reader bytes, templates or images. It masks what it can recognise
(the fields by name, card-like numbers, and the `card=`/`pin=`/`keys=` of the reader's and the machine's
event reprs, which an exception log prints); the code itself never hands it a PIN to begin with.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from gate.config import LogSection
from gate.core.cardnumber import mask_card

#: What a LogRecord carries of its own; everything else on it came in `extra=` and is a field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
#: Fields that are never written, whatever their value: secrets and biometric data.
DROPPED_FIELDS = frozenset({"pin", "pins", "keys", "raw", "template", "templates", "encoding", "encodings",
                            "embedding", "image", "images", "frame", "frames", "probe", "photo"})
#: Fields holding a card number: written masked.
CARD_FIELDS = frozenset({"card", "card_number", "number"})
REMOVED = "[removed]"

# Reprs such as CardRead(reader='r', card='12345678', bits=26, raw=b'..') or EnterPin(pin='482915').
_SECRET_REPR = re.compile(r"\b(pin|keys|raw|code_pin)=(b?)('[^']*'|\"[^\"]*\")")
_CARD_REPR = re.compile(r"\b(card|card_number|number)=('[^']*'|\"[^\"]*\")")
# A run of 6 or more digits (not the fraction of a time or number) or a long 0x number: what a card
# number looks like in running text. Ids and counts that long are masked too; the safe side.
_CARD_LIKE = re.compile(r"(?<![\d.])\d{6,}(?![\d])|\b0[xX][0-9A-Fa-f]{6,}\b")


def redact(text: str) -> str:
    """`text` with PINs, keypad keys and raw bytes removed and card-like numbers masked."""
    text = _SECRET_REPR.sub(lambda m: f"{m.group(1)}={m.group(2)}'{REMOVED}'", text)
    text = _CARD_REPR.sub(lambda m: f"{m.group(1)}='{mask_card(m.group(2)[1:-1])}'", text)
    return _CARD_LIKE.sub(lambda m: mask_card(m.group(0)), text)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's own fields (what came in `extra=`)."""
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")}


def _clean(key: str, value: Any) -> Any:
    if key in DROPPED_FIELDS or isinstance(value, (bytes, bytearray, memoryview)):
        return REMOVED
    if key in CARD_FIELDS and value is not None:
        return mask_card(str(value))
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return redact(repr(value))  # anything else is written as its (redacted) repr, never as an object


class Redact(logging.Filter):
    """On every handler: the record is rewritten in place before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            # Format the traceback here, once, so it is redacted like the rest; formatters use exc_text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in fields(record).items():
            setattr(record, key, _clean(key, value))
        return True


def local_time(record: logging.LogRecord) -> str:
    """ISO 8601 in the machine's local time with its offset, to the millisecond."""
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class JsonLines(JsonFormatter):
    """ts, level, logger, msg, then the record's fields; an exception as `exc_info` (its text)."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data.update(ts=local_time(record), level=record.levelname, logger=record.name, msg=record.getMessage())
        log_data.update(fields(record))
        log_data.update(message_dict)


class TextLines(logging.Formatter):
    """`ts level logger msg key=value ...`, for a person reading a console."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields(record).items())
        line = f"{local_time(record)} {record.levelname} {record.name} {record.getMessage()}"
        line += f" {extra}" if extra else ""
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def configure_logging(section: LogSection, data_dir: Path) -> logging.Handler:
    """Replace the root logger's handlers with the one `[log]` asks for; returns it (closed at exit by logging)."""
    handler: logging.Handler
    if section.file is not None:
        path = Path(section.file)
        path = path if path.is_absolute() else data_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=section.max_bytes, backupCount=section.backups,
                                                       encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines() if section.format == "json" else TextLines())
    handler.addFilter(Redact())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(section.level.upper())
    return handler
