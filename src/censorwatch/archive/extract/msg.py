"""Outlook messages (.msg, [MS-OXMSG]) to text, read from the OLE2 file's property streams with
olefile: subject (the title), sender, recipients, date, message id and the body; attachments
are children as e-mail attachments are, and an attached message becomes a child .eml (read
by mail.py in turn), its own attachments inside it as MIME parts.

Each property lives in a stream named __substg1.0_IIIITTTT (id, type) or, when of fixed size,
in __properties_version1.0. Strings are UTF-16 (type 001F) in Unicode messages, which read
right whatever the language; older ANSI messages (type 001E) are in the message's code page,
PR_MESSAGE_CODEPAGE or PR_INTERNET_CPID, and are detected like any text when it says none.
The body is PR_BODY, else PR_HTML made text; a message that kept only its compressed RTF body
is recorded as such. extract-msg was not used: it brings six more packages for what these
streams give directly, and its own bounds could not be set."""

from __future__ import annotations

import email.policy
import mimetypes
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import HeaderParser
from email.utils import format_datetime

from ..model import Child, Extracted, TextPart
from .dates import parse_date
from .encoding import code_page_codec, decode_with
from .htmldoc import html_to_text
from .limits import MAX_MSG_ATTACHMENTS, MAX_MSG_CHILDREN_TOTAL, MAX_MSG_DEPTH, MiB
from .mailheaders import decode_value
from .normalise import TextBudget, tidy
from .ole import Compound

Path = tuple[str, ...]

_PROPERTIES = "__properties_version1.0"
_RECIPIENT = "__recip_version1.0_#"
_ATTACHMENT = "__attach_version1.0_#"
_EMBEDDED = "__substg1.0_3701000D"
# The property stream's header: 32 bytes in a message file, 24 in an attached message, 8 in a
# recipient or attachment ([MS-OXMSG] 2.4).
_HEADER_TOP, _HEADER_EMBEDDED, _HEADER_SUB = 32, 24, 8
_UNICODE, _STRING8, _BINARY = 0x001F, 0x001E, 0x0102
_LONG, _SYSTIME = 0x0003, 0x0040

_SUBJECT = 0x0037
_SENT_REPRESENTING_NAME, _SENT_REPRESENTING_ADDRESS, _SENT_REPRESENTING_SMTP = 0x0042, 0x0065, 0x5D02
_SENDER_NAME, _SENDER_ADDRESS, _SENDER_SMTP = 0x0C1A, 0x0C1F, 0x5D01
_DISPLAY_BCC, _DISPLAY_CC, _DISPLAY_TO = 0x0E02, 0x0E03, 0x0E04
_TRANSPORT_HEADERS = 0x007D
_BODY, _RTF_COMPRESSED, _HTML = 0x1000, 0x1009, 0x1013
_MESSAGE_ID, _IN_REPLY_TO = 0x1035, 0x1042
_CLIENT_SUBMIT_TIME, _DELIVERY_TIME, _CREATION_TIME = 0x0039, 0x0E06, 0x3007
_INTERNET_CODE_PAGE, _MESSAGE_CODE_PAGE = 0x3FDE, 0x3FFD
_DISPLAY_NAME, _EMAIL_ADDRESS, _SMTP_ADDRESS, _RECIPIENT_TYPE = 0x3001, 0x3003, 0x39FE, 0x0C15
_ATTACH_FILENAME, _ATTACH_METHOD, _ATTACH_LONG_FILENAME, _ATTACH_MIME_TAG = 0x3704, 0x3705, 0x3707, 0x370E
_ATTACH_DATA = 0x3701
_BY_VALUE, _EMBEDDED_MESSAGE, _OLE_OBJECT = 1, 5, 6
_RECIPIENT_FIELDS = {1: "to", 2: "cc", 3: "bcc"}
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def extract_msg(data: bytes) -> Extracted:
    compound = Compound(data)
    try:
        reading = _Reading(compound)
        message = reading.message((), _HEADER_TOP)
        children = reading.children(message)
    finally:
        compound.close()
    budget = TextBudget()
    parts = (TextPart(1, budget.take(message.body)),) if message.body else ()
    metadata = {key: value for key, value in (
        ("from", message.sender), ("to", ", ".join(message.recipients["to"])),
        ("cc", ", ".join(message.recipients["cc"])), ("bcc", ", ".join(message.recipients["bcc"])),
        ("subject", message.subject), ("message_id", message.message_id), ("in_reply_to", message.in_reply_to),
    ) if value}
    if message.skipped:
        metadata["skipped"] = "\n".join(message.skipped)
    return Extracted(kind="msg", title=message.subject or None, date=message.date, parts=parts,
                     children=tuple(children), metadata=budget.note(metadata))


@dataclass
class _Attachment:
    name: str
    data: bytes | None = None
    message: _Message | None = None


@dataclass
class _Message:
    subject: str = ""
    sender: str = ""
    recipients: dict[str, list[str]] = field(default_factory=lambda: {"to": [], "cc": [], "bcc": []})
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    body: str = ""
    attachments: list[_Attachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _Reading:
    """One .msg file read: its messages (the file's and those attached), within the budgets
    of attachments and of the bytes children may take."""

    def __init__(self, compound: Compound) -> None:
        self.compound = compound
        self.bytes_left = MAX_MSG_CHILDREN_TOTAL
        self.attachments_left = MAX_MSG_ATTACHMENTS

    def message(self, storage: Path, header: int, depth: int = 0) -> _Message:
        fixed = self._fixed(storage, header)
        codec = _codec(fixed)
        text = _Strings(self.compound, storage, codec)
        headers = HeaderParser(policy=email.policy.compat32).parsestr(text.get(_TRANSPORT_HEADERS) or "")
        found = _Message(subject=text.get(_SUBJECT) or _header(headers, "subject"))
        found.sender = _address(
            text.get(_SENT_REPRESENTING_NAME) or text.get(_SENDER_NAME),
            text.get(_SENT_REPRESENTING_SMTP) or text.get(_SENDER_SMTP),
            text.get(_SENT_REPRESENTING_ADDRESS) or text.get(_SENDER_ADDRESS),
        ) or _header(headers, "from")
        recipients = self.compound.storages(storage, _RECIPIENT)
        if len(recipients) > MAX_MSG_ATTACHMENTS:
            found.skipped.append(f"recipients after the first {MAX_MSG_ATTACHMENTS}")
        for recipient in recipients[:MAX_MSG_ATTACHMENTS]:
            fields = self._fixed(recipient, _HEADER_SUB)
            strings = _Strings(self.compound, recipient, codec)
            shown = _address(strings.get(_DISPLAY_NAME), strings.get(_SMTP_ADDRESS), strings.get(_EMAIL_ADDRESS))
            # The low bits say To, Cc or Bcc; high ones are flags (sent, responsibility).
            kind = _RECIPIENT_FIELDS.get((_long(fields.get((_RECIPIENT_TYPE, _LONG))) or 1) & 0xF, "to")
            if shown:
                found.recipients[kind].append(shown)
        for kind, number in (("to", _DISPLAY_TO), ("cc", _DISPLAY_CC), ("bcc", _DISPLAY_BCC)):
            if not found.recipients[kind] and text.get(number):
                found.recipients[kind] = [text.get(number) or ""]
        for moment in (_CLIENT_SUBMIT_TIME, _DELIVERY_TIME):
            found.date = found.date or _filetime(fixed.get((moment, _SYSTIME)))
        found.date = found.date or parse_date(_header(headers, "date"))
        found.date = found.date or _filetime(fixed.get((_CREATION_TIME, _SYSTIME)))
        found.message_id = text.get(_MESSAGE_ID) or _header(headers, "message-id")
        found.in_reply_to = text.get(_IN_REPLY_TO) or _header(headers, "in-reply-to")
        found.body = self._body(storage, text, found)
        self._attachments(storage, found, codec, depth)
        return found

    def children(self, message: _Message) -> list[Child]:
        children: list[Child] = []
        for attachment in message.attachments:
            if attachment.message is not None:
                children.append(Child(attachment.name, _as_email(attachment.message).as_bytes()))
            elif attachment.data is not None:
                children.append(Child(attachment.name, attachment.data))
        return children

    def _fixed(self, storage: Path, header: int) -> dict[tuple[int, int], bytes]:
        """(property id, type) -> the 8 bytes of its value, from the storage's property stream."""
        raw = self.compound.read((*storage, _PROPERTIES)) or b""
        found: dict[tuple[int, int], bytes] = {}
        for offset in range(header, len(raw) - 15, 16):
            tag, _, value = struct.unpack_from("<II8s", raw, offset)
            found[(tag >> 16, tag & 0xFFFF)] = value
        return found

    def _body(self, storage: Path, text: _Strings, message: _Message) -> str:
        body = text.get(_BODY)
        if body:
            return tidy(body)
        html = self.compound.read((*storage, f"__substg1.0_{_HTML:04X}{_BINARY:04X}"))
        if html is not None:
            decoded = decode_with(html, text.codec)
            if decoded is not None:
                return html_to_text(decoded.text)[0]
        html_text = text.get(_HTML)
        if html_text:
            return html_to_text(html_text)[0]
        if self.compound.exists((*storage, f"__substg1.0_{_RTF_COMPRESSED:04X}{_BINARY:04X}")):
            message.skipped.append("the body, kept only as compressed RTF")
        return ""

    def _attachments(self, storage: Path, message: _Message, codec: str | None, depth: int) -> None:
        for number, place in enumerate(self.compound.storages(storage, _ATTACHMENT), start=1):
            if self.attachments_left <= 0:
                message.skipped.append(f"attachments after the first {MAX_MSG_ATTACHMENTS}")
                return
            self.attachments_left -= 1
            fixed = self._fixed(place, _HEADER_SUB)
            strings = _Strings(self.compound, place, codec)
            method = _long(fixed.get((_ATTACH_METHOD, _LONG)))
            mime = strings.get(_ATTACH_MIME_TAG)
            name = (strings.get(_ATTACH_LONG_FILENAME) or strings.get(_ATTACH_FILENAME)
                    or strings.get(_DISPLAY_NAME) or "")
            inner = (*place, _EMBEDDED)
            if self.compound.exists(inner) and method != _OLE_OBJECT:
                if depth + 1 >= MAX_MSG_DEPTH:
                    message.skipped.append(f"{name or 'a message'}: messages nested deeper than {MAX_MSG_DEPTH}")
                    continue
                attached = self.message(inner, _HEADER_EMBEDDED, depth + 1)
                message.skipped.extend(f"{name or attached.subject}: {line}" for line in attached.skipped)
                message.attachments.append(_Attachment(_eml_name(name, attached.subject), message=attached))
                continue
            name = name or f"attachment-{number}{mimetypes.guess_extension(mime or '') or '.bin'}"
            if method == _OLE_OBJECT or self.compound.exists(inner):
                message.skipped.append(f"{name}: an embedded OLE object")
                continue
            stream = (*place, f"__substg1.0_{_ATTACH_DATA:04X}{_BINARY:04X}")
            if not self.compound.exists(stream):
                message.skipped.append(f"{name}: attached by reference, not in the file")
                continue
            if self.compound.declared_size(stream) > self.bytes_left:
                message.skipped.append(f"{name}: beyond the {MAX_MSG_CHILDREN_TOTAL // MiB} MiB of attachments "
                                       f"one message may have")
                continue
            data = self.compound.read(stream) or b""
            self.bytes_left -= len(data)
            message.attachments.append(_Attachment(name, data=data))


class _Strings:
    """The string properties of one storage, Unicode or in the message's code page."""

    def __init__(self, compound: Compound, storage: Path, codec: str | None) -> None:
        self.compound = compound
        self.storage = storage
        self.codec = codec

    def get(self, number: int) -> str:
        raw = self.compound.read((*self.storage, f"__substg1.0_{number:04X}{_UNICODE:04X}"))
        if raw is not None:
            return raw.decode("utf-16-le", "replace").split("\x00", 1)[0].strip()
        raw = self.compound.read((*self.storage, f"__substg1.0_{number:04X}{_STRING8:04X}"))
        if raw is None:
            return ""
        raw = raw.split(b"\x00", 1)[0]
        decoded = decode_with(raw, self.codec)
        return (decoded.text if decoded is not None else raw.decode(self.codec or "cp1252", "replace")).strip()


def _codec(fixed: dict[tuple[int, int], bytes]) -> str | None:
    for number in (_INTERNET_CODE_PAGE, _MESSAGE_CODE_PAGE):
        code_page = _long(fixed.get((number, _LONG)))
        if code_page:
            codec = code_page_codec(code_page)
            if codec is not None:
                return codec
    return None


def _long(value: bytes | None) -> int | None:
    return int(struct.unpack_from("<I", value)[0]) if value is not None else None


def _filetime(value: bytes | None) -> datetime | None:
    """A FILETIME (100 ns since 1601); none for zero or the never-set maximum."""
    if value is None:
        return None
    (ticks,) = struct.unpack("<Q", value)
    if ticks == 0 or ticks >= 0x7FFFFFFFFFFFFFFF:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None


def _address(name: str | None, smtp: str | None, address: str | None) -> str:
    """"Name <address>", the SMTP address preferred to an Exchange one (/O=ORG/OU=...)."""
    mailbox = smtp or address or ""
    if mailbox and "@" not in mailbox and address and "@" in address:
        mailbox = address
    if name and mailbox and name != mailbox:
        return f"{name} <{mailbox}>"
    return name or mailbox


def _header(headers: Message, name: str) -> str:
    value = headers.get(name)
    return decode_value(str(value)) if value else ""


def _eml_name(name: str, subject: str) -> str:
    stem = (name or subject or "message").replace("/", "_").replace("\\", "_")
    return stem if stem.lower().endswith(".eml") else f"{stem}.eml"


def _as_email(message: _Message) -> Message:
    """An attached message as MIME, for mail.py to read as any attached e-mail."""
    mime = MIMEMultipart("mixed")
    for name, value in (("From", message.sender), ("To", ", ".join(message.recipients["to"])),
                        ("Cc", ", ".join(message.recipients["cc"])), ("Subject", message.subject),
                        ("Message-ID", message.message_id), ("In-Reply-To", message.in_reply_to)):
        if value:
            flat = " ".join(value.split())  # no line breaks inside a header
            mime[name] = flat if flat.isascii() else Header(flat, "utf-8").encode(maxlinelen=0)
    if message.date is not None:
        mime["Date"] = format_datetime(message.date)
    mime.attach(MIMEText(message.body, "plain", "utf-8"))
    for attachment in message.attachments:
        part: Message
        if attachment.message is not None:
            part = MIMEMessage(_as_email(attachment.message))
        else:
            part = MIMEApplication(attachment.data or b"")
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", attachment.name))
        mime.attach(part)
    return mime
