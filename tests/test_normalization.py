import pytest
import tensorflow as tf

from tfx_nmt.text.normalization import normalize, normalize_tf

CASES = [
    ("  Ein  Mann\tim\u00a0Café ", "Ein Mann im Café"),
    ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # NFC composes e + combining acute.
    ("a\u2028b\u2029c\u0085d", "a b c d"),  # Line/paragraph separators and NEL are whitespace.
    ("nul\x00byte\x07bell\x7f", "nulbytebell"),  # Control characters are removed.
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
