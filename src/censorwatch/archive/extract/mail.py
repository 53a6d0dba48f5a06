"""E-mail (RFC 822/MIME) to text: Subject is the title, Date the date, From/To/Cc/Subject the
metadata; text parts (or HTML parts converted, when a message has no text part) are the parts;
attachments and attached messages are children.

Parsed with `email.policy.default`, never the default compat32 policy, which leaves raw 8-bit
headers as undecodable Header objects. The parser itself never raises on malformed MIME (it
records defects); the walk below is iterative and bounded in depth and part count, and every
part whose charset is bogus is decoded by detection instead."""

from __future__ import annotations

import email
import email.policy
import mimetypes
from email.message import Message

from ..model import Child, Extracted, TextPart
from .dates import parse_date
from .encoding import decode_with
from .htmldoc import html_to_text
from .limits import MAX_MIME_DEPTH, MAX_MIME_PARTS
from .mailheaders import decode_value, header, headers
from .normalise import TextBudget, tidy

_METADATA_HEADERS = ("from", "to", "cc", "subject", "message-id", "in-reply-to")
# An attached message re-serialised as it came: no refolding of its headers.
_AS_RECEIVED = email.policy.default.clone(refold_source="none", max_line_length=0)


def extract_email(data: bytes) -> Extracted:
    message = email.message_from_bytes(data, policy=email.policy.default)
    walk = _Walk()
    walk.run(message)
    budget = TextBudget()
    texts = walk.plain or walk.html
    parts = tuple(TextPart(number, budget.take(text)) for number, text in enumerate(texts, start=1) if text)
    metadata = {}
    for name in _METADATA_HEADERS:
        values = headers(message, name)
        if values:
            metadata[name.replace("-", "_")] = ", ".join(values)
    if walk.skipped:
        metadata["skipped"] = "\n".join(walk.skipped)
    if message.defects:
        metadata["defects"] = "; ".join(sorted({type(defect).__name__ for defect in message.defects}))
    return Extracted(
        kind="email",
        title=header(message, "subject") or None,
        date=parse_date(header(message, "date")),
        parts=parts,
        children=tuple(walk.children),
        metadata=budget.note(metadata),
    )


def subject_of(message: Message) -> str:
    return header(message, "subject") or ""


class _Walk:
    """Message parts in order: text and HTML bodies, children, and what was skipped."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.children: list[Child] = []
        self.skipped: list[str] = []
        self.seen = 0

    def run(self, message: Message) -> None:
        stack: list[tuple[Message, int]] = [(message, 0)]
        while stack:
            part, depth = stack.pop()
            self.seen += 1
            if self.seen > MAX_MIME_PARTS:
                self.skipped.append(f"parts after the first {MAX_MIME_PARTS}")
                return
            content_type = part.get_content_type()
            if content_type == "message/rfc822":
                self._attached_message(part)
            elif part.is_multipart():
                if depth >= MAX_MIME_DEPTH:
                    self.skipped.append(f"parts nested deeper than {MAX_MIME_DEPTH}")
                    continue
                children = _alternative(part) if content_type == "multipart/alternative" else _subparts(part)
                stack.extend((child, depth + 1) for child in reversed(children))
            else:
                self._leaf(part, content_type)

    def _leaf(self, part: Message, content_type: str) -> None:
        if part.get_content_maintype() == "multipart":
            content_type = "text/plain"  # a multipart the parser could not split: read as text
        payload = _payload(part)
        name = _filename(part)
        body = content_type in ("text/plain", "text/html") and part.get_content_disposition() != "attachment"
        if name is None and body:
            decoded = decode_with(payload, _charset(part))
            if decoded is not None:
                if content_type == "text/html":
                    self.html.append(html_to_text(decoded.text)[0])
                else:
                    self.plain.append(tidy(decoded.text))
                return
        extension = mimetypes.guess_extension(content_type) or ".bin"
        self.children.append(Child(name or f"attachment-{len(self.children) + 1}{extension}", payload))

    def _attached_message(self, part: Message) -> None:
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, Message):
            data = inner.as_bytes(policy=_AS_RECEIVED)
            subject = subject_of(inner)
        else:
            data, subject = _payload(part), ""
        name = _filename(part) or f"{subject or 'message'}.eml"
        self.children.append(Child(name, data))


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _alternative(part: Message) -> list[Message]:
    """Of alternatives, the plain text one, else the HTML one, else the last (the richest)."""
    children = _subparts(part)
    for wanted in ("text/plain", "text/html"):
        for child in children:
            if child.get_content_type() == wanted:
                return [child]
    return children[-1:]


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding is a defect of the file, not of this code
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:  # a parameter the parser cannot read is no charset
        return None
    # "us-ascii" is what MIME assumes when nothing is said; the bytes may say otherwise.
    return None if charset in (None, "us-ascii", "ascii") else str(charset)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a malformed parameter is no file name
        name = None
    return decode_value(name) or None if name else None
