"""Reading a report's bytes: one chunked pass to hash them and check each encoding, and, for a file that does
not decode, every undecodable byte located by row and column."""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from connector.plugins.darts.mapping.columns import ColumnMapping
    from connector.plugins.darts.mapping.problems import Problems

_CHUNK = 1 << 20
_SPOOL_IN_MEMORY = 8 << 20
#: Control characters (not tab, CR or LF) never belong in a report, and PostgreSQL refuses NUL in text.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _encoding_label(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return {
        "utf-8-sig": "UTF-8 (with or without a byte-order mark)",
        "utf-8": "UTF-8",
        "cp1252": "Windows-1252",
        "iso8859-1": "Latin-1",
    }.get(name, encoding)


@dataclass
class _Source:
    """The file, positioned at its start, with facts gathered in the one pass that hashed it."""

    stream: IO[bytes]
    start: int
    sha256: str
    head: bytes
    decodes: dict[str, bool]
    #: Whether any control byte occurs at all; only then are cells checked one by one.
    has_control: bool = False
    spool: IO[bytes] | None = None

    def rewind(self) -> IO[bytes]:
        self.stream.seek(self.start)
        return self.stream


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable()) and hasattr(stream, "readable") and stream.readable()
    except (AttributeError, OSError, ValueError):
        return False


def _prepare(stream: IO[bytes], encodings: Iterable[str]) -> _Source:
    """Hash the bytes and check each declared encoding in one chunked pass (spooling a non-seekable stream)."""
    digest = hashlib.sha256()
    decoders = {enc: codecs.getincrementaldecoder(enc)("strict") for enc in encodings}
    ok = dict.fromkeys(decoders, True)
    spool: IO[bytes] | None = None
    if _seekable(stream):
        source, start = stream, stream.tell()
    else:
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the caller
        source, start = spool, 0
    head = b""
    has_control = False
    while chunk := stream.read(_CHUNK):
        has_control = has_control or _CONTROL_BYTES.search(chunk) is not None
        if not head:
            head = chunk[:8]
        digest.update(chunk)
        if spool is not None:
            spool.write(chunk)
        for enc, dec in decoders.items():
            if ok[enc]:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    ok[enc] = False
    for enc, dec in decoders.items():
        if ok[enc]:
            try:
                dec.decode(b"", True)
            except UnicodeDecodeError:
                ok[enc] = False
    return _Source(source, start, digest.hexdigest(), head, ok, has_control, spool)


def _sniff(head: bytes) -> str | None:
    """Name what the file is when it is obviously not CSV text, because that is the whole fix."""
    if head.startswith(b"PK\x03\x04"):
        return "an Excel workbook (.xlsx) or another zip file"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook (.xls)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (Excel's 'Unicode Text')"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    return None


class DecodeErrors:
    """The parser's part that explains a file that does not decode (mixed into ``parser._Parser``)."""

    m: ColumnMapping
    problems: Problems
    titles: tuple[str, ...]

    def _locate_decode_errors(self, raw: IO[bytes], encoding: str) -> None:
        """Report every undecodable byte: its row, column, byte offset and what it reads as in Windows-1252."""
        label = _encoding_label(encoding)
        if codecs.lookup(encoding).name == "utf-8-sig":
            encoding = "utf-8"  # the same bytes; positions then count the byte-order mark too
        dec = codecs.getincrementaldecoder(encoding)("strict")
        carry, base, line, tail = b"", 0, 1, b""
        eof = False
        while not eof:
            chunk = raw.read(_CHUNK)
            eof = not chunk
            data = carry + chunk
            pos = counted = 0
            while True:
                try:
                    dec.decode(data[pos:], eof)
                    pending = b"" if eof else dec.getstate()[0]
                    end = len(data) - len(pending)
                    dec.reset()  # the pending bytes are fed again, as ``carry``, with the next chunk
                    break
                except UnicodeDecodeError as exc:
                    bad = pos + exc.start
                    line += data.count(b"\n", counted, bad)
                    counted = bad
                    start = data.rfind(b"\n", 0, bad)
                    prefix = data[start + 1 : bad] if start >= 0 else tail + data[:bad]
                    self._decode_problem(line, prefix, data[bad : pos + exc.end], base + bad, encoding, label)
                    dec.reset()
                    pos += exc.end
            line += data.count(b"\n", counted, end)
            start = data.rfind(b"\n", 0, end)
            tail = data[start + 1 : end] if start >= 0 else (tail + data[:end])[: 64 * 1024]
            carry, base = data[end:], base + end

    def _decode_problem(self, line: int, prefix: bytes, bad: bytes, offset: int, encoding: str, label: str) -> None:
        text = prefix.decode(encoding, "replace").replace("\r", " ")
        try:
            fields = next(csv.reader([text], delimiter=self.m.delimiter, quotechar=self.m.quotechar), []) or [""]
        except csv.Error:
            fields = [""]
        index = len(fields) - 1
        if line == 1:
            column = "(header)"
        else:
            column = self.titles[index] if index < len(self.titles) else f"(column {index + 1})"
        shown = "".join(f"[0x{b:02X}]" for b in bad[:4])
        as_cp1252 = bad.decode("cp1252", "replace")
        hint = (
            f"; {shown} reads {as_cp1252!r} in Windows-1252, so the file was probably saved as Windows-1252/ANSI: "
            "export or save it as CSV UTF-8"
            if "\ufffd" not in as_cp1252 and label.startswith("UTF-8")
            else ""
        )
        self.problems.add(line, column, f"{fields[-1][-20:]}{shown} at byte offset {offset}", f"text in {label}{hint}")
