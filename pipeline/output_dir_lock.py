"""One `tfx-nmt run` per output directory at a time.

Two runs writing one ML Metadata store and one serving directory would corrupt each other's lineage
and pushes. A run holds an exclusive `flock` on `<output_dir>/tfx-nmt.lock` (which holds its pid) for
its whole duration; a second run is refused at once. The kernel releases the lock when its holder dies,
even by SIGKILL, so a crashed run never blocks the next one (the pid left in the file is then stale and
ignored). Local filesystems only: `flock` does not lock across machines.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Iterator

from tfx_nmt.errors import UserError

LOCK_FILE = "tfx-nmt.lock"


class OutputDirLockedError(UserError, RuntimeError):
    """Another running `tfx-nmt run` holds the output directory."""


class OutputDirUnusableError(UserError, OSError):
    """The output directory cannot be created or written: a file is in the way, or no permission."""


@contextlib.contextmanager
def hold_output_dir(output_dir: str) -> Iterator[str]:
    """Holds the lock of `output_dir` (created when missing) inside the `with` block.

    Yields:
        The lock file's path.

    Raises:
        OutputDirLockedError: when another process holds it; the message names the directory, the lock
            file and the holder's pid.
        OutputDirUnusableError: when the directory or its lock file cannot be created (a file in the way,
            no permission); the message names the path and the reason.
    """
    path = os.path.join(output_dir, LOCK_FILE)
    try:
        os.makedirs(output_dir, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise OutputDirUnusableError(f"output directory {output_dir}: {error.strerror or error} "
                                     f"({error.filename or path}); choose another --output-dir") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise OutputDirLockedError(
                f"output directory {output_dir} is in use by another tfx-nmt run (pid {holder}, lock file "
                f"{path}); wait for it to finish or choose another --output-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        yield path
    finally:
        # Closing the descriptor releases the lock; the file stays (removing it would race with a
        # process that opened it and waits to lock it).
        os.close(fd)
