"""Which component is running, and for how long, in the `tfx_nmt` log of a local run.

TFX's LocalDagRunner announces each component through absl logging at INFO ("Component %s is running.",
"Component %s is finished.", and "A cached execution %d is used." when the launcher reuses a result),
which the CLI hides with the rest of TFX's INFO chatter. `ComponentProgress` turns those three records
into `tfx_nmt` log lines with the wall time, and logs a heartbeat for a component that has logged
nothing for `heartbeat_seconds` (a standard component such as StatisticsGen logs nothing of its own), so
a person watching a run never waits long without a sign of life.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from absl import logging as absl_logging

from tfx_nmt.text.display import format_duration

log = logging.getLogger(__name__)

# The messages of tfx/orchestration/local/local_dag_runner.py and tfx/orchestration/portable/launcher.py.
RUNNING = "Component %s is running."
FINISHED = "Component %s is finished."
CACHED = "A cached execution %d is used."


class _LastRecordTime(logging.Handler):
    """Remembers when the `tfx_nmt` logger last emitted a record."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.time = time.time()

    def emit(self, record):
        self.time = record.created


class ComponentProgress(logging.Filter):
    """A context manager around `LocalDagRunner().run(...)` that logs each component's start, end and
    wall seconds (or that its result came from the cache), plus a heartbeat every `heartbeat_seconds`
    while a component runs without logging anything itself.

    While active it raises absl's verbosity to INFO to see TFX's records and, as a filter on the absl
    logger, lets through only the records it let through before (WARNING and up under the CLI).

    Args:
        heartbeat_seconds: silence, in seconds, after which a heartbeat is logged.
    """

    def __init__(self, heartbeat_seconds: float = 50.0):
        super().__init__()
        self.heartbeat_seconds = heartbeat_seconds
        self.component: Optional[str] = None
        self.started = 0.0
        self.cached = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_record = _LastRecordTime()
        self._absl_logger = logging.getLogger("absl")
        self._previous_verbosity = absl_logging.WARNING
        self._threshold = logging.WARNING
        self._thread = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == RUNNING:
            with self._lock:
                self.component, self.started, self.cached = str(record.args[0]), time.time(), False
            log.info("%s: started", self.component)
        elif record.msg == CACHED:
            self.cached = True
        elif record.msg == FINISHED:
            with self._lock:
                component, seconds, self.component = str(record.args[0]), time.time() - self.started, None
            if self.cached:
                log.info("%s: result reused from the cache", component)
            else:
                log.info("%s: finished in %s", component, format_duration(seconds))
        return record.levelno >= self._threshold

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(5.0, self.heartbeat_seconds)):
            with self._lock:
                component, started = self.component, self.started
            silent = time.time() - max(self._last_record.time, started)
            if component and silent >= self.heartbeat_seconds:
                log.info("%s: still running (%s so far)", component, format_duration(time.time() - started))

    def __enter__(self) -> "ComponentProgress":
        # Through absl's verbosity rather than the logger's level: TensorFlow saves and restores the
        # verbosity around SavedModel export (trackable/autotrackable.py), which would undo a bare setLevel.
        self._previous_verbosity = absl_logging.get_verbosity()
        self._threshold = self._absl_logger.getEffectiveLevel()
        absl_logging.set_verbosity(max(self._previous_verbosity, absl_logging.INFO))
        self._absl_logger.addFilter(self)
        logging.getLogger("tfx_nmt").addHandler(self._last_record)
        self._stop.clear()
        self._thread = threading.Thread(target=self._heartbeat, name="component-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        logging.getLogger("tfx_nmt").removeHandler(self._last_record)
        self._absl_logger.removeFilter(self)
        absl_logging.set_verbosity(self._previous_verbosity)
