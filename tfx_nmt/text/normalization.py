"""Text normalization shared by the cleaning component and the serving graph.

One definition, two implementations that must agree character for character: `normalize` in Python
(used by TextCleaner in Beam) and `normalize_tf` in TensorFlow (used inside the exported SavedModel, so
that raw text sent to TF Serving is normalized the way the training data was). Both are built from the
same two character sets, both taken from Python's `unicodedata`:

1. Control characters other than whitespace (category Cc, NUL included) are removed.
2. Unicode NFC (canonical composition, https://unicode.org/reports/tr15/). After step 1, so that a mark
   that a removed control character separated from its base composes with it: the result is NFC and
   normalizing it again changes nothing.
3. Whitespace characters (`str.isspace()`: ASCII whitespace, U+001C..U+001F, U+0085 and the
   separators Zs/Zl/Zp) become a space; runs of them collapse to one space; leading and trailing
   spaces are stripped.

Known difference: the ICU inside tensorflow_text predates Unicode 13, which Python 3.10's `unicodedata`
follows, so NFC composes ten code points assigned in Unicode 13 (combining marks such as U+1ABF, U+1AC0,
and the Dives Akuru vowel sign U+11930 with U+11935) in Python only; none occurs in Multi30k.

The two sets are written out below as ranges rather than computed at import: scanning all 1,114,112
code points took 0.5 s, paid by every process that imports this module, every Beam worker included.
`tests/text/test_normalization.py` recomputes both from `unicodedata` and checks they still agree.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterator, Tuple

# Inclusive (first, last) code point ranges, as of Unicode 13.0 (Python 3.10's unicodedata).
WHITESPACE_RANGES: Tuple[Tuple[int, int], ...] = (
    (0x09, 0x0D), (0x1C, 0x20), (0x85, 0x85), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000),
)
CONTROL_RANGES: Tuple[Tuple[int, int], ...] = ((0x00, 0x08), (0x0E, 0x1B), (0x7F, 0x84), (0x86, 0x9F))


def codepoints(ranges: Tuple[Tuple[int, int], ...]) -> Iterator[int]:
    """The code points of inclusive (first, last) ranges, in order."""
    for first, last in ranges:
        yield from range(first, last + 1)


def _python_class(ranges) -> str:
    return "[" + "".join(f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last in ranges) + "]"


def _re2_class(ranges) -> str:
    return "[" + "".join(f"\\x{{{first:04x}}}-\\x{{{last:04x}}}" for first, last in ranges) + "]"


_PY_WHITESPACE = re.compile(_python_class(WHITESPACE_RANGES) + "+")
_PY_CONTROL = re.compile(_python_class(CONTROL_RANGES))
RE2_WHITESPACE = _re2_class(WHITESPACE_RANGES) + "+"
RE2_CONTROL = _re2_class(CONTROL_RANGES)


def normalize(text: str) -> str:
    """Returns `text` with control characters removed, in NFC, whitespace collapsed and stripped."""
    text = _PY_CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    return _PY_WHITESPACE.sub(" ", text).strip(" ")


def normalize_tf(text):
    """TensorFlow twin of `normalize`, for the serving graph.

    Args:
        text: a tf.string tensor of any shape, UTF-8.

    Returns:
        A tf.string tensor of the same shape. Uses tensorflow_text's `NormalizeUTF8` op (linked into
        TF Serving) and core `StaticRegexReplace`/`RegexReplace` ops.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    text = tf.strings.regex_replace(text, RE2_CONTROL, "")
    text = tf_text.normalize_utf8(text, "NFC")
    text = tf.strings.regex_replace(text, RE2_WHITESPACE, " ")
    return tf.strings.regex_replace(text, r"^ +| +$", "")
