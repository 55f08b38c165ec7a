"""Runs `tfx-nmt run` in a child process and measures it: wall time and peak resident memory.

Peak memory is measured two ways (Linux):
- process tree: the sum of the resident set sizes (`/proc/<pid>/statm`) of the run and all its descendant
  processes (Beam's worker processes included), sampled every `SAMPLE_SECONDS`. Pages shared between
  processes count once per process, and a peak shorter than the interval can be missed.
- largest process: `getrusage(RUSAGE_CHILDREN).ru_maxrss`, the kernel's exact high-water mark of the
  largest single descendant that has ended (the Trainer runs in the run's own process).
"""
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional

from tfx_nmt import contract

SAMPLE_SECONDS = 1.0
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclasses.dataclass(frozen=True)
class PipelineRun:
    """One measured `tfx-nmt run`.

    Attributes:
        started: when the child process was started, seconds since the Unix epoch.
        wall_seconds: from start to exit of the child process (imports, DAG, every component, summary, report).
        peak_tree_rss_bytes: largest sampled sum of resident memory over the process tree.
        peak_process_rss_bytes: high-water resident memory of the largest single process.
        summary: the run's `run_summary.json`.
    """

    started: float
    wall_seconds: float
    peak_tree_rss_bytes: int
    peak_process_rss_bytes: int
    summary: Dict


def _children_by_parent() -> Dict[int, List[int]]:
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command name (field 2) is in parentheses and may contain spaces; the parent pid
                # is the second field after it.
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # The process ended while being read.
        children.setdefault(parent, []).append(int(entry))
    return children


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` plus all its descendants, in bytes (0 once they have ended)."""
    children, total, pending = _children_by_parent(), 0, [pid]
    while pending:
        current = pending.pop()
        pending.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/statm") as f:
                total += int(f.read().split()[1]) * _PAGE_BYTES
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_pipeline(preset: str, output_dir: str, data_dir: Optional[str], run_args: List[str],
                 log_path: str) -> PipelineRun:
    """Runs `tfx-nmt run --preset <preset> --output-dir <output_dir> [--data-dir ...] <run_args>` with
    this interpreter, its output going to `log_path`, and measures it.

    Raises:
        RuntimeError: when the run fails; the message holds the end of its log.
    """
    command = [sys.executable, "-m", "tfx_nmt.cli", "run", "--preset", preset, "--output-dir", output_dir]
    command += (["--data-dir", data_dir] if data_dir else []) + list(run_args)
    os.makedirs(output_dir, exist_ok=True)
    peak_tree = 0
    with open(log_path, "w") as log:
        started = time.time()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        while process.poll() is None:
            peak_tree = max(peak_tree, tree_rss_bytes(process.pid))
            time.sleep(SAMPLE_SECONDS)
        wall_seconds = time.time() - started
    if process.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-4000:]
        raise RuntimeError(f"{' '.join(command)} failed with exit status {process.returncode}:\n{tail}")
    with open(os.path.join(output_dir, contract.RUN_SUMMARY_FILE)) as f:
        summary = json.load(f)
    peak_process = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux reports KiB.
    return PipelineRun(started, wall_seconds, peak_tree, peak_process, summary)
