"""What a line is, in every text file the project reads: corpus files and `tfx-nmt translate --input`."""
from __future__ import annotations

import codecs
from typing import List

UTF8_BOM = b"\xef\xbb\xbf"
# The first two bytes of every gzip member (RFC 1952, section 2.3.1); never the start of UTF-8 text.
GZIP_MAGIC = b"\x1f\x8b"
# UTF-16's byte order marks, little- and big-endian (FF FE, FE FF): never the start of UTF-8 text.
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def split_lines(raw: bytes) -> List[bytes]:
    """The lines of a file's bytes, without their line ends.

    Lines are split at `\\n` only (U+2028, U+2029 and U+0085 inside a line never split it), or at `\\r` in
    a file without any `\\n` (classic Mac line ends, which would otherwise read as one line); a trailing
    `\\r` (CRLF files), NUL bytes, and a UTF-8 byte-order mark at the start are removed. A final line end
    does not add an empty line; blank lines are kept, so the lines of two aligned files stay aligned.
    """
    if raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    line_end = b"\n" if b"\n" in raw else b"\r"
    lines = raw.replace(b"\x00", b"").split(line_end)
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]
