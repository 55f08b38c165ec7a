"""Reading a parallel corpus: per split, either two aligned files with one sentence a line (line n of the
source file translates line n of the target file; Multi30k's layout: `train|val|test_2016_flickr.{en,de}[.gz]`)
or one TSV file with `source<TAB>target` per line (`<stem>.<source>-<target>.tsv[.gz]`).

The files of a split are those its split pattern (a glob under the input base, as TFX's file-based
ExampleGen takes it, `{SPAN}` and `{VERSION}` already resolved) matches: `find_split_files` picks the
source and target files, or the TSV file, among them. Lines are streamed: `SplitReader` yields one
numbered pair at a time, reading each file in blocks of READ_BLOCK_BYTES, and counts what it drops as it
goes, so a split of any size needs memory for one block and one line. Files are read through Beam's
filesystems (local paths, `gs://` and the others Beam knows); this module imports neither TensorFlow nor
TFX, since Beam worker processes import it (`ingest_pipeline`).

Bad input is an error naming the file, the 1-based line number and the reason; with
`on_bad_line="drop"` a pair whose line is not UTF-8, or a TSV row without exactly one tab, is dropped
instead and counted (with the first `SAMPLE_SIZE` of them kept for the cleaning report), except in the
test split: scoring a subset of the test set would inflate BLEU, so a bad line there is always an error.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import gzip
import itertools
import os
import posixpath
import re
import zlib
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from tfx_nmt.components.cleaning import SAMPLE_SIZE
from tfx_nmt.config import ON_BAD_LINE_CHOICES, RunConfig
from tfx_nmt.contract import EXTRA_TEST_STEM, INGEST_DROP_REASONS, is_test_split
from tfx_nmt.errors import ConfigError, UserError
from tfx_nmt.text.lines import GZIP_MAGIC, iter_lines

# The split patterns of a Multi30k-style data directory (`train.*`, `val.*`, `test_2016_flickr.*`): RunConfig's.
DEFAULT_SPLIT_PATTERNS: Dict[str, str] = RunConfig().split_patterns()
# What the bad-line errors of a test split (read whole or not at all, `contract.is_test_split`) tell the user.
NEVER_DROPPED_ADVICE = ("the test split is never dropped from, not even with --on-bad-line drop, since scoring a "
                        "subset of the test set would inflate BLEU; fix the file")
# Bytes read (after gunzipping) per step when streaming a corpus file.
READ_BLOCK_BYTES = 1 << 20
# A numbered pair: (1-based line number, source, target).
Pair = Tuple[int, str, str]


class CorpusError(UserError, ValueError):
    """A corpus file is missing, unreadable, not UTF-8, or not aligned with its pair."""


@dataclasses.dataclass
class SplitIngest:
    """What reading one split found, counted while its pairs stream by.

    Attributes:
        paths: the file(s) read: (source file, target file) or (TSV file,).
        num_lines: lines read (the limit applied), `kept + sum(dropped.values())`.
        kept: pairs yielded.
        has_text: whether any pair yielded has a non-blank side.
        dropped: reason of INGEST_DROP_REASONS -> pairs dropped for it.
        samples: reason -> the first SAMPLE_SIZE dropped pairs as {line, source, target}; bytes that are
            not UTF-8 appear as `\\xNN` escapes.
    """

    paths: Tuple[str, ...]
    num_lines: int = 0
    kept: int = 0
    has_text: bool = False
    dropped: Dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(INGEST_DROP_REASONS, 0))
    samples: Dict[str, List[Dict]] = dataclasses.field(
        default_factory=lambda: {reason: [] for reason in INGEST_DROP_REASONS})

    def drop(self, reason: str, line: int, source: str, target: str) -> None:
        """Counts one dropped pair, keeping it as a sample while fewer than SAMPLE_SIZE are kept."""
        self.dropped[reason] += 1
        if len(self.samples[reason]) < SAMPLE_SIZE:
            self.samples[reason].append({"line": line, "source": source, "target": target})

    def keep(self, source: str, target: str) -> None:
        """Counts one pair yielded."""
        self.kept += 1
        self.has_text = self.has_text or bool(source.strip() or target.strip())

    def report(self) -> Dict:
        """{files, lines, dropped, samples}: the split's entry of the ingest report."""
        return {"files": list(self.paths), "lines": self.num_lines, "dropped": self.dropped,
                "samples": self.samples}


@dataclasses.dataclass
class SplitCorpus:
    """One split read whole (`read_corpus_splits`, for tests and benchmarks): its pairs and counts."""

    pairs: List[Pair]
    ingest: SplitIngest


def _check_on_bad_line(on_bad_line: str) -> None:
    if on_bad_line not in ON_BAD_LINE_CHOICES:
        raise ConfigError(f"on_bad_line must be one of {', '.join(ON_BAD_LINE_CHOICES)}, got {on_bad_line!r}")


def _one_ending_in(paths: Sequence[str], name: str, pattern: str, split: str) -> Optional[str]:
    """The one of `paths` whose file name ends in `.<name>` or `.<name>.gz`, or None.

    Raises:
        CorpusError: when more than one does: the same file gzipped and plain (`x.en.gz` and `x.en`), or
            several files that split `split`'s `pattern` matches (`*` matching `train.en` and `val.en`).
    """
    found = [p for p in paths if posixpath.basename(p).endswith((f".{name}", f".{name}.gz"))]
    if len(found) > 1:
        if len({p[:-len(".gz")] if p.endswith(".gz") else p for p in found}) == 1:
            raise CorpusError(f"both {' and '.join(found)} exist; keep the one the run should read")
        raise CorpusError(f"split {split!r}: pattern {pattern!r} matches {len(found)} files ending in .{name} or "
                          f".{name}.gz ({', '.join(found)}); narrow --{split}-pattern to match one")
    return found[0] if found else None


def find_split_files(input_base: str, pattern: str, source: str, target: str, split: str) -> Tuple[str, ...]:
    """The files of one split among those `pattern` matches under `input_base`: (source file, target file)
    when both are there, else (TSV file,).

    Args:
        input_base: the corpus directory (any filesystem Beam knows).
        pattern: the split's glob relative to `input_base` ({SPAN}/{VERSION} resolved), e.g. `train.*`.
        source / target: language codes; a source file's name ends in `.<source>` or `.<source>.gz`, a
            TSV file's in `.<source>-<target>.tsv` or `.<source>-<target>.tsv.gz`.
        split: the split's name, for messages.

    Raises:
        CorpusError: when neither layout is complete, naming the split, the pattern, the directory and
            what the pattern matched; or when a file exists both gzipped and plain, or the pattern matches
            several files of one language.
    """
    glob = posixpath.join(input_base.rstrip("/"), pattern)
    # A directory of a matching name is not a corpus file (Beam's local filesystem matches directories too).
    matched = sorted(m.path for result in FileSystems.match([glob]) for m in result.metadata_list
                     if not os.path.isdir(m.path))
    source_path, target_path = (_one_ending_in(matched, source, pattern, split),
                                _one_ending_in(matched, target, pattern, split))
    if source_path and target_path:
        return source_path, target_path
    tsv_path = _one_ending_in(matched, f"{source}-{target}.tsv", pattern, split)
    if tsv_path:
        return (tsv_path,)
    prefix = input_base.rstrip("/") + "/"
    found = ", ".join(p[len(prefix):] if p.startswith(prefix) else p for p in matched) or "no file"
    raise CorpusError(
        f"missing corpus files for split {split!r}: pattern {pattern!r} under {input_base} matches {found}; "
        f"expected a file ending in .{source} or .{source}.gz and one ending in .{target} or .{target}.gz, "
        f"or one ending in .{source}-{target}.tsv or .{source}-{target}.tsv.gz")


# `{SPAN}`, `{SPAN:n}`, `{VERSION}`, `{VERSION:n}` in a split pattern (TFX's specs, as `example_gen.utils`
# spells them; this module imports no TFX).
_SPAN_OR_VERSION_SPEC = re.compile(r"\{(SPAN|VERSION)(:\d+)?\}")
# A further test set's name: the stem `test_<name>` of its files, `<name>` letters, digits, `_` or `-`.


def _stem_and_side(file_name: str, source: str, target: str) -> Tuple[Optional[str], Optional[str]]:
    """(stem, side) of a corpus file name: `("test_x", "source")` for `test_x.en[.gz]`, `"target"` for the
    target language's, `"tsv"` for `test_x.en-de.tsv[.gz]`; (None, None) for any other name."""
    name = file_name[:-3] if file_name.endswith(".gz") else file_name
    for side, suffix in (("tsv", f".{source}-{target}.tsv"), ("source", f".{source}"), ("target", f".{target}")):
        if name.endswith(suffix):
            return name[:-len(suffix)], side
    return None, None


def extra_test_split_patterns(input_base: str, test_pattern: str, source: str, target: str) -> Dict[str, str]:
    """The further test sets of a corpus directory: every `test_<name>.<source>` / `test_<name>.<target>`
    pair (or `test_<name>.<source>-<target>.tsv`, each optionally `.gz`) in the directory of the primary
    test split's files, other than those the primary test pattern matches.

    Args:
        input_base: the corpus directory (any filesystem Beam knows).
        test_pattern: the primary test split's pattern relative to `input_base` (`test_2016_flickr.*`,
            `span-{SPAN}/test_2016_flickr.*`); its directory part is where further test sets are looked for.
            With `{SPAN}` / `{VERSION}` in it, a test set counts only when every directory that holds the
            primary test set's files has it, so that it is in the span the run reads (TFX's driver needs
            every split in the latest span).
        source / target: language codes.

    Returns:
        {split: pattern}, sorted by split, each split named as its files' stem (`test_2017_flickr`) and its
        pattern the primary's directory part with `<stem>.*` (`span-{SPAN}/test_2017_flickr.*`); {} when
        there is none.
    """
    directory, primary_name = posixpath.split(test_pattern)
    base = input_base.rstrip("/")
    glob_directory = _SPAN_OR_VERSION_SPEC.sub("*", directory)
    primary_glob = _SPAN_OR_VERSION_SPEC.sub("*", primary_name)
    paths = [m.path for result in FileSystems.match([posixpath.join(base, glob_directory, "*")])
             for m in result.metadata_list if not os.path.isdir(m.path)]
    sides: Dict[str, Dict[str, set]] = {}
    primary_directories = set()
    for path in paths:
        folder, file_name = posixpath.split(path)
        if fnmatch.fnmatchcase(file_name, primary_glob):
            primary_directories.add(folder)
            continue
        stem, side = _stem_and_side(file_name, source, target)
        if stem and EXTRA_TEST_STEM.fullmatch(stem):
            sides.setdefault(stem, {}).setdefault(folder, set()).add(side)
    complete = {stem for stem, by_folder in sides.items()
                if primary_directories and all(
                    {"source", "target"} <= by_folder.get(folder, set()) or "tsv" in by_folder.get(folder, set())
                    for folder in primary_directories)}
    return {stem: posixpath.join(directory, f"{stem}.*") for stem in sorted(complete)}


def _blocks(path: str) -> Iterator[bytes]:
    """The bytes of a file in blocks of up to READ_BLOCK_BYTES, gunzipped when its name ends in `.gz`.

    Raises:
        CorpusError: on a truncated or corrupt gzip stream, gzip data in a file whose name does not end in
            `.gz`, or a `.gz` file compressed twice, naming the file.
    """
    compressed = path.endswith(".gz")
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        stream = gzip.GzipFile(fileobj=raw) if compressed else raw
        first = True
        while True:
            try:
                block = stream.read(READ_BLOCK_BYTES)
            except (EOFError, OSError, zlib.error) as e:
                raise CorpusError(f"{path}: not a complete gzip file ({e})") from e
            if not block:
                return
            if first and block.startswith(GZIP_MAGIC):
                raise CorpusError(f"{path}: gzip-compressed twice; decompress it once" if compressed else
                                  f"{path}: holds gzip-compressed data but its name does not end in .gz; rename it "
                                  f"{posixpath.basename(path)}.gz or decompress it")
            first = False
            yield block


def iter_raw_lines(path: str) -> Iterator[bytes]:
    """The lines of a file as bytes, without their line ends, streamed (`tfx_nmt.text.lines.iter_lines` on
    `_blocks`): at `\\n`, or at `\\r` in a file without any `\\n` (finding that out reads up to the first
    `\\n`, the whole file when it has none).

    Raises:
        CorpusError: as `_blocks`.
    """
    line_end = b"\n" if any(b"\n" in block for block in _blocks(path)) else b"\r"
    yield from iter_lines(_blocks(path), line_end)


def read_raw_lines(path: str) -> List[bytes]:
    """`iter_raw_lines` as a list (for small files and tests)."""
    return list(iter_raw_lines(path))


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


def _count(lines: Iterable[bytes]) -> int:
    return sum(1 for _ in lines)


def read_paired_files(source_path: str, target_path: str, ingest: SplitIngest, max_pairs: int = 0,
                      on_bad_line: str = "error", advice: Optional[str] = None) -> Iterator[Pair]:
    """Streams two aligned files as numbered pairs, counting in `ingest`.

    Args:
        source_path / target_path: the aligned files.
        ingest: counts lines, kept and dropped pairs as the pairs stream by.
        max_pairs: yield only the first N lines when N > 0 (counts are still checked on whole files).
        on_bad_line: `error`, or `drop` to drop and count a pair whose source or target line is not UTF-8.
        advice: the end of a bad-line error message (see `decode_line`).

    Raises:
        CorpusError: when the line counts differ (naming both files and both counts; found when the shorter
            file ends, after the pairs before), or as `iter_raw_lines` / `decode_line`.
    """
    _check_on_bad_line(on_bad_line)
    source_lines, target_lines = iter_raw_lines(source_path), iter_raw_lines(target_path)
    number = 0
    for source_bytes, target_bytes in itertools.zip_longest(source_lines, target_lines):
        if source_bytes is None or target_bytes is None:
            source_count = number + (source_bytes is not None) + _count(source_lines)
            target_count = number + (target_bytes is not None) + _count(target_lines)
            raise CorpusError(
                f"line counts differ: {source_path} has {source_count} lines, "
                f"{target_path} has {target_count} lines; the files must be aligned line by line")
        number += 1
        if 0 < max_pairs < number:
            continue
        ingest.num_lines += 1
        source = _decode_or_none(source_bytes, source_path, number, on_bad_line, advice)
        target = _decode_or_none(target_bytes, target_path, number, on_bad_line, advice)
        if source is None or target is None:
            ingest.drop("invalid_utf8", number, _shown(source_bytes), _shown(target_bytes))
        else:
            ingest.keep(source, target)
            yield number, source, target


def read_tsv_file(path: str, ingest: SplitIngest, max_pairs: int = 0, on_bad_line: str = "error",
                  advice: Optional[str] = None) -> Iterator[Pair]:
    """Streams a `source<TAB>target` file as numbered pairs, counting in `ingest`. A blank line is an empty
    pair (the cleaner drops it from train/eval and counts it as `empty`).

    Args:
        path: the TSV file.
        ingest: counts lines, kept and dropped pairs as the pairs stream by.
        max_pairs: yield only the first N lines when N > 0.
        on_bad_line: `error`, or `drop` to drop and count rows that are not UTF-8 (`invalid_utf8`) or
            do not have exactly one tab (`tsv_columns`).
        advice: the end of a bad-line error message; default: fix the file or drop such rows.

    Raises:
        CorpusError: as `iter_raw_lines` / `decode_line`, and, when rows do not have exactly one tab,
            one error at the end of the file naming the file, how many rows and the line numbers of the
            first SAMPLE_SIZE.
    """
    _check_on_bad_line(on_bad_line)
    lines = iter_raw_lines(path)
    if max_pairs > 0:
        lines = itertools.islice(lines, max_pairs)
    for number, line in enumerate(lines, start=1):
        ingest.num_lines += 1
        text = _decode_or_none(line, path, number, on_bad_line, advice)
        if text is None:
            ingest.drop("invalid_utf8", number, _shown(line), "")
        elif text == "":
            ingest.keep("", "")
            yield number, "", ""
        elif text.count("\t") != 1:
            ingest.drop("tsv_columns", number, text, "")
        else:
            source, target = text.split("\t")
            ingest.keep(source, target)
            yield number, source, target
    bad_rows = ingest.dropped["tsv_columns"]
    if bad_rows and on_bad_line == "error":
        advice = advice or "fix the file or pass --on-bad-line drop to drop such rows"
        raise CorpusError(
            f"{path}: {bad_rows} rows do not have exactly one tab (source<TAB>target), at lines "
            f"{_dropped_lines(ingest, 'tsv_columns')}; {advice}")


class SplitReader:
    """Streams the numbered pairs of one split, with the split's policy: `on_bad_line` for train and
    eval, always `error` for a test split (`contract.is_test_split`: the primary one and every further
    `test_<name>`), its messages ending in NEVER_DROPPED_ADVICE. `ingest` holds the counts of what was read so far; once iteration ends
    without an error, of the whole split.

    Args:
        split: the split's name.
        paths: (source file, target file) or (TSV file,), as `find_split_files` returns them.
        max_pairs: yield only the first N lines when N > 0 (for small smoke runs).
        on_bad_line: `error` or `drop` (see `read_paired_files` and `read_tsv_file`).

    Raises (while iterating):
        CorpusError: as `read_paired_files` and `read_tsv_file`, and, at the end, when the split has no pair
            left: its files hold no line, every line was dropped (the message gives the counts per reason),
            or every pair is blank.
        ConfigError: for an unknown `on_bad_line` (a ValueError), when constructed.
    """

    def __init__(self, split: str, paths: Sequence[str], max_pairs: int = 0, on_bad_line: str = "error"):
        _check_on_bad_line(on_bad_line)
        self.split = split
        self.paths = tuple(paths)
        self.max_pairs = max_pairs
        self.policy = {"max_pairs": max_pairs, "on_bad_line": on_bad_line}
        if is_test_split(split):
            self.policy.update(on_bad_line="error", advice=NEVER_DROPPED_ADVICE)
        self.ingest = SplitIngest(self.paths)

    def __iter__(self) -> Iterator[Pair]:
        if len(self.paths) == 2:
            yield from read_paired_files(*self.paths, self.ingest, **self.policy)
        else:
            yield from read_tsv_file(self.paths[0], self.ingest, **self.policy)
        _check_not_empty(self.split, self.ingest, self.max_pairs)


def read_corpus_splits(data_dir: str, source: str, target: str, max_pairs: Dict[str, int],
                       on_bad_line: str = "error") -> Dict[str, SplitCorpus]:
    """Reads the train, eval and test splits of a Multi30k-style data directory (DEFAULT_SPLIT_PATTERNS;
    paired files or TSV, per split) whole, into lists: for tests and benchmarks. The pipeline streams
    (`ingest_pipeline`).

    Args:
        data_dir: directory holding the files DEFAULT_SPLIT_PATTERNS match (see `find_split_files`).
        source / target: language codes, the file name suffixes (for example `en`, `de`).
        max_pairs: per split, keep only the first N lines when N > 0.
        on_bad_line: `error` or `drop`, as `SplitReader` applies it.

    Returns:
        {split: SplitCorpus} for `train`, `eval` and `test`.

    Raises:
        CorpusError: as `find_split_files` and `SplitReader`; every split's files are found before any
            is read.
        ConfigError: for an unknown `on_bad_line` (a ValueError).
    """
    _check_on_bad_line(on_bad_line)
    paths = {split: find_split_files(data_dir, pattern, source, target, split)
             for split, pattern in DEFAULT_SPLIT_PATTERNS.items()}
    corpus = {}
    for split, files in paths.items():
        reader = SplitReader(split, files, max_pairs.get(split, 0), on_bad_line)
        corpus[split] = SplitCorpus(pairs=list(reader), ingest=reader.ingest)
    return corpus


def _dropped_lines(split: SplitIngest, reason: str) -> str:
    """The line numbers of the pairs `split` dropped for `reason`, as "3, 8, 12", the first SAMPLE_SIZE
    followed by " (first N)" when more were dropped."""
    samples = split.samples[reason]
    more = f" (first {len(samples)})" if split.dropped[reason] > len(samples) else ""
    return ", ".join(str(sample["line"]) for sample in samples) + more


def _check_not_empty(split: str, entry: SplitIngest, max_pairs: int) -> None:
    """Raises CorpusError when `entry` kept no pair, or only blank ones: every split is needed (train to
    train on, eval to validate on, test to score). The message names the files and, per drop reason, the
    count and the first line numbers (up to SAMPLE_SIZE), and says when only the first `max_pairs` lines
    were read."""
    if entry.has_text:
        return
    files = " and ".join(entry.paths)
    first = "first line was" if max_pairs == 1 else f"first {max_pairs} lines were"
    limit = f" (only the {first} read: the run's limit of {split} pairs)" if 0 < max_pairs == entry.num_lines else ""
    if entry.kept:
        raise CorpusError(f"{files}: no pair of the {split} split has any text{limit}; it needs at least one "
                          f"pair: fix the files")
    if not entry.num_lines:
        raise CorpusError(f"{files}: no lines; the {split} split needs at least one pair")
    reasons = "; ".join(f"{reason} {count}, at line{'s' if count > 1 else ''} {_dropped_lines(entry, reason)}"
                        for reason, count in entry.dropped.items() if count)
    lines = "its only line was" if entry.num_lines == 1 else f"all {entry.num_lines} lines were"
    raise CorpusError(f"{files}: {lines} dropped from the {split} split{limit} ({reasons}); it needs at least "
                      f"one pair: fix the files")
