"""What a line is, in every text file the project reads: corpus files and `tfx-nmt translate --input`."""
from __future__ import annotations

import codecs
import itertools
from typing import BinaryIO, Iterable, Iterator, List

UTF8_BOM = b"\xef\xbb\xbf"
# The first two bytes of every gzip member (RFC 1952, section 2.3.1); never the start of UTF-8 text.
GZIP_MAGIC = b"\x1f\x8b"
# UTF-16's byte order marks, little- and big-endian (FF FE, FE FF): never the start of UTF-8 text.
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def split_lines(raw: bytes) -> List[bytes]:
    """The lines of a file's bytes, without their line ends (`iter_lines` on the whole file)."""
    return list(iter_lines([raw], b"\n" if b"\n" in raw else b"\r"))


def iter_lines(blocks: Iterable[bytes], line_end: bytes) -> Iterator[bytes]:
    """The lines of a file given as consecutive blocks of its bytes (any sizes), without their line ends,
    streamed: memory for one block and one line.

    Lines are split at `line_end`: `\\n`, or `\\r` for a file without any `\\n` (classic Mac line ends, which
    would otherwise read as one line); U+2028, U+2029 and U+0085 inside a line never split it. A trailing
    `\\r` (CRLF files), NUL bytes, and a UTF-8 byte-order mark at the start are removed. A final line end
    does not add an empty line; blank lines are kept, so the lines of two aligned files stay aligned.
    """
    pending, at_start = b"", True
    for block in blocks:
        pending += block
        if at_start:
            if len(pending) < len(UTF8_BOM) and UTF8_BOM.startswith(pending):
                continue
            if pending.startswith(UTF8_BOM):
                pending = pending[len(UTF8_BOM):]
            at_start = False
        *lines, pending = pending.split(line_end)
        for line in lines:
            yield _without_nul_and_cr(line)
    if pending:
        yield _without_nul_and_cr(pending)


def _without_nul_and_cr(line: bytes) -> bytes:
    line = line.replace(b"\x00", b"")
    return line[:-1] if line.endswith(b"\r") else line


def iter_split_lines(stream: BinaryIO) -> Iterator[bytes]:
    """`split_lines` for a stream (a pipe, stdin): each line as soon as its `\\n` has been read.

    Gives the same lines as `split_lines(stream.read())`. The first `readline` either ends in `\\n` (then
    every line ends at `\\n`, and `iter_lines` splits the stream read line by line) or reaches the end of the
    stream, which then holds no `\\n` at all and is split at `\\r` by `split_lines`: so a classic-Mac stream
    arrives whole, at its end.
    """
    first = stream.readline()
    if not first.endswith(b"\n"):
        yield from split_lines(first)
        return
    yield from iter_lines(itertools.chain([first], iter(stream.readline, b"")), b"\n")
