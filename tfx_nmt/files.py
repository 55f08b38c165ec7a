"""Atomic file writes (a reader of the target sees either the old file or the whole new one, never a part),
and the JSON reader of the files they and the components write.

Each writer writes a temporary file with a unique name beside the target (same directory, so the same
filesystem), then renames it over the target; on any failure the temporary file is removed and the old
file, if any, stays. Local files end up readable by everyone (0644), like a file written in place rather
than `mkstemp`'s owner-only 0600. Paths with a scheme (`gs://...`, any `tf.io.gfile` filesystem) are
written through `tf.io.gfile`, imported only then.
"""
from __future__ import annotations

import json
import os
import tempfile
import uuid

from tfx_nmt.errors import UserError

_MODE = 0o644


class DirectoryError(UserError, OSError):
    """A directory given on the command line cannot be created (a file is in the way, no permission)."""


def _is_remote(path: str) -> bool:
    return "://" in path


def _write_local(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp_path, _MODE)
        os.replace(tmp_path, path)
    finally:
        if os.path.lexists(tmp_path):
            os.remove(tmp_path)


def _write_remote(path: str, data: bytes) -> None:
    import tensorflow as tf

    directory, name = path.rstrip("/").rsplit("/", 1)
    tmp_path = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
    try:
        with tf.io.gfile.GFile(tmp_path, "wb") as f:
            f.write(data)
        tf.io.gfile.rename(tmp_path, path, overwrite=True)
    finally:
        if tf.io.gfile.exists(tmp_path):
            tf.io.gfile.remove(tmp_path)


def make_directories(path: str, flag: str) -> None:
    """Creates the local directory `path` and its parents when missing (`os.makedirs`); a path with a scheme
    (`gs://...`) is left alone, as object stores have no directories to create.

    Args:
        path: the directory ("" is the working directory); flag: the command-line flag that named it, for the message.

    Raises:
        DirectoryError: naming `flag`, `path` and the reason, e.g. that a part of the path is a file.
    """
    if not path or _is_remote(path):
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        existing = os.path.normpath(path)
        while existing not in ("", ".", os.sep) and not os.path.exists(existing):
            existing = os.path.dirname(existing)
        reason = f"{existing} is a file" if os.path.exists(existing) and not os.path.isdir(existing) \
            else error.strerror
        raise DirectoryError(f"{flag} {path}: cannot create the directory ({reason})") from None


def write_bytes(path: str, data: bytes) -> None:
    """Writes `data` to `path` atomically (see the module docstring); the directory must exist.

    Raises:
        OSError (local paths) or tf.errors.OpError (`tf.io.gfile` paths): the file could not be written;
            `path` is unchanged and no temporary file is left.
    """
    (_write_remote if _is_remote(path) else _write_local)(path, data)


def write_text(path: str, text: str) -> None:
    """Writes `text` as UTF-8 to `path` atomically, as `write_bytes`."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, value) -> None:
    """Writes `value` as JSON (indented by 2, keys sorted, a final newline) to `path` atomically, as
    `write_bytes`."""
    write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def read_json(path: str):
    """The JSON value in `path`, a local path or any `tf.io.gfile` URI (TensorFlow imported only here).

    Raises:
        tf.errors.NotFoundError: no file at `path`; json.JSONDecodeError: the file is not JSON.
    """
    import tensorflow as tf

    with tf.io.gfile.GFile(path) as f:
        return json.load(f)
