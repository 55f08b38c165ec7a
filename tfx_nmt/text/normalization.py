"""Text normalization shared by the cleaning component and the serving graph.

One definition, two implementations that must agree character for character: `normalize` in Python
(used by TextCleaner in Beam) and `normalize_tf` in TensorFlow (used inside the exported SavedModel, so
that raw text sent to TF Serving is normalized the way the training data was). Both are built from the
same two character sets, computed once from Python's `unicodedata`:

1. Unicode NFC (canonical composition, https://unicode.org/reports/tr15/).
2. Whitespace characters (`str.isspace()`: ASCII whitespace, U+001C..U+001F, U+0085 and the
   separators Zs/Zl/Zp) become a space; runs of them collapse to one space; leading and trailing
   spaces are stripped.
3. Other control characters (category Cc, NUL included) are removed.
"""
from __future__ import annotations

import re
import sys
import unicodedata

WHITESPACE_CODEPOINTS = tuple(c for c in range(sys.maxunicode + 1) if chr(c).isspace())
CONTROL_CODEPOINTS = tuple(
    c for c in range(sys.maxunicode + 1)
    if unicodedata.category(chr(c)) == "Cc" and c not in WHITESPACE_CODEPOINTS
)


def _python_class(codepoints) -> str:
    return "[" + "".join(re.escape(chr(c)) for c in codepoints) + "]"


def _re2_class(codepoints) -> str:
    return "[" + "".join(f"\\x{{{c:04x}}}" for c in codepoints) + "]"


_PY_WHITESPACE = re.compile(_python_class(WHITESPACE_CODEPOINTS) + "+")
_PY_CONTROL = re.compile(_python_class(CONTROL_CODEPOINTS))
RE2_WHITESPACE = _re2_class(WHITESPACE_CODEPOINTS) + "+"
RE2_CONTROL = _re2_class(CONTROL_CODEPOINTS)


def normalize(text: str) -> str:
    """Returns `text` in NFC with control characters removed and whitespace collapsed and stripped."""
    text = unicodedata.normalize("NFC", text)
    text = _PY_CONTROL.sub("", text)
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

    text = tf_text.normalize_utf8(text, "NFC")
    text = tf.strings.regex_replace(text, RE2_CONTROL, "")
    text = tf.strings.regex_replace(text, RE2_WHITESPACE, " ")
    return tf.strings.regex_replace(text, r"^ +| +$", "")
