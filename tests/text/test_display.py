"""Durations as progress lines show them."""
from tfx_nmt.text.display import format_duration


def test_format_duration():
    assert [format_duration(s) for s in (0, 17.4, 245, 3725)] == ["0s", "17s", "4m 05s", "1h 02m"]
