"""`tfx-nmt translate`: translate sentences with the pushed model, in process or through TF Serving.

    tfx-nmt translate "A man in a red shirt." "Two dogs play."       # arguments, one translation a line
    tfx-nmt translate --input en.txt --output de.txt                 # files, one sentence a line
    cat en.txt | tfx-nmt translate > de.txt                          # stdin/stdout (or --input - --output -)
    tfx-nmt translate --server http://localhost:8501 --model-name translator ...   # TF Serving REST
    tfx-nmt translate --grpc localhost:8500 --model-name translator ...            # TF Serving gRPC

Without `--server`/`--grpc` the model is `--model-dir`, else the newest pushed version under
`--output-dir` (`<output-dir>/serving/<model-name>/<version>/` or one level deeper, e.g.
`outputs/quick/serving/...`). Outputs keep the input order; newlines inside a translation become spaces.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
from typing import List, Optional

from tfx_nmt import files
from tfx_nmt.arguments import positive_int
from tfx_nmt.errors import UserError
from tfx_nmt.serving import clients
from tfx_nmt.text.lines import GZIP_MAGIC, UTF16_BOMS, split_lines


class ModelNotFoundError(UserError, FileNotFoundError):
    """`--model-dir` holds no `saved_model.pb`, or nothing is pushed under `--output-dir`."""


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
    parser.add_argument("--output-dir", default="outputs",
                        help="where to look for the newest pushed model when no model source is given")
    parser.add_argument("--model-name", default="translator", help="the served (or pushed) model's name")
    parser.add_argument("--model-version", type=int, default=None, help="TF Serving: a specific version")
    parser.add_argument("--signature", default=clients.DEFAULT_SIGNATURE, choices=clients.TRANSLATION_SIGNATURES,
                        help="serving_default (beam search, the default) or translate_greedy")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="sentences per request")
    parser.add_argument("--scores", action="store_true",
                        help="prefix each translation with its score (log-probability per token) and a tab")
    parser.set_defaults(func=run)


def make_client(args: argparse.Namespace):
    """The client chosen by `--server`, `--grpc` or `--model-dir` (default: the newest pushed model).

    Raises:
        ModelNotFoundError: `--model-dir` holds no `saved_model.pb`, or nothing is pushed under `--output-dir`.
    """
    if args.model_dir and not os.path.isfile(os.path.join(args.model_dir, "saved_model.pb")):
        raise ModelNotFoundError(f"{args.model_dir}: no saved_model.pb; --model-dir takes a SavedModel version "
                                 f"directory, such as outputs/quick/serving/translator/<version>")
    if args.server:
        return clients.RestClient(args.server, args.model_name, args.signature, args.model_version)
    if args.grpc:
        return clients.GrpcClient(args.grpc, args.model_name, args.signature, args.model_version)
    model_dir = args.model_dir or newest_pushed_version(args.output_dir, args.model_name)
    return clients.SavedModelClient(model_dir, args.signature)


def read_input_lines(path: Optional[str]) -> List[str]:
    """The lines of a UTF-8 file, or of stdin when `path` is None, split as corpus files are
    (`tfx_nmt.text.lines.split_lines`: at `\\n`, or at `\\r` in a file without any `\\n`).

    Raises:
        TranslateFileError: naming the file that cannot be read or holds gzip data or UTF-16 text (with a
            byte order mark), or the file, line and byte offset of a byte sequence that is not UTF-8.
    """
    name = "<stdin>" if path is None else path
    try:
        if path is None:
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
    except OSError as error:
        raise TranslateFileError(f"{name}: cannot read ({error.strerror})") from None
    if raw.startswith(GZIP_MAGIC):
        raise TranslateFileError(f"{name}: holds gzip-compressed data; decompress it first")
    if raw.startswith(UTF16_BOMS):
        raise TranslateFileError(f"{name}: holds UTF-16 text (it starts with a UTF-16 byte order mark); convert "
                                 f"it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8")
    texts = []
    for number, line in enumerate(split_lines(raw), start=1):
        try:
            texts.append(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise TranslateFileError(f"{name}:{number}: not UTF-8 ({error.reason} at byte {error.start})") from None
    return texts


def run(args: argparse.Namespace) -> int:
    """Runs `tfx-nmt translate`; returns the exit code.

    Raises:
        TranslateFileError, ModelNotFoundError, clients.SavedModelLoadError, clients.ServingError: see each;
            the command line prints them as one line.
    """
    if args.output:
        directory = os.path.dirname(os.path.abspath(args.output))
        if os.path.isdir(args.output):
            raise TranslateFileError(f"{args.output}: is a directory; --output takes a file")
        if not os.path.isdir(directory):
            raise TranslateFileError(f"{args.output}: its directory does not exist")
        if not os.access(directory, os.W_OK):
            raise TranslateFileError(f"{args.output}: cannot write in {directory}")
    texts = args.text or read_input_lines(args.input)
    client = make_client(args)
    progress = args.input is not None
    translations, scores = clients.translate_all(client.translate, texts, args.batch_size, progress)
    lines = [t.replace("\n", " ") for t in translations]
    if args.scores:
        lines = [f"{s:.4f}\t{t}" for s, t in zip(scores, lines)]
    text = "".join(line + "\n" for line in lines)
    if args.output:
        files.write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
