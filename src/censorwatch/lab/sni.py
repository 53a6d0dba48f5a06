"""Server Name Indication from a raw TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3), as a middlebox reads it."""

from __future__ import annotations

import struct

HANDSHAKE = 0x16
CLIENT_HELLO = 0x01
EXT_SERVER_NAME = 0x0000


def record_complete(data: bytes) -> bool:
    """True once the first TLS record is whole (or the bytes are not TLS at all, so waiting is pointless)."""
    if len(data) < 5:
        return False
    if data[0] != HANDSHAKE:
        return True
    length: int = struct.unpack("!H", data[3:5])[0]
    return len(data) >= 5 + length


def server_name(data: bytes) -> str | None:
    """The host_name of the first TLS record's ClientHello; None when absent or the bytes are malformed."""
    try:
        return _parse(data)
    except (IndexError, struct.error, UnicodeDecodeError):
        return None


def _parse(data: bytes) -> str | None:
    if len(data) < 5 or data[0] != HANDSHAKE:
        return None
    (record_length,) = struct.unpack("!H", data[3:5])
    body = data[5 : 5 + record_length]
    if not body or body[0] != CLIENT_HELLO:
        return None
    pos = 4 + 2 + 32  # handshake header, legacy_version, random
    pos += 1 + body[pos]  # session id
    (suites,) = struct.unpack("!H", body[pos : pos + 2])
    pos += 2 + suites
    pos += 1 + body[pos]  # compression methods
    (ext_total,) = struct.unpack("!H", body[pos : pos + 2])
    pos += 2
    end = min(pos + ext_total, len(body))
    while pos + 4 <= end:
        ext_type, ext_len = struct.unpack("!HH", body[pos : pos + 4])
        pos += 4
        if ext_type == EXT_SERVER_NAME:
            (list_len,) = struct.unpack("!H", body[pos : pos + 2])
            item = pos + 2
            while item + 3 <= pos + 2 + list_len:
                name_type = body[item]
                (name_len,) = struct.unpack("!H", body[item + 1 : item + 3])
                name = body[item + 3 : item + 3 + name_len]
                if name_type == 0:
                    # A truncated record must not yield a truncated (and so different) name.
                    return name.decode("ascii").lower() if len(name) == name_len and name_len else None
                item += 3 + name_len
            return None
        pos += ext_len
    return None
