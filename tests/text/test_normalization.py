import sys
import unicodedata

import pytest
import tensorflow as tf

from tfx_nmt.text.normalization import CONTROL_RANGES, WHITESPACE_RANGES, codepoints, normalize, normalize_tf

CASES = [
    ("  Ein  Mann\tim\u00a0Café ", "Ein Mann im Café"),
    ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # NFC composes e + combining acute.
    ("a\u2028b\u2029c\u0085d", "a b c d"),  # Line/paragraph separators and NEL are whitespace.
    ("nul\x00byte\x07bell\x7f", "nulbytebell"),  # Control characters are removed.
    ("a\x01\u0301 e\x00\u0301", "\u00e1 \u00e9"),  # ... before NFC, so the marks compose: idempotent.
    ("crlf\r\n", "crlf"),
    ("hello 😀 world", "hello 😀 world"),
    ("zero\u200bwidth", "zero\u200bwidth"),  # U+200B is a format character (Cf), kept.
    ("", ""),
    (" \t \n ", ""),
]


@pytest.mark.parametrize("raw, expected", CASES)
def test_python_normalization(raw, expected):
    assert normalize(raw) == expected


def test_tensorflow_normalization_matches_python():
    raws = [raw for raw, _ in CASES] + ["Zwei junge Männer\u3000stehen", "\ufeffBOM inside", "ไทย  ภาษา"]
    got = [t.decode("utf-8") for t in normalize_tf(tf.constant(raws)).numpy()]
    assert got == [normalize(r) for r in raws]


def test_character_ranges_match_unicodedata():
    """The written-out ranges are exactly the sets Python's unicodedata gives, over every code point."""
    every = [chr(c) for c in range(sys.maxunicode + 1)]
    whitespace = [ord(c) for c in every if c.isspace()]
    control = [ord(c) for c in every if unicodedata.category(c) == "Cc" and not c.isspace()]
    assert list(codepoints(WHITESPACE_RANGES)) == whitespace
    assert list(codepoints(CONTROL_RANGES)) == control
    assert len(whitespace) == 29 and len(control) == 55


def test_both_implementations_treat_every_range_character_alike():
    """Each whitespace and control character, and its neighbours, between two letters: both
    implementations give the same text (a space, nothing, or the character kept)."""
    edges = {c + delta for first, last in WHITESPACE_RANGES + CONTROL_RANGES for c in (first, last)
             for delta in (-1, 0, 1)} | set(codepoints(WHITESPACE_RANGES + CONTROL_RANGES))
    raws = [f"a{chr(c)}b" for c in sorted(edges) if 0 <= c < 0xD800 or c > 0xDFFF]
    got = [t.decode("utf-8") for t in normalize_tf(tf.constant(raws)).numpy()]
    assert got == [normalize(r) for r in raws]
    assert normalize("a\u3000b") == "a b" and normalize("a\x1bb") == "ab" and normalize("a\u00a1b") == "a\u00a1b"
