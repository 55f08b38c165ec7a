"""Every temporary file of a local run, and of its child processes, goes under `<output_dir>/tmp/`.

TensorFlow (autograph's generated modules), SentencePiece's trainer input, Beam's worker processes and
TFX write temporary files to `$TMPDIR` (Python's `tempfile`, and native code reading the variable);
Keras writes its `keras.json` under `$KERAS_HOME` and matplotlib its font cache under `$MPLCONFIGDIR`,
both in the home directory by default, so both point inside the temporary directory too. A
run killed by SIGKILL cannot remove them, and they would pile up outside its output directory. With
`$TMPDIR` inside the output directory, the next run into the same directory removes them: it empties
the directory while holding the directory's lock (`output_dir_lock`), so it never deletes the files of
a run in progress. It deletes only a `tmp/` that a run made: each run writes a marker file into it first
(`TMP_MARKER`); a `tmp/` of the user's, without the marker, stops the run instead.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

from tfx_nmt.errors import UserError

TMP_DIR = "tmp"
# Written into `tmp/` when a run creates it: only a directory holding it is ever deleted.
TMP_MARKER = ".tfx-nmt-tmp"


class ForeignTmpDirError(UserError, FileExistsError):
    """`<output_dir>/tmp` exists and no tfx-nmt run made it: the run will not delete it."""


class TmpDirUnusableError(UserError, OSError):
    """`<output_dir>/tmp` cannot be emptied or created (no permission, a file that cannot be removed)."""


def _remove_previous(path: str) -> None:
    """Removes the `tmp/` a previous run left (marked, or empty: a run killed before writing the marker).

    Raises:
        ForeignTmpDirError: when `path` is anything else (a file, a symbolic link, a directory with files
            and no marker).
    """
    if not os.path.lexists(path):
        return
    if os.path.islink(path):
        what = "is a symbolic link"
    elif not os.path.isdir(path):
        what = "is a file"
    elif os.path.exists(os.path.join(path, TMP_MARKER)):
        shutil.rmtree(path)
        return
    elif not os.listdir(path):
        os.rmdir(path)
        return
    else:
        what = f"holds files and no {TMP_MARKER}, so no run made it"
    raise ForeignTmpDirError(
        f"{path} exists and {what}; a run uses <output-dir>/tmp as its temporary directory and empties it, so "
        f"move it away or choose another --output-dir")


@contextlib.contextmanager
def run_tmp_dir(output_dir: str) -> Iterator[str]:
    """Inside the `with` block, `$TMPDIR` and `tempfile.tempdir` are `<output_dir>/tmp`, emptied on entry
    and removed on exit, and `$KERAS_HOME` and `$MPLCONFIGDIR` are folders inside it; the previous
    values are restored on exit.

    Enter it only while holding `output_dir`'s lock, and before importing TensorFlow, Beam or TFX (a
    library may keep the temporary directory it sees at import). Child processes started inside the
    block inherit `$TMPDIR`.

    Args:
        output_dir: an absolute path.

    Yields:
        The temporary directory's path.

    Raises:
        ForeignTmpDirError: when `<output_dir>/tmp` exists and no run made it (see `_remove_previous`).
        TmpDirUnusableError: when it cannot be emptied or created.
    """
    path = os.path.join(output_dir, TMP_DIR)
    try:
        _remove_previous(path)
        os.makedirs(path)
        with open(os.path.join(path, TMP_MARKER), "w"):
            pass
    except ForeignTmpDirError:
        raise
    except OSError as error:
        raise TmpDirUnusableError(f"{path}: cannot empty or create it ({error.strerror or error}: "
                                  f"{error.filename or path}); check the output directory's permissions or "
                                  f"choose another --output-dir") from None
    variables = {"TMPDIR": path, "KERAS_HOME": os.path.join(path, "keras"),
                 "MPLCONFIGDIR": os.path.join(path, "matplotlib")}
    previous_variables, previous_tempdir = {name: os.environ.get(name) for name in variables}, tempfile.tempdir
    os.environ.update(variables)
    tempfile.tempdir = path
    try:
        yield path
    finally:
        tempfile.tempdir = previous_tempdir
        for name, value in previous_variables.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
        # What cannot be removed now (a file a child process still holds) is inside the output
        # directory, and the next run empties it; failing a finished run for it would help nobody.
        shutil.rmtree(path, ignore_errors=True)
