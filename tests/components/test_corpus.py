import gzip

import pytest

from corpora import read_corpus
from tfx_nmt.components import corpus


def _paired(source, target, **policy):
    """(pairs, SplitIngest) of `corpus.read_paired_files` read to the end."""
    ingest = corpus.SplitIngest((source, target))
    return list(corpus.read_paired_files(source, target, ingest, **policy)), ingest


def _tsv(path, **policy):
    """(pairs, SplitIngest) of `corpus.read_tsv_file` read to the end."""
    ingest = corpus.SplitIngest((path,))
    return list(corpus.read_tsv_file(path, ingest, **policy)), ingest


def _write(path, data: bytes, compress=False):
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return str(path)


def test_plain_and_gzip_agree(tmp_path):
    data = "Ein Mann.\nZwei Frauen.\n".encode()
    assert corpus.read_raw_lines(_write(tmp_path / "a.de", data)) == [b"Ein Mann.", b"Zwei Frauen."]
    assert corpus.read_raw_lines(_write(tmp_path / "a.de.gz", data, compress=True)) == [
        b"Ein Mann.", b"Zwei Frauen."]


def test_splits_on_newline_only_bom_crlf_nul(tmp_path):
    source = _write(tmp_path / "x.en", "\ufeffa\u2028b\r\nc\u0085d\u2029e\n\nN\x00U\x00L\r\n".encode())
    target = _write(tmp_path / "x.de", b"1\n2\n3\n4\n")
    # BOM removed, CRLF handled, U+2028/U+0085/U+2029 stay inside their line, the blank line is kept
    # (alignment holds), NUL bytes are removed.
    assert _paired(source, target)[0] == [
        (1, "a\u2028b", "1"), (2, "c\u0085d\u2029e", "2"), (3, "", "3"), (4, "NUL", "4")]


def test_mismatched_line_counts_name_both_files_and_counts(tmp_path):
    source = _write(tmp_path / "train.en", b"one\ntwo\nthree\n")
    target = _write(tmp_path / "train.de", b"eins\nzwei\n")
    with pytest.raises(corpus.CorpusError) as error:
        _paired(source, target, max_pairs=1)  # Counts are checked on the whole files.
    assert str(error.value) == (
        f"line counts differ: {source} has 3 lines, {target} has 2 lines; "
        "the files must be aligned line by line")


def test_invalid_utf8_names_file_and_line(tmp_path):
    source = _write(tmp_path / "bad.en", b"fine\nalso fine\nbad \xff byte\n")
    target = _write(tmp_path / "bad.de", b"gut\nauch gut\nschlecht\n")
    with pytest.raises(corpus.CorpusError) as error:
        _paired(source, target)
    assert str(error.value) == (
        f"{source}:3: invalid UTF-8 (invalid start byte at byte 4); "
        "fix the file or pass --on-bad-line drop to drop such pairs")


def test_invalid_utf8_dropped_and_counted(tmp_path):
    source = _write(tmp_path / "bad.en", b"fine\n\xc3(\nok\nalso ok\n")
    target = _write(tmp_path / "bad.de", b"gut\nschlecht\n\xe2\x82\nauch ok\n")
    pairs, split = _paired(source, target, on_bad_line="drop")
    assert pairs == [(1, "fine", "gut"), (4, "also ok", "auch ok")]
    assert split.num_lines == 4
    assert split.dropped == {"invalid_utf8": 2, "tsv_columns": 0}
    assert split.samples["invalid_utf8"] == [
        {"line": 2, "source": "\\xc3(", "target": "schlecht"},
        {"line": 3, "source": "ok", "target": "\\xe2\\x82"}]


def test_cr_only_line_ends_split_lines_as_lf_does(tmp_path):
    mac = corpus.read_raw_lines(_write(tmp_path / "mac.en", b"A man.\r\rTwo dogs.\r"))
    assert mac == corpus.read_raw_lines(_write(tmp_path / "unix.en", b"A man.\n\nTwo dogs.\n"))
    assert mac == [b"A man.", b"", b"Two dogs."]
    # With any LF in the file, CR is not a line end (a CR inside a line stays in it).
    assert corpus.read_raw_lines(_write(tmp_path / "mixed.en", b"a\rb\nc\r\n")) == [b"a\rb", b"c"]


def test_line_counts_are_compared_whichever_file_is_longer(tmp_path):
    short, long = _write(tmp_path / "s.en", b"a\n"), _write(tmp_path / "l.de", b"x\ny\nz\n")
    for source, target, counts in ((short, long, (1, 3)), (long, short, (3, 1))):
        with pytest.raises(corpus.CorpusError) as error:
            _paired(source, target)
        assert str(error.value) == (f"line counts differ: {source} has {counts[0]} lines, {target} has "
                                    f"{counts[1]} lines; the files must be aligned line by line")


def test_streamed_lines_across_read_blocks_match_whole_file_splitting(tmp_path, monkeypatch):
    # Blocks of 3 bytes cut the BOM, CRLF pairs and lines apart: the lines are those of the whole file.
    monkeypatch.setattr(corpus, "READ_BLOCK_BYTES", 3)
    data = "\ufeffEin Mann.\r\nZwei\x00 Frauen.\r\n\nDrei.".encode()
    assert corpus.read_raw_lines(_write(tmp_path / "a.de", data)) == [b"Ein Mann.", b"Zwei Frauen.", b"", b"Drei."]
    assert corpus.read_raw_lines(_write(tmp_path / "a.de.gz", data, compress=True)) == [
        b"Ein Mann.", b"Zwei Frauen.", b"", b"Drei."]
    assert corpus.read_raw_lines(_write(tmp_path / "bom.de", b"\xef\xbb\xbf")) == []


def test_truncated_gzip_names_file(tmp_path):
    data = gzip.compress(("x" * 1000 + "\n").encode() * 50)
    path = _write(tmp_path / "cut.en.gz", data[: len(data) // 2])
    with pytest.raises(corpus.CorpusError, match=r"^.*cut\.en\.gz: not a complete gzip file"):
        corpus.read_raw_lines(path)


def test_missing_split_file_names_pattern_directory_and_what_it_matched(tmp_path):
    _write(tmp_path / "val.en", b"a\n")
    d = str(tmp_path)
    with pytest.raises(corpus.CorpusError) as error:
        corpus.find_split_files(d, "val.*", "en", "de", "eval")
    assert str(error.value) == (
        f"missing corpus files for split 'eval': pattern 'val.*' under {d} matches val.en; expected a file "
        "ending in .en or .en.gz and one ending in .de or .de.gz, or one ending in .en-de.tsv or .en-de.tsv.gz")
    with pytest.raises(corpus.CorpusError, match=f"pattern 'valid.*' under {d} matches no file;"):
        corpus.find_split_files(d, "valid.*", "en", "de", "eval")


def test_a_directory_is_not_a_corpus_file_and_two_spellings_are_ambiguous(tmp_path):
    d = str(tmp_path)
    (tmp_path / "val.en").mkdir()
    _write(tmp_path / "val.de", b"a\n")
    _write(tmp_path / "val.fr", b"un\n")  # Another language's file matches the pattern too: not read.
    with pytest.raises(corpus.CorpusError, match="missing corpus files for split 'eval'"):
        corpus.find_split_files(d, "val.*", "en", "de", "eval")
    _write(tmp_path / "val.en.gz", b"a\n", compress=True)
    assert corpus.find_split_files(d, "val.*", "en", "de", "eval") == (f"{d}/val.en.gz", f"{d}/val.de")
    _write(tmp_path / "val.de.gz", b"b\n", compress=True)
    with pytest.raises(corpus.CorpusError) as error:
        corpus.find_split_files(d, "val.*", "en", "de", "eval")
    assert str(error.value) == f"both {d}/val.de and {d}/val.de.gz exist; keep the one the run should read"


def test_a_pattern_matching_several_files_of_one_language_asks_for_a_narrower_pattern(tmp_path):
    d = str(tmp_path)
    for name in ("train.en.gz", "train.de.gz", "val.en", "val.de"):
        _write(tmp_path / name, b"a\n", compress=name.endswith(".gz"))
    with pytest.raises(corpus.CorpusError) as error:
        corpus.find_split_files(d, "*", "en", "de", "train")
    assert str(error.value) == (f"split 'train': pattern '*' matches 2 files ending in .en or .en.gz ({d}/train.en.gz, "
                                f"{d}/val.en); narrow --train-pattern to match one")


def test_tsv_input(tmp_path):
    path = _write(tmp_path / "train.en-de.tsv", "A dog.\tEin Hund.\r\n\nTwo\tcats.\tZwei\n".encode())
    with pytest.raises(corpus.CorpusError) as error:
        _tsv(path)
    assert str(error.value) == (
        f"{path}: 1 rows do not have exactly one tab (source<TAB>target), at lines 3; "
        "fix the file or pass --on-bad-line drop to drop such rows")
    pairs, split = _tsv(path, on_bad_line="drop")
    # A blank line is an empty pair: the cleaner drops and counts it; alignment is kept.
    assert pairs == [(1, "A dog.", "Ein Hund."), (2, "", "")]
    assert split.dropped == {"invalid_utf8": 0, "tsv_columns": 1}
    assert split.samples["tsv_columns"] == [{"line": 3, "source": "Two\tcats.\tZwei", "target": ""}]


def test_tsv_bad_rows_report_first_20_line_numbers(tmp_path):
    rows = [f"s{i}\tt{i}" if i % 2 else f"no tab {i}" for i in range(1, 61)]
    path = _write(tmp_path / "train.en-de.tsv.gz", "\n".join(rows).encode(), compress=True)
    with pytest.raises(corpus.CorpusError) as error:
        _tsv(path)
    numbers = ", ".join(str(n) for n in range(2, 42, 2))
    assert f": 30 rows do not have exactly one tab (source<TAB>target), at lines {numbers} (first 20);" \
        in str(error.value)
    pairs, split = _tsv(path, on_bad_line="drop")
    assert split.dropped["tsv_columns"] == 30 and len(pairs) == 30 and split.num_lines == 60
    assert [s["line"] for s in split.samples["tsv_columns"]] == list(range(2, 42, 2))


def test_split_layouts_mix_and_limits(tmp_path):
    for stem in ("train", "test_2016_flickr"):
        _write(tmp_path / f"{stem}.en", b"a\nb\nc\n")
        _write(tmp_path / f"{stem}.de.gz", b"x\ny\nz\n", compress=True)
    _write(tmp_path / "val.en-de.tsv", b"p\tq\n")
    splits = corpus.read_corpus_splits(str(tmp_path), "en", "de", {"train": 2})
    assert splits["train"].pairs == [(1, "a", "x"), (2, "b", "y")]
    assert splits["eval"].ingest.paths == (str(tmp_path / "val.en-de.tsv"),)
    assert splits["eval"].pairs == [(1, "p", "q")]
    assert len(splits["test"].pairs) == 3
    with pytest.raises(ValueError, match="on_bad_line must be one of error, drop, got 'skip'"):
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line="skip")


def test_read_corpus_multi30k(data_dir):
    pairs = read_corpus(data_dir, "en", "de", {"train": 5})
    assert {split: len(p) for split, p in pairs.items()} == {"train": 5, "eval": 1014, "test": 1000}
    assert pairs["train"][0] == (
        "Two young, White males are outside near many bushes.",
        "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.")


def test_bad_lines_in_the_test_split_are_errors_even_when_dropping(tmp_path):
    for stem in ("train", "val"):
        _write(tmp_path / f"{stem}.en", b"a\nb\n")
        _write(tmp_path / f"{stem}.de", b"x\ny\n")
    source = _write(tmp_path / "test_2016_flickr.en", b"fine\nalso fine\nbad \xff byte\n")
    _write(tmp_path / "test_2016_flickr.de", b"gut\nauch gut\nschlecht\n")
    never_dropped = ("the test split is never dropped from, not even with --on-bad-line drop, since scoring a "
                     "subset of the test set would inflate BLEU; fix the file")
    for on_bad_line in ("drop", "error"):
        with pytest.raises(corpus.CorpusError) as error:
            corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line=on_bad_line)
        assert str(error.value) == f"{source}:3: invalid UTF-8 (invalid start byte at byte 4); {never_dropped}"
    # A test split given as TSV: a row without exactly one tab is an error too.
    for name in ("test_2016_flickr.en", "test_2016_flickr.de"):
        (tmp_path / name).unlink()
    tsv = _write(tmp_path / "test_2016_flickr.en-de.tsv", b"A dog.\tEin Hund.\nno tab\n")
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line="drop")
    assert str(error.value) == (
        f"{tsv}: 1 rows do not have exactly one tab (source<TAB>target), at lines 2; {never_dropped}")
    # The same kinds of bad line in train and eval are dropped and counted.
    _write(tmp_path / "test_2016_flickr.en-de.tsv", b"A dog.\tEin Hund.\n")
    _write(tmp_path / "train.en", b"a\nb \xff\n")
    _write(tmp_path / "val.de", b"x\ny \xff\n")
    splits = corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line="drop")
    assert {split: (entry.pairs, entry.ingest.dropped["invalid_utf8"]) for split, entry in splits.items()} == {
        "train": ([(1, "a", "x")], 1), "eval": ([(1, "a", "x")], 1), "test": ([(1, "A dog.", "Ein Hund.")], 0)}


def test_a_split_without_pairs_is_an_error_naming_files_and_counts(tmp_path):
    for stem in ("val", "test_2016_flickr"):
        _write(tmp_path / f"{stem}.en", b"a\n")
        _write(tmp_path / f"{stem}.de", b"x\n")
    source = _write(tmp_path / "train.en", b"bad \xff\nalso \xfe\n")
    target = _write(tmp_path / "train.de", b"schlecht\nauch\n")
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line="drop")
    assert str(error.value) == (f"{source} and {target}: all 2 lines were dropped from the train split "
                                "(invalid_utf8 2, at lines 1, 2); it needs at least one pair: fix the files")
    _write(tmp_path / "train.en", b"bad \xff\n" * 25)
    _write(tmp_path / "train.de", b"schlecht\n" * 25)
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line="drop")
    numbers = ", ".join(str(n) for n in range(1, 21))
    assert f"(invalid_utf8 25, at lines {numbers} (first 20));" in str(error.value)
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {"train": 1}, on_bad_line="drop")
    assert f"{source} and {target}: its only line was dropped from the train split (only the first line was " \
        "read: the run's limit of train pairs) (invalid_utf8 1, at line 1);" in str(error.value)
    _write(tmp_path / "train.en", b"\n \n\x00\n\t\n")
    _write(tmp_path / "train.de", "\n\u3000\n\n\n".encode())
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {}, on_bad_line="drop")
    assert str(error.value) == (f"{source} and {target}: no pair of the train split has any text; it needs at "
                                "least one pair: fix the files")
    (tmp_path / "train.en").unlink()
    (tmp_path / "train.de").unlink()
    tsv = _write(tmp_path / "train.en-de.tsv", b"")
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_corpus_splits(str(tmp_path), "en", "de", {})
    assert str(error.value) == f"{tsv}: no lines; the train split needs at least one pair"


def test_gzip_data_under_a_plain_name_or_compressed_twice_is_named_as_such(tmp_path):
    path = _write(tmp_path / "train.en", b"A dog.\n", compress=True)
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_raw_lines(path)
    assert str(error.value) == (f"{path}: holds gzip-compressed data but its name does not end in .gz; rename it "
                                "train.en.gz or decompress it")
    twice = _write(tmp_path / "train.de.gz", gzip.compress(b"Ein Hund.\n"), compress=True)
    with pytest.raises(corpus.CorpusError) as error:
        corpus.read_raw_lines(twice)
    assert str(error.value) == f"{twice}: gzip-compressed twice; decompress it once"
