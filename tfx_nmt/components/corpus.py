"""Reading an aligned parallel corpus: one sentence a line, line n of the source file translating line n
of the target file (Multi30k's layout: `train|val|test_2016_flickr.{en,de,fr}[.gz]`).

Pure functions used by ParallelCorpusExampleGen; the tests call them directly. Files are read through
`tf.io.gfile`, so `gs://` and other TensorFlow filesystems work as well as local paths.
"""
from __future__ import annotations

import gzip
import io
import zlib
from typing import Dict, List, Sequence, Tuple

import tensorflow as tf

# Split name in the pipeline -> file stem in a Multi30k-style data directory.
SPLIT_FILE_STEMS: Dict[str, str] = {"train": "train", "eval": "val", "test": "test_2016_flickr"}


class CorpusError(ValueError):
    """A corpus file is missing, unreadable, not UTF-8, or not aligned with its pair."""


def find_split_file(data_dir: str, stem: str, language: str) -> str:
    """Returns the path of `<stem>.<language>.gz` or `<stem>.<language>` under `data_dir`.

    Raises:
        CorpusError: when neither exists; the message lists both names tried.
    """
    candidates = [f"{data_dir.rstrip('/')}/{stem}.{language}{ext}" for ext in (".gz", "")]
    for path in candidates:
        if tf.io.gfile.exists(path):
            return path
    raise CorpusError(f"missing corpus file: expected one of {', '.join(candidates)}")


def read_lines(path: str) -> List[str]:
    """Reads a UTF-8 text file, gzip-compressed when its name ends in `.gz`, as a list of lines.

    Lines are split at `\\n` only (U+2028, U+2029 and U+0085 inside a line never split it); a trailing
    `\\r` (CRLF files) and a byte-order mark at the start of the file are removed. A final newline does
    not add an empty line.

    Raises:
        CorpusError: on a truncated or corrupt gzip stream, or bytes that are not UTF-8; the message
            names the file and, for UTF-8 errors, the 1-based line number.
    """
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read()
        except (EOFError, OSError, zlib.error) as e:
            raise CorpusError(f"{path}: not a complete gzip file ({e})") from e
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    byte_lines = raw.split(b"\n")
    if byte_lines and byte_lines[-1] == b"":
        byte_lines.pop()
    lines = []
    for number, line in enumerate(byte_lines, start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise CorpusError(f"{path}:{number}: invalid UTF-8 ({e.reason} at byte {e.start})") from e
    return lines


def read_parallel(source_path: str, target_path: str) -> List[Tuple[str, str]]:
    """Reads two aligned files into (source, target) pairs, in file order.

    Raises:
        CorpusError: when the line counts differ (naming both files and both counts), or as `read_lines`.
    """
    source_lines = read_lines(source_path)
    target_lines = read_lines(target_path)
    if len(source_lines) != len(target_lines):
        raise CorpusError(
            f"line counts differ: {source_path} has {len(source_lines)} lines, "
            f"{target_path} has {len(target_lines)} lines; the files must be aligned line by line"
        )
    return list(zip(source_lines, target_lines))


def read_corpus(
    data_dir: str, source: str, target: str, max_pairs: Dict[str, int]
) -> Dict[str, Sequence[Tuple[str, str]]]:
    """Reads the train, eval and test splits of a Multi30k-style directory.

    Args:
        data_dir: directory holding `<stem>.<language>[.gz]` files for the stems of SPLIT_FILE_STEMS.
        source / target: language codes, the file name suffixes (for example `en`, `de`).
        max_pairs: per split, keep only the first N pairs when N > 0 (for small smoke runs).

    Returns:
        {split: [(source, target), ...]} for `train`, `eval` and `test`.

    Raises:
        CorpusError: as `find_split_file` and `read_parallel`; every file is checked before any is read.
    """
    paths = {
        split: (find_split_file(data_dir, stem, source), find_split_file(data_dir, stem, target))
        for split, stem in SPLIT_FILE_STEMS.items()
    }
    corpus = {}
    for split, (source_path, target_path) in paths.items():
        pairs = read_parallel(source_path, target_path)
        limit = max_pairs.get(split, 0)
        corpus[split] = pairs[:limit] if limit > 0 else pairs
    return corpus
