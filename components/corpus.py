"""Reading a parallel corpus: per split, either two aligned files with one sentence a line (line n of the
source file translates line n of the target file; Multi30k's layout: `train|val|test_2016_flickr.{en,de}[.gz]`)
or one TSV file with `source<TAB>target` per line (`<stem>.<source>-<target>.tsv[.gz]`).

Pure functions used by ParallelCorpusExampleGen; the tests call them directly. Files are read through
`tf.io.gfile`, so `gs://` and other TensorFlow filesystems work as well as local paths.

Bad input is an error naming the file, the 1-based line number and the reason; with
`on_bad_line="drop"` a pair whose line is not UTF-8, or a TSV row without exactly one tab, is dropped
instead and counted (with the first `SAMPLE_SIZE` of them kept for the cleaning report), except in the
test split: scoring a subset of the test set would inflate BLEU, so a bad line there is always an error.
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import os
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from tfx_nmt.components.cleaning import SAMPLE_SIZE
from tfx_nmt.config import ON_BAD_LINE_CHOICES
from tfx_nmt.contract import INGEST_DROP_REASONS, SPLITS
from tfx_nmt.errors import ConfigError, UserError
from tfx_nmt.text.lines import GZIP_MAGIC, split_lines

# Split name in the pipeline -> file stem in a Multi30k-style data directory.
SPLIT_FILE_STEMS: Dict[str, str] = dict(zip(SPLITS, ("train", "val", "test_2016_flickr")))
# The split that is read whole or not at all, and what its bad-line errors tell the user to do.
NEVER_DROPPED_SPLIT = "test"
NEVER_DROPPED_ADVICE = ("the test split is never dropped from, not even with --on-bad-line drop, since scoring a "
                        "subset of the test set would inflate BLEU; fix the file")


class CorpusError(UserError, ValueError):
    """A corpus file is missing, unreadable, not UTF-8, or not aligned with its pair."""


@dataclasses.dataclass
class SplitCorpus:
    """One split as read from disk.

    Attributes:
        paths: the file(s) read: (source file, target file) or (TSV file,).
        pairs: (1-based line number, source, target) of every pair kept, in file order.
        num_lines: lines read (the limit applied), `len(pairs) + sum(dropped.values())`.
        dropped: reason of INGEST_DROP_REASONS -> pairs dropped for it.
        samples: reason -> the first SAMPLE_SIZE dropped pairs as {line, source, target}; bytes that are
            not UTF-8 appear as `\\xNN` escapes.
    """

    paths: Tuple[str, ...]
    pairs: List[Tuple[int, str, str]]
    num_lines: int
    dropped: Dict[str, int]
    samples: Dict[str, List[Dict]]

    def drop(self, reason: str, line: int, source: str, target: str) -> None:
        """Counts one dropped pair, keeping it as a sample while fewer than SAMPLE_SIZE are kept."""
        self.dropped[reason] += 1
        if len(self.samples[reason]) < SAMPLE_SIZE:
            self.samples[reason].append({"line": line, "source": source, "target": target})


def _check_on_bad_line(on_bad_line: str) -> None:
    if on_bad_line not in ON_BAD_LINE_CHOICES:
        raise ConfigError(f"on_bad_line must be one of {', '.join(ON_BAD_LINE_CHOICES)}, got {on_bad_line!r}")


def _candidates(data_dir: str, name: str) -> List[str]:
    return [f"{data_dir.rstrip('/')}/{name}{ext}" for ext in (".gz", "")]


def _first_existing(paths: Sequence[str]) -> Optional[str]:
    """The one of `paths` that is a file (a directory of that name does not count), or None.

    Raises:
        CorpusError: when more than one is (`x.en.gz` and `x.en`): which one is meant is not clear.
    """
    found = [p for p in paths if tf.io.gfile.exists(p) and not tf.io.gfile.isdir(p)]
    if len(found) > 1:
        raise CorpusError(f"both {' and '.join(found)} exist; keep the one the run should read")
    return found[0] if found else None


def find_split_files(data_dir: str, stem: str, source: str, target: str) -> Tuple[str, ...]:
    """The files of one split: (source file, target file) when both exist, else (TSV file,).

    Raises:
        CorpusError: when neither layout is complete, the message listing every name tried; or when a file
            exists both gzipped and plain.
    """
    source_candidates = _candidates(data_dir, f"{stem}.{source}")
    target_candidates = _candidates(data_dir, f"{stem}.{target}")
    tsv_candidates = _candidates(data_dir, f"{stem}.{source}-{target}.tsv")
    source_path, target_path = _first_existing(source_candidates), _first_existing(target_candidates)
    if source_path and target_path:
        return source_path, target_path
    tsv_path = _first_existing(tsv_candidates)
    if tsv_path:
        return (tsv_path,)
    raise CorpusError(
        f"missing corpus files for split {stem!r}: expected one of {', '.join(source_candidates)} and one "
        f"of {', '.join(target_candidates)}, or one of {', '.join(tsv_candidates)}")


def read_raw_lines(path: str) -> List[bytes]:
    """The lines of a file as bytes (`lines.split_lines`), gunzipped when its name ends in `.gz`.

    Raises:
        CorpusError: on a truncated or corrupt gzip stream, gzip data in a file whose name does not end in
            `.gz`, or a `.gz` file compressed twice, naming the file.
    """
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    compressed = path.endswith(".gz")
    if compressed:
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read()
        except (EOFError, OSError, zlib.error) as e:
            raise CorpusError(f"{path}: not a complete gzip file ({e})") from e
    if raw.startswith(GZIP_MAGIC):
        raise CorpusError(f"{path}: gzip-compressed twice; decompress it once" if compressed else
                          f"{path}: holds gzip-compressed data but its name does not end in .gz; rename it "
                          f"{os.path.basename(path)}.gz or decompress it")
    return split_lines(raw)


def decode_line(line: bytes, path: str, number: int, advice: Optional[str] = None) -> str:
    """Decodes one line as UTF-8.

    Args:
        advice: what the error message tells the user to do; default: fix the file or drop such pairs.

    Raises:
        CorpusError: naming `path`, the 1-based line `number`, the reason and the byte offset.
    """
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as e:
        advice = advice or "fix the file or pass --on-bad-line drop to drop such pairs"
        raise CorpusError(f"{path}:{number}: invalid UTF-8 ({e.reason} at byte {e.start}); {advice}") from e


def _decode_or_none(line: bytes, path: str, number: int, on_bad_line: str, advice: Optional[str]) -> Optional[str]:
    try:
        return decode_line(line, path, number, advice)
    except CorpusError:
        if on_bad_line == "drop":
            return None
        raise


def _shown(line: bytes) -> str:
    return line.decode("utf-8", "backslashreplace")


def _empty_split(paths: Tuple[str, ...], num_lines: int) -> SplitCorpus:
    return SplitCorpus(paths=paths, pairs=[], num_lines=num_lines,
                       dropped={r: 0 for r in INGEST_DROP_REASONS}, samples={r: [] for r in INGEST_DROP_REASONS})


def read_paired_files(source_path: str, target_path: str, max_pairs: int = 0,
                      on_bad_line: str = "error", advice: Optional[str] = None) -> SplitCorpus:
    """Reads two aligned files into numbered pairs.

    Args:
        source_path / target_path: the aligned files.
        max_pairs: keep only the first N lines when N > 0 (counts are still checked on whole files).
        on_bad_line: `error`, or `drop` to drop and count a pair whose source or target line is not UTF-8.
        advice: the end of a bad-line error message (see `decode_line`).

    Raises:
        CorpusError: when the line counts differ (naming both files and both counts), or as
            `read_raw_lines` / `decode_line`.
    """
    _check_on_bad_line(on_bad_line)
    source_lines, target_lines = read_raw_lines(source_path), read_raw_lines(target_path)
    if len(source_lines) != len(target_lines):
        raise CorpusError(
            f"line counts differ: {source_path} has {len(source_lines)} lines, "
            f"{target_path} has {len(target_lines)} lines; the files must be aligned line by line"
        )
    if max_pairs > 0:
        source_lines, target_lines = source_lines[:max_pairs], target_lines[:max_pairs]
    split = _empty_split((source_path, target_path), len(source_lines))
    for number, (source_bytes, target_bytes) in enumerate(zip(source_lines, target_lines), start=1):
        source = _decode_or_none(source_bytes, source_path, number, on_bad_line, advice)
        target = _decode_or_none(target_bytes, target_path, number, on_bad_line, advice)
        if source is None or target is None:
            split.drop("invalid_utf8", number, _shown(source_bytes), _shown(target_bytes))
        else:
            split.pairs.append((number, source, target))
    return split


def read_tsv_file(path: str, max_pairs: int = 0, on_bad_line: str = "error",
                  advice: Optional[str] = None) -> SplitCorpus:
    """Reads a `source<TAB>target` file into numbered pairs. A blank line is an empty pair (the cleaner
    drops it from train/eval and counts it as `empty`).

    Args:
        path: the TSV file.
        max_pairs: keep only the first N lines when N > 0.
        on_bad_line: `error`, or `drop` to drop and count rows that are not UTF-8 (`invalid_utf8`) or
            do not have exactly one tab (`tsv_columns`).
        advice: the end of a bad-line error message; default: fix the file or drop such rows.

    Raises:
        CorpusError: as `read_raw_lines` / `decode_line`, and, when rows do not have exactly one tab,
            one error naming the file, how many rows and the line numbers of the first SAMPLE_SIZE.
    """
    _check_on_bad_line(on_bad_line)
    lines = read_raw_lines(path)
    if max_pairs > 0:
        lines = lines[:max_pairs]
    split = _empty_split((path,), len(lines))
    for number, line in enumerate(lines, start=1):
        text = _decode_or_none(line, path, number, on_bad_line, advice)
        if text is None:
            split.drop("invalid_utf8", number, _shown(line), "")
        elif text == "":
            split.pairs.append((number, "", ""))
        elif text.count("\t") != 1:
            split.drop("tsv_columns", number, text, "")
        else:
            source, target = text.split("\t")
            split.pairs.append((number, source, target))
    bad_rows = split.dropped["tsv_columns"]
    if bad_rows and on_bad_line == "error":
        advice = advice or "fix the file or pass --on-bad-line drop to drop such rows"
        raise CorpusError(
            f"{path}: {bad_rows} rows do not have exactly one tab (source<TAB>target), at lines "
            f"{_dropped_lines(split, 'tsv_columns')}; {advice}")
    return split


def read_corpus_splits(data_dir: str, source: str, target: str, max_pairs: Dict[str, int],
                       on_bad_line: str = "error") -> Dict[str, SplitCorpus]:
    """Reads the train, eval and test splits of a data directory (paired files or TSV, per split).

    Args:
        data_dir: directory holding the files of the stems of SPLIT_FILE_STEMS (see `find_split_files`).
        source / target: language codes, the file name suffixes (for example `en`, `de`).
        max_pairs: per split, keep only the first N lines when N > 0 (for small smoke runs).
        on_bad_line: `error` or `drop` (see `read_paired_files` and `read_tsv_file`), for train and eval;
            the test split (NEVER_DROPPED_SPLIT) is always read with `error`, its messages ending in
            NEVER_DROPPED_ADVICE.

    Returns:
        {split: SplitCorpus} for `train`, `eval` and `test`.

    Raises:
        CorpusError: as `find_split_files`, `read_paired_files` and `read_tsv_file`; every split's files
            are found before any is read. Also when a split has no pair left: its files hold no line,
            every line was dropped (the message gives the counts per reason), or every pair is blank.
        ConfigError: for an unknown `on_bad_line` (a ValueError).
    """
    _check_on_bad_line(on_bad_line)
    paths = {split: find_split_files(data_dir, stem, source, target) for split, stem in SPLIT_FILE_STEMS.items()}
    corpus = {}
    for split, files in paths.items():
        policy = {"max_pairs": max_pairs.get(split, 0), "on_bad_line": on_bad_line}
        if split == NEVER_DROPPED_SPLIT:
            policy.update(on_bad_line="error", advice=NEVER_DROPPED_ADVICE)
        corpus[split] = (read_paired_files(*files, **policy) if len(files) == 2
                         else read_tsv_file(files[0], **policy))
        _check_not_empty(split, corpus[split], policy["max_pairs"])
    return corpus


def _dropped_lines(split: SplitCorpus, reason: str) -> str:
    """The line numbers of the pairs `split` dropped for `reason`, as "3, 8, 12", the first SAMPLE_SIZE
    followed by " (first N)" when more were dropped."""
    samples = split.samples[reason]
    more = f" (first {len(samples)})" if split.dropped[reason] > len(samples) else ""
    return ", ".join(str(sample["line"]) for sample in samples) + more


def _check_not_empty(split: str, entry: SplitCorpus, max_pairs: int) -> None:
    """Raises CorpusError when `entry` kept no pair, or only blank ones: every split is needed (train to
    train on, eval to validate on, test to score). The message names the files and, per drop reason, the
    count and the first line numbers (up to SAMPLE_SIZE), and says when only the first `max_pairs` lines
    were read."""
    if any(source.strip() or target.strip() for _, source, target in entry.pairs):
        return
    files = " and ".join(entry.paths)
    first = "first line was" if max_pairs == 1 else f"first {max_pairs} lines were"
    limit = f" (only the {first} read: the run's limit of {split} pairs)" if 0 < max_pairs == entry.num_lines else ""
    if entry.pairs:
        raise CorpusError(f"{files}: no pair of the {split} split has any text{limit}; it needs at least one "
                          f"pair: fix the files")
    if not entry.num_lines:
        raise CorpusError(f"{files}: no lines; the {split} split needs at least one pair")
    reasons = "; ".join(f"{reason} {count}, at line{'s' if count > 1 else ''} {_dropped_lines(entry, reason)}"
                        for reason, count in entry.dropped.items() if count)
    lines = "its only line was" if entry.num_lines == 1 else f"all {entry.num_lines} lines were"
    raise CorpusError(f"{files}: {lines} dropped from the {split} split{limit} ({reasons}); it needs at least "
                      f"one pair: fix the files")

