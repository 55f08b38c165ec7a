import gzip

import pytest

from tfx_nmt.components import corpus


def _write(path, data: bytes, compress=False):
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return str(path)


def test_read_lines_plain_and_gzip_agree(tmp_path):
    data = "Ein Mann.\nZwei Frauen.\n".encode()
    assert corpus.read_lines(_write(tmp_path / "a.de", data)) == ["Ein Mann.", "Zwei Frauen."]
    assert corpus.read_lines(_write(tmp_path / "a.de.gz", data, compress=True)) == ["Ein Mann.", "Zwei Frauen."]


def test_read_lines_splits_on_newline_only(tmp_path):
    data = "\ufeffa\u2028b\r\nc\u0085d\u2029e\n\n".encode()
    # BOM removed, CRLF handled, U+2028/U+0085/U+2029 stay inside their line, a blank line is kept.
    assert corpus.read_lines(_write(tmp_path / "x.en", data)) == ["a\u2028b", "c\u0085d\u2029e", ""]


def test_mismatched_line_counts_name_both_files_and_counts(tmp_path):
    source = _write(tmp_path / "train.en", b"one\ntwo\nthree\n")
    target = _write(tmp_path / "train.de", b"eins\nzwei\n")
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_parallel(source, target)
    message = str(error.value)
    assert source in message and target in message
    assert "3 lines" in message and "2 lines" in message


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = _write(tmp_path / "bad.en", b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(corpus.CorpusError, match=r"bad\.en:3: invalid UTF-8"):
        corpus.read_lines(path)


def test_truncated_gzip_names_file(tmp_path):
    data = gzip.compress(("x" * 1000 + "\n").encode() * 50)
    path = _write(tmp_path / "cut.en.gz", data[: len(data) // 2])
    with pytest.raises(corpus.CorpusError, match=r"cut\.en\.gz: not a complete gzip file"):
        corpus.read_lines(path)


def test_missing_split_file_lists_expected_names(tmp_path):
    with pytest.raises(corpus.CorpusError) as error:
        corpus.find_split_file(str(tmp_path), "val", "de")
    assert "val.de.gz" in str(error.value) and "val.de," not in str(error.value)


def test_read_corpus_multi30k(data_dir):
    pairs = corpus.read_corpus(data_dir, "en", "de", {"train": 5})
    assert {split: len(p) for split, p in pairs.items()} == {"train": 5, "eval": 1014, "test": 1000}
    assert pairs["train"][0] == (
        "Two young, White males are outside near many bushes.",
        "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.")
