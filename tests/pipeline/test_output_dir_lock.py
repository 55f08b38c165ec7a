"""The output-dir lock: a second holder is refused at once with the holder's pid; a killed holder frees it."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tfx_nmt.pipeline.output_dir_lock import LOCK_FILE, OutputDirLockedError, hold_output_dir

HOLDER = """
import sys, time
from tfx_nmt.pipeline.output_dir_lock import hold_output_dir
with hold_output_dir(sys.argv[1]):
    print("held", flush=True)
    time.sleep(600)
"""


def _start_holder(output_dir):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(output_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_second_run_is_refused_with_the_holders_pid(tmp_path):
    holder = _start_holder(tmp_path)
    try:
        with open(tmp_path / LOCK_FILE) as f:
            assert f.read() == f"{holder.pid}\n"
        started = time.time()
        with pytest.raises(OutputDirLockedError) as error:
            with hold_output_dir(str(tmp_path)):
                pytest.fail("the lock was taken twice")
        assert time.time() - started < 1.0
        assert str(error.value) == (
            f"output directory {tmp_path} is in use by another tfx-nmt run (pid {holder.pid}, lock file "
            f"{tmp_path / LOCK_FILE}); wait for it to finish or choose another --output-dir")
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_frees_the_lock(tmp_path):
    holder = _start_holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    # The stale pid is still in the file; the lock itself went with the process.
    with hold_output_dir(str(tmp_path)) as path:
        with open(path) as f:
            assert f.read() == f"{os.getpid()}\n"
    with hold_output_dir(str(tmp_path)):  # Released on leaving the block.
        pass
