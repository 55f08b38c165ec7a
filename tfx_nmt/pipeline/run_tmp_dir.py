"""Every temporary file of a local run, and of its child processes, goes under `<output_dir>/tmp/`.

TensorFlow (autograph's generated modules), SentencePiece's trainer input, Beam's worker processes and
TFX write temporary files to `$TMPDIR` (Python's `tempfile`, and native code reading the variable);
Keras writes its `keras.json` under `$KERAS_HOME` and matplotlib its font cache under `$MPLCONFIGDIR`,
both in the home directory by default, so both point inside the temporary directory too. A
run killed by SIGKILL cannot remove them, and they would pile up outside its output directory. With
`$TMPDIR` inside the output directory, the next run into the same directory removes them: it empties
the directory while holding the directory's lock (`output_dir_lock`), so it never deletes the files of
a run in progress.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

TMP_DIR = "tmp"


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
        OSError: when `<output_dir>/tmp` cannot be emptied or created (for example when it is a symbolic
            link, which is never followed).
    """
    path = os.path.join(output_dir, TMP_DIR)
    if os.path.lexists(path):
        shutil.rmtree(path)
    os.makedirs(path)
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
