"""`tfx-nmt translate` streams: each batch's translations are written, in input order, as soon as they are
done (with the echo SavedModel, whose translation of a text is the text: outputs are known exactly)."""
import os
import select
import subprocess
import sys

import pytest

from echo_model import save_echo_model
from processes import REPO
from tfx_nmt.serving.clients import translate_stream


@pytest.fixture(scope="module")
def echo_dir(tmp_path_factory):
    return save_echo_model(str(tmp_path_factory.mktemp("echo") / "1"))


def _read_line(stream, timeout: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no output line within {timeout} s"
    return stream.readline()


def test_first_translation_is_written_before_the_last_batch_is_sent(echo_dir):
    """A slow source: the test is the pipe's writer, and sends the second batch only after it has read
    the first batch's translations, so they cannot have waited for the last batch."""
    process = subprocess.Popen([sys.executable, "-m", "tfx_nmt.cli", "translate", "--model-dir", echo_dir,
                                "--batch-size", "2", "--scores"], bufsize=0,  # raw pipes: select sees every byte
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    try:
        process.stdin.write("A man.\nTwo dogs play.\n".encode())
        first = [_read_line(process.stdout, 300), _read_line(process.stdout, 60)]
        assert first == [b"0.0000\tA man.\n", b"0.0000\tTwo dogs play.\n"]
        assert process.poll() is None  # still waiting for input
        process.stdin.write("A girl.\n".encode())
        process.stdin.close()
        rest = process.stdout.read()
        assert process.wait(timeout=60) == 0, process.stderr.read().decode()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
    assert rest == b"0.0000\tA girl.\n"


def test_translate_stream_sorts_each_window_and_yields_in_input_order():
    calls, consumed = [], []

    def translate(texts):
        calls.append(list(texts))
        return [t.upper() for t in texts], [float(len(t)) for t in texts]

    def source():
        for text in ["ccc", "a", "bb", "dddd", "e", "ff", "g"]:
            consumed.append(text)
            yield text

    chunks = translate_stream(translate, source(), batch_size=2, sort_window=2)
    # The first window (4 texts) sorted by length: "a" and "bb" first; "ccc" (input position 0) is in the
    # second batch, so nothing is ready before it: the first chunk is the whole window, in input order.
    assert next(chunks) == (["CCC", "A", "BB", "DDDD"], [3.0, 1.0, 2.0, 4.0])
    assert calls == [["a", "bb"], ["ccc", "dddd"]] and consumed == ["ccc", "a", "bb", "dddd"]
    # The second window: "e" and "g" first; "e" is ready, "ff" waits for the last batch.
    assert next(chunks) == (["E"], [1.0])
    assert next(chunks) == (["FF", "G"], [2.0, 1.0])
    assert calls[2:] == [["e", "g"], ["ff"]]
    assert list(chunks) == []
    # sort_window 1: batches are the input's consecutive texts, each yielded as soon as it is translated.
    calls.clear()
    assert list(translate_stream(translate, ["ccc", "a", "bb"], batch_size=2)) == [
        (["CCC", "A"], [3.0, 1.0]), (["BB"], [2.0])]
    assert calls == [["a", "ccc"], ["bb"]]
    with pytest.raises(ValueError, match="sort_window must be >= 1"):
        next(translate_stream(translate, ["a"], batch_size=2, sort_window=0))
