"""mbox to one child per message, named "NNNN Subject.eml", and one part: the mailbox's table
of contents (number, date, sender, subject per line).

Messages are children rather than parts because each is a document of its own, with its own
title, date, senders and attachments: extracting a child gives all of that, where a part
could carry only text. The table of contents keeps the mailbox itself findable by what it
holds."""

from __future__ import annotations

import email.policy
import re
from email.parser import BytesHeaderParser

from ..model import Child, Extracted, ExtractionFailed, TextPart
from .limits import MAX_MBOX_MESSAGES
from .mailheaders import header
from .normalise import TextBudget

# A From_ line: at the start of the file or after an empty line (mboxo/mboxrd), or anywhere
# when it carries the asctime date every writer puts there (some omit the empty line).
_FROM_LINE = re.compile(rb"^From [^\r\n]*(?:\r?\n|$)", re.MULTILINE)
_DATED = re.compile(rb"From \S+\s+\w{3} \w{3}\s+\d{1,2} \d{1,2}:\d{2}")
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_HEADERS = BytesHeaderParser(policy=email.policy.default)
_SUBJECT_IN_NAME = 100


def extract_mbox(data: bytes) -> Extracted:
    messages = split_mbox(data)
    if not messages:
        raise ExtractionFailed("mbox without messages")
    children: list[Child] = []
    contents: list[str] = []
    for number, raw in enumerate(messages[:MAX_MBOX_MESSAGES], start=1):
        head = _HEADERS.parsebytes(raw)
        subject = header(head, "subject") or ""
        children.append(Child(f"{number:04d} {subject[:_SUBJECT_IN_NAME]}".rstrip() + ".eml", raw))
        contents.append(f"{number}. {header(head, 'date') or ''} | {header(head, 'from') or ''} | {subject}")
    budget = TextBudget()
    metadata = {"messages": str(len(messages))}
    if len(messages) > MAX_MBOX_MESSAGES:
        metadata["truncated"] = f"only the first {MAX_MBOX_MESSAGES} of {len(messages)} messages"
    return Extracted(
        kind="mbox",
        title=None,
        date=None,
        parts=(TextPart(1, budget.take("\n".join(contents))),),
        children=tuple(children),
        metadata=budget.note(metadata),
    )


def split_mbox(data: bytes) -> list[bytes]:
    """The messages, without their From_ lines, ">From " unquoted (mboxrd's rule, which also
    undoes mboxo's quoting)."""
    starts = [
        match
        for match in _FROM_LINE.finditer(data)
        if match.start() == 0
        or data[max(0, match.start() - 4) : match.start()].endswith((b"\n\n", b"\r\n\r\n"))
        or _DATED.match(match.group())
    ]
    messages = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(data)
        body = data[match.end() : end]
        # The empty line before the next From_ line belongs to the mbox, not to the message.
        if body.endswith(b"\r\n\r\n"):
            body = body[:-2]
        elif body.endswith(b"\n\n"):
            body = body[:-1]
        messages.append(_QUOTED_FROM.sub(rb"\1", body))
    return messages
