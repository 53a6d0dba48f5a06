"""OLE2 compound files (Word 97-2003 .doc, Excel .xls, Outlook .msg), read with olefile from
memory: what kind of file one is, its streams read with a bound, and its summary properties
(title, author, dates) in the code page they declare.

olefile reads a stream by following its sector chain for as many bytes as the directory
declares; a hostile directory may declare a stream far bigger than the file, its chain looping
over the same sectors, and reading it would allocate that much. No honest stream is bigger
than the file holding it, so a declared size beyond that is refused before anything is read."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import olefile

from ..model import ExtractionFailed
from .encoding import code_page_codec

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_SUMMARY = "\x05SummaryInformation"
# Property ids of the summary information stream ([MS-OLEPS] 2.25.1).
_CODE_PAGE, _TITLE, _SUBJECT, _AUTHOR, _KEYWORDS, _COMMENTS, _LAST_AUTHOR = 1, 2, 3, 4, 5, 6, 8
_CREATED, _SAVED = 12, 13


class Compound:
    """An OLE2 compound file opened from bytes; ExtractionFailed when it cannot be read."""

    def __init__(self, data: bytes) -> None:
        self.size = len(data)
        try:
            # Always a file object: olefile takes short bytes for a file name.
            self.ole = olefile.OleFileIO(io.BytesIO(data))
            # Names compare without case in compound files ([MS-CFB] 2.6.4), and writers differ.
            self.paths = {_key(path): tuple(path) for path in self.ole.listdir(streams=True, storages=True)}
            mini_stream = int(self.ole.root.size)
        except MemoryError:
            raise
        except Exception as error:  # olefile raises what hostile input makes it meet (OSError, struct.error...)
            raise ExtractionFailed(f"corrupt OLE2 compound file: {_words(error)}") from None
        # Small streams live in the mini stream, which olefile reads whole at the first of them.
        if mini_stream > self.size:
            raise ExtractionFailed(f"corrupt OLE2 compound file: the mini stream declares {mini_stream} bytes, "
                                   f"more than the whole file")

    def top_names(self) -> set[str]:
        """The names at the root, lower-cased."""
        return {key[0] for key in self.paths}

    def storages(self, parent: tuple[str, ...], prefix: str) -> list[tuple[str, ...]]:
        """The storages directly in `parent` whose names start with `prefix`, in name order."""
        parent, prefix = _key(parent), prefix.lower()
        depth = len(parent) + 1
        found = (key for key in self.paths if len(key) == depth and key[:-1] == parent and key[-1].startswith(prefix))
        return sorted(self.paths[key] for key in found
                      if self.ole.get_type(list(self.paths[key])) == olefile.STGTY_STORAGE)

    def exists(self, path: tuple[str, ...]) -> bool:
        return _key(path) in self.paths

    def declared_size(self, path: tuple[str, ...]) -> int:
        """What the directory says the stream holds (0 when there is no such stream), before reading it."""
        found = self.paths.get(_key(path))
        return int(self.ole.get_size(list(found))) if found is not None else 0

    def read(self, path: tuple[str, ...]) -> bytes | None:
        """The stream's bytes, None when there is no such stream."""
        found = self.paths.get(_key(path))
        if found is None or self.ole.get_type(list(found)) != olefile.STGTY_STREAM:
            return None
        path = found
        declared = self.ole.get_size(list(path))
        if declared > self.size:
            raise ExtractionFailed(f"corrupt OLE2 compound file: stream {_shown(path)} declares {declared} bytes, "
                                   f"more than the whole file")
        try:
            with self.ole.openstream(list(path)) as stream:
                return bytes(stream.read(declared))
        except MemoryError:
            raise
        except Exception as error:  # a broken sector chain, as olefile reports it
            raise ExtractionFailed(f"corrupt OLE2 compound file: stream {_shown(path)}: {_words(error)}") from None

    def summary(self) -> tuple[str | None, datetime | None, dict[str, str]]:
        """(title, creation time, other properties) from \\x05SummaryInformation, when present.
        A broken property stream is only lost properties: the document's text is what matters."""
        if not self.exists((_SUMMARY,)) or self.ole.get_size(_SUMMARY) > self.size:
            return None, None, {}
        try:
            properties = self.ole.getproperties(_SUMMARY, convert_time=True, no_conversion=[10])
        except MemoryError:
            raise
        except Exception:
            return None, None, {}
        code_page = properties.get(_CODE_PAGE)
        codec = code_page_codec(code_page & 0xFFFF) if isinstance(code_page, int) else None
        texts: dict[str, str] = {}
        for key, number in (("title", _TITLE), ("subject", _SUBJECT), ("author", _AUTHOR), ("keywords", _KEYWORDS),
                            ("comments", _COMMENTS), ("modified_by", _LAST_AUTHOR)):
            value = property_text(properties.get(number), codec)
            if value:
                texts[key] = value
        saved = _moment(properties.get(_SAVED))
        if saved is not None:
            texts["modified"] = saved.isoformat()
        return texts.pop("title", None), _moment(properties.get(_CREATED)), texts

    def close(self) -> None:
        self.ole.close()


def ole_kind(data: bytes) -> str:
    """"doc", "xls" or "msg"; ExtractionFailed("unsupported format: ...") for other compound
    files (PowerPoint, Visio, installers...), "encrypted..." for password-protected Office files."""
    try:
        compound = Compound(data)
    except ExtractionFailed as failed:
        # The bytes say OLE2 but not which kind: sniffing, not an extractor, gives up here.
        raise ExtractionFailed(f"unsupported format: an OLE2 compound file that cannot be read "
                               f"({failed.reason.removeprefix('corrupt OLE2 compound file: ')})") from None
    try:
        names = compound.top_names()
        shown = ", ".join(sorted({_printable(path[0]) for path in compound.paths.values()})[:6]) or "none"
    finally:
        compound.close()
    if "encryptedpackage" in names:
        # Password-protected .docx/.xlsx/.pptx are an OLE2 wrapper around the encrypted ZIP.
        raise ExtractionFailed("encrypted: a password-protected Office document")
    if "worddocument" in names:
        return "doc"
    if "workbook" in names or "book" in names:
        return "xls"
    if "__properties_version1.0" in names or any(name.startswith("__substg1.0_") for name in names):
        return "msg"
    if "powerpoint document" in names:
        raise ExtractionFailed("unsupported format: a PowerPoint 97-2003 presentation (.ppt)")
    raise ExtractionFailed(f"unsupported format: an OLE2 compound file, neither Word, Excel nor Outlook "
                           f"(streams: {shown})")


def property_text(value: object, codec: str | None) -> str | None:
    """A string property: olefile gives 8-bit strings as bytes, in the stream's code page."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode(codec or "cp1252", "replace")
    else:
        return None
    return text.replace("\x00", "").strip() or None


def _moment(value: object) -> datetime | None:
    # Unset times are FILETIME zero, which olefile converts to 1601-01-01.
    if not isinstance(value, datetime) or value.year < 1980:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _key(path: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(part.lower() for part in path)


def _shown(path: tuple[str, ...]) -> str:
    return "/".join(_printable(part) for part in path)


def _printable(name: str) -> str:
    return "".join(character for character in name if character.isprintable())


def _words(error: Exception) -> str:
    return str(error) or type(error).__name__


def summary_of(data: bytes) -> tuple[str | None, datetime | None, dict[str, str]]:
    """Title, creation time and the rest of an OLE2 file's summary information."""
    compound = Compound(data)
    try:
        return compound.summary()
    finally:
        compound.close()
