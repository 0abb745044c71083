"""What a serial port can raise when its device goes away.

pyserial raises SerialException for most failures, but a vanished tty also surfaces as a bare
OSError (EIO) or as ``termios.error`` (from tcflush/tcsetattr), which is neither.
"""

from __future__ import annotations

import termios

import serial

SERIAL_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
