"""ZIP archives: members become children (their names only names: "../../etc/passwd" is never
a path here), and one part lists the member names, which in leaks say a lot by themselves.

Bounds (bounded_zip, limits): member count and directory size before parsing, overlapping
members refused, each member decompressed in chunks and stopped at a ratio and at the bytes
left in the archive's budget. A member that cannot be read (encrypted, unsupported method,
a bomb, corrupt, over budget) is skipped and listed with its reason in metadata["skipped"];
the others are returned. Nested archives are children like any member: extracting them is
the caller's recursion, one bounded level at a time."""

from __future__ import annotations

from ..model import Child, Extracted, TextPart
from .bounded_zip import Budget, MemberSkipped, member_name, open_archive, read_member
from .encoding import decode_text
from .normalise import TextBudget


def extract_zip(data: bytes) -> Extracted:
    archive = open_archive(data)
    budget = Budget()
    children: list[Child] = []
    names: list[str] = []
    skipped: list[str] = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = member_name(info)
        names.append(name)
        try:
            children.append(Child(name, read_member(data, info, budget)))
        except MemberSkipped as reason:
            skipped.append(f"{name}: {reason.reason}")
    metadata = {"members": str(len(names))}
    if skipped:
        metadata["skipped"] = "\n".join(skipped)
    comment = decode_text(archive.comment) if archive.comment else None
    if comment is not None and comment.text.strip():
        metadata["comment"] = comment.text.strip()
    text = TextBudget()
    return Extracted(
        kind="zip",
        title=None,
        date=None,
        parts=(TextPart(1, text.take("\n".join(names))),) if names else (),
        children=tuple(children),
        metadata=text.note(metadata),
    )
