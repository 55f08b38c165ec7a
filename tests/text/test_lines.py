"""`tfx_nmt.text.lines`: the streaming line reader gives exactly the lines of the whole-file reader."""
import io
import os
import threading

from hypothesis import given, settings, strategies as st

from tfx_nmt.text.lines import iter_split_lines, split_lines

# The bytes the line rules care about, and two ordinary ones.
_PIECES = st.sampled_from([b"\n", b"\r", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"a", "ü".encode(), b"\xe2\x80\xa8"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_iter_split_lines_equals_split_lines(pieces):
    raw = b"".join(pieces)
    assert list(iter_split_lines(io.BytesIO(raw))) == split_lines(raw)


def test_iter_split_lines_yields_a_line_before_the_stream_ends():
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb") as writer:
        writer.write(b"\xef\xbb\xbfA man.\r\n")
        writer.flush()
        lines = iter_split_lines(reader)
        assert next(lines) == b"A man."  # The writer is still open: nothing after this line exists yet.
        threading.Timer(0.1, lambda: (writer.write(b"Two dogs.\n"), writer.close())).start()
        assert list(lines) == [b"Two dogs."]
