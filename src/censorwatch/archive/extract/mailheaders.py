"""Header values of e-mail as people read them: RFC 2047 encoded words, and raw 8-bit bytes
(Roskomnadzor's mail server sends raw UTF-8 in Subject and From; older Russian mail raw
KOI8-R or cp1251). Values are decoded from the raw source the parser kept, not from the
policy's parsed header objects, which turn a duplicated "From: From: ..." into a group."""

from __future__ import annotations

import base64
import binascii
import re
from email.message import Message

from .encoding import canonical_codec, decode_text

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile(r"[\udc80-\udcff]")
_QUOTED_BYTE = re.compile(rb"=([0-9A-Fa-f]{2})")


def header(message: Message, name: str) -> str | None:
    """The first header `name`, decoded; None when absent."""
    values = headers(message, name)
    return values[0] if values else None


def headers(message: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [decode_value(str(value)) for key, value in message.raw_items() if key.lower() == wanted]


def decode_value(raw: str) -> str:
    """One header value: unfolded, raw 8-bit bytes and encoded words decoded, spaces collapsed."""
    if _SURROGATES.search(raw):
        raw = unsurrogate(raw)
    pieces: list[tuple[str, bytes | str]] = []  # (charset, bytes) for encoded words, ("", text)
    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position : match.start()]
        # White space between two encoded words is not text (RFC 2047, 6.2).
        if between and not (between.isspace() and pieces and pieces[-1][0]):
            pieces.append(("", between))
        charset = match.group(1).split("*")[0].lower()
        payload = _word_bytes(match.group(2).lower(), match.group(3))
        if payload is None:
            pieces.append(("", match.group(0)))
        elif pieces and pieces[-1][0] == charset:
            # Adjacent words in one charset are joined first: a character may be split between them.
            previous = pieces[-1][1]
            assert isinstance(previous, bytes)
            pieces[-1] = (charset, previous + payload)
        else:
            pieces.append((charset, payload))
        position = match.end()
    pieces.append(("", raw[position:]))
    text = "".join(_decode_piece(charset, value) for charset, value in pieces)
    return _SPACES.sub(" ", text).strip()


def unsurrogate(text: str) -> str:
    """A string the parser read as ASCII with surrogate escapes, decoded as what it was."""
    raw = text.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = decode_text(raw)
        return decoded.text if decoded is not None else raw.decode("cp1251", "replace")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding == "b":
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        data = payload.replace("_", " ").encode("ascii")
        return _QUOTED_BYTE.sub(lambda match: bytes((int(match.group(1), 16),)), data)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def _decode_piece(charset: str, value: bytes | str) -> str:
    if isinstance(value, str):
        return value
    codec = canonical_codec(charset)
    if codec is not None:
        try:
            return value.decode(codec)
        except UnicodeDecodeError:
            pass
    decoded = decode_text(value)
    return decoded.text if decoded is not None else value.decode("cp1252", "replace")
