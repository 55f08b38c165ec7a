"""`tfx-nmt translate`: translate sentences with the pushed model, in process or through TF Serving.

    tfx-nmt translate "A man in a red shirt." "Two dogs play."       # arguments, one translation a line
    tfx-nmt translate --input en.txt --output de.txt                 # files, one sentence a line
    cat en.txt | tfx-nmt translate > de.txt                          # stdin/stdout (or --input - --output -)
    tfx-nmt translate --server http://localhost:8501 --model-name translator ...   # TF Serving REST
    tfx-nmt translate --grpc localhost:8500 --model-name translator ...            # TF Serving gRPC
    tfx-nmt translate --engine ctranslate2 --model-dir DIR ...   # a CTranslate2 export (export-ctranslate2)
    tfx-nmt translate --n-best 4 "A man in a red shirt."         # the 4 best hypotheses: `i ||| text ||| score`

Without `--server`/`--grpc` the model is `--model-dir`, else the newest pushed version under
`--output-dir` (`<output-dir>/serving/<model-name>/<version>/` or one level deeper, e.g.
`outputs/quick/serving/...`). Outputs keep the input order; newlines inside a translation become spaces.
With `--n-best K` (at most the model's beam size) each input gets up to K lines, best first, in Moses' n-best
format: `<input index from 0> ||| <translation> ||| <log-probability per token>` (fewer when the beam search
finished fewer hypotheses; an empty input gets one, empty, with score 0).
Translations are written batch by batch as they are done: from a pipe, the first ones come out before the
last line goes in.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import os
import stat
import sys
import urllib.parse
from typing import BinaryIO, Callable, Iterable, Iterator, List, Optional, Tuple

from tfx_nmt.arguments import positive_int
from tfx_nmt.errors import UserError
from tfx_nmt.serving import clients
from tfx_nmt.text.lines import GZIP_MAGIC, UTF16_BOMS, iter_split_lines, split_lines


class ModelNotFoundError(UserError, FileNotFoundError):
    """`--model-dir` holds no `saved_model.pb`, or nothing is pushed under `--output-dir`."""


class NBestError(UserError, ValueError):
    """`--n-best K` with K above the model's beam size, or with an engine or signature without n-best."""


class TranslateOptionError(UserError, ValueError):
    """Options of `tfx-nmt translate` that do not go together (one would be ignored)."""


class TranslateFileError(UserError, ValueError):
    """An input file that cannot be read or is not UTF-8, or an output path that is a directory or lies in a
    missing or read-only directory; the message names the file (and line)."""


def newest_pushed_version(output_dir: str, model_name: str) -> str:
    """The pushed version directory with the highest version number under `output_dir`.

    Looks in `<output_dir>/serving/<model_name>/<int>/` and `<output_dir>/*/serving/<model_name>/<int>/`
    (Pusher versions are push timestamps, so the highest is the newest).

    Raises:
        ModelNotFoundError: when no version directory with a `saved_model.pb` exists.
    """
    candidates = []
    for pattern in (os.path.join(output_dir, "serving", model_name, "*"),
                    os.path.join(output_dir, "*", "serving", model_name, "*")):
        for path in glob.glob(pattern):
            name = os.path.basename(path)
            if name.isdigit() and os.path.isfile(os.path.join(path, "saved_model.pb")):
                candidates.append((int(name), path))
    if not candidates:
        raise ModelNotFoundError(
            f"no pushed model {model_name!r} under {output_dir} (looked for serving/{model_name}/<version>/"
            f"saved_model.pb); run `tfx-nmt run` first, or pass --model-dir, --server or --grpc")
    return max(candidates)[1]


def stdio_path(value: str) -> Optional[str]:
    """An `--input`/`--output` argument: a file path, or "-" for stdin/stdout, which becomes None, the
    default."""
    return None if value == "-" else value


def register(subparsers) -> None:
    """Adds the `translate` subcommand to the `tfx-nmt` subparsers."""
    parser = subparsers.add_parser("translate", help="translate text with the pushed model or a TF Serving server",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", nargs="*", help="sentences to translate (default: read --input)")
    parser.add_argument("--input", type=stdio_path, default=None,
                        help="UTF-8 file, one sentence a line (default, or -: stdin)")
    parser.add_argument("--output", type=stdio_path, default=None,
                        help="file for the translations (default, or -: stdout)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model-dir", default=None, help="a SavedModel version directory")
    source.add_argument("--server", default=None, help="TF Serving REST base URL, e.g. http://HOST:8501")
    source.add_argument("--grpc", default=None, help="TF Serving gRPC address HOST:PORT, e.g. HOST:8500")
    parser.add_argument("--engine", default="tensorflow", choices=("tensorflow", "ctranslate2"),
                        help="tensorflow (the SavedModel, the default) or ctranslate2 (--model-dir is a CTranslate2 "
                             "export of it, see export-ctranslate2)")
    parser.add_argument("--intra-threads", type=positive_int, default=None,
                        help="ctranslate2: intra-op threads (default: the export's, by its quantization)")
    parser.add_argument("--output-dir", default="outputs",
                        help="where to look for the newest pushed model when no model source is given "
                             "(default: outputs)")
    parser.add_argument("--model-name", default="translator",
                        help="the served (or pushed) model's name (default: translator)")
    parser.add_argument("--model-version", type=positive_int, default=None, help="TF Serving: a specific version")
    parser.add_argument("--signature", default=clients.DEFAULT_SIGNATURE, choices=clients.TRANSLATION_SIGNATURES,
                        help="serving_default (beam search, the default) or translate_greedy")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="sentences per request (default: 64)")
    parser.add_argument("--sort-window", type=positive_int, default=1,
                        help="batches read ahead and sorted by length together (less padding, faster on files; "
                             "each translation waits for its window): 1 writes each batch's translations as soon "
                             "as it is translated")
    parser.add_argument("--scores", action="store_true",
                        help="prefix each translation with its log_probability_per_token and a tab")
    parser.add_argument("--n-best", type=positive_int, default=None, metavar="K",
                        help="the K best hypotheses of the beam search per input (K at most the model's beam "
                             "size), each a line `index ||| translation ||| log-probability per token`, best first "
                             "(the translate_n_best signature)")
    parser.set_defaults(func=run)


def make_client(args: argparse.Namespace):
    """The client chosen by `--server`, `--grpc` or `--model-dir` (default: the newest pushed model).

    Raises:
        ModelNotFoundError: `--model-dir` holds no `saved_model.pb`, or nothing is pushed under `--output-dir`;
            with `--engine ctranslate2`, no `--model-dir`.
        clients.ServingError: `--server` is not an http(s) URL.
        clients.CTranslate2LoadError: `--engine ctranslate2` and `--model-dir` is not a CTranslate2 export.
    """
    if args.engine == "ctranslate2":
        if not args.model_dir:
            raise ModelNotFoundError("--engine ctranslate2 needs --model-dir, a CTranslate2 export (tfx-nmt "
                                     "export-ctranslate2, or the Trainer's Format-CTranslate2)")
        return clients.CTranslate2Client(args.model_dir, args.signature, args.intra_threads)
    if args.model_dir and not os.path.isfile(os.path.join(args.model_dir, "saved_model.pb")):
        raise ModelNotFoundError(f"{args.model_dir}: no saved_model.pb; --model-dir takes a SavedModel version "
                                 f"directory, such as outputs/quick/serving/translator/<version>")
    if args.server:
        url = urllib.parse.urlsplit(args.server)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise clients.ServingError(f"--server {args.server}: not a URL; --server takes a URL such as "
                                       f"http://HOST:8501")
        return clients.RestClient(args.server, args.model_name, args.signature, args.model_version)
    if args.grpc:
        return clients.GrpcClient(args.grpc, args.model_name, args.signature, args.model_version)
    model_dir = args.model_dir or newest_pushed_version(args.output_dir, args.model_name)
    return clients.SavedModelClient(model_dir, args.signature)


def check_n_best_options(args: argparse.Namespace) -> None:
    """Raises NBestError when `--n-best` comes with `--engine ctranslate2` or `--signature translate_greedy`."""
    if args.n_best is None:
        return
    if args.engine == "ctranslate2":
        raise NBestError("--n-best needs the SavedModel or TF Serving (its translate_n_best signature); the "
                         "ctranslate2 engine has none")
    if args.signature != clients.DEFAULT_SIGNATURE:
        raise NBestError(f"--n-best takes the hypotheses of the beam search; it cannot be used with --signature "
                         f"{args.signature}")


def n_best_translate(client, k: int) -> Callable[[List[str]], clients.NBestResult]:
    """`texts -> (hypotheses, scores)`: the first `k` of each text's hypotheses from `client.translate_n_best`
    (the SavedModel's or TF Serving's `translate_n_best` signature), slots the search left unfilled (score
    -inf) left out.

    Raises (when called):
        NBestError: `k` is more than the hypotheses the model returns per text (its beam size).
    """
    def translate(texts: List[str]) -> clients.NBestResult:
        hypotheses, scores = client.translate_n_best(texts)
        if hypotheses and len(hypotheses[0]) < k:
            raise NBestError(f"--n-best {k} is more than the model's beam size, {len(hypotheses[0])}: it returns "
                             f"{len(hypotheses[0])} hypotheses per input; pass --n-best {len(hypotheses[0])} or fewer")
        kept = [[(h, s) for h, s in zip(row_hypotheses[:k], row_scores[:k]) if s != float("-inf")]
                for row_hypotheses, row_scores in zip(hypotheses, scores)]
        return [[h for h, _ in row] for row in kept], [[s for _, s in row] for row in kept]

    return translate


def _n_best_lines(first_index: int, hypotheses: List[List[str]], scores: List[List[float]]) -> str:
    """Moses' n-best lines `index ||| translation ||| score` of consecutive inputs from `first_index`."""
    return "".join(f"{first_index + i} ||| {h.replace(chr(10), ' ')} ||| {s:.4f}\n"
                   for i, (row_hypotheses, row_scores) in enumerate(zip(hypotheses, scores))
                   for h, s in zip(row_hypotheses, row_scores))


def _decode_lines(name: str, raw_lines: Iterable[bytes]) -> Iterator[str]:
    """The UTF-8 text of each line, the first line checked for gzip data and a UTF-16 byte order mark."""
    for number, line in enumerate(raw_lines, start=1):
        if number == 1 and line.startswith(GZIP_MAGIC):
            raise TranslateFileError(f"{name}: holds gzip-compressed data; decompress it first")
        if number == 1 and line.startswith(UTF16_BOMS):
            raise TranslateFileError(f"{name}: holds UTF-16 text (it starts with a UTF-16 byte order mark); "
                                     f"convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8")
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise TranslateFileError(f"{name}:{number}: not UTF-8 ({error.reason} at byte {error.start})") from None


def _stream_lines(name: str, stream: BinaryIO, close: bool) -> Iterator[str]:
    try:
        yield from _decode_lines(name, iter_split_lines(stream))
    except OSError as error:
        raise TranslateFileError(f"{name}: cannot read ({error.strerror})") from None
    finally:
        if close:
            stream.close()


def input_lines(path: Optional[str]) -> Tuple[Iterable[str], Optional[int]]:
    """The lines of a UTF-8 file, or of stdin when `path` is None, split as corpus files are
    (`tfx_nmt.text.lines.split_lines`: at `\\n`, or at `\\r` in a file without any `\\n`).

    A regular file (a path, or stdin redirected from one) is read and checked whole, before anything is
    translated. A pipe, FIFO or terminal is read lazily, each line as soon as it arrives, so that its first
    translations are written before its last line is sent; its lines are checked as they come.

    Returns:
        (texts, number of texts): a list and its length for a regular file; an iterator and None for a
        stream.

    Raises:
        TranslateFileError: naming the file that cannot be read or holds gzip data or UTF-16 text (with a
            byte order mark), or the file, line and byte offset of a byte sequence that is not UTF-8; from a
            stream, when the iterator reaches the line.
    """
    name = "<stdin>" if path is None else path
    try:
        stream = sys.stdin.buffer if path is None else open(path, "rb")
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return _stream_lines(name, stream, close=path is not None), None
        try:
            raw = stream.read()
        finally:
            if path is not None:
                stream.close()
    except OSError as error:
        raise TranslateFileError(f"{name}: cannot read ({error.strerror})") from None
    texts = list(_decode_lines(name, split_lines(raw)))
    return texts, len(texts)


def _output_lines(translations: List[str], scores: List[float], with_scores: bool) -> str:
    lines = [t.replace("\n", " ") for t in translations]
    if with_scores:
        lines = [f"{s:.4f}\t{t}" for s, t in zip(scores, lines)]
    return "".join(line + "\n" for line in lines)


def run(args: argparse.Namespace) -> int:
    """Runs `tfx-nmt translate`; returns the exit code.

    Each batch's translations are written (and flushed) as soon as they and every earlier one are done.

    Raises:
        TranslateOptionError, TranslateFileError, ModelNotFoundError, NBestError, clients.SavedModelLoadError,
            clients.ServingError: see each; the command line prints them as one line.
    """
    if args.text and args.input:
        raise TranslateOptionError("give the sentences as arguments or in --input, not both")
    if args.intra_threads is not None and args.engine != "ctranslate2":
        raise TranslateOptionError("--intra-threads is for --engine ctranslate2; the tensorflow engine ignores it")
    if args.model_version is not None and not (args.server or args.grpc):
        raise TranslateOptionError("--model-version picks a version on a TF Serving server (--server or --grpc); "
                                   "with a local model pass that version's directory as --model-dir")
    if args.output:
        directory = os.path.dirname(os.path.abspath(args.output))
        if os.path.isdir(args.output):
            raise TranslateFileError(f"{args.output}: is a directory; --output takes a file")
        if not os.path.isdir(directory):
            raise TranslateFileError(f"{args.output}: its directory does not exist")
        if not os.access(directory, os.W_OK):
            raise TranslateFileError(f"{args.output}: cannot write in {directory}")
    check_n_best_options(args)
    texts, total = (args.text, len(args.text)) if args.text else input_lines(args.input)
    client = make_client(args)
    progress = args.input is not None
    translate = client.translate if args.n_best is None else n_best_translate(client, args.n_best)
    chunks = clients.translate_stream(translate, texts, args.batch_size, args.sort_window, progress, total)
    try:
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
            done = 0
            for translations, scores in chunks:
                out.write(_output_lines(translations, scores, args.scores) if args.n_best is None
                          else _n_best_lines(done, translations, scores))
                out.flush()
                done += len(translations)
    except BrokenPipeError:
        # The reader went away (`| head`): end quietly, as the Python documentation advises
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
