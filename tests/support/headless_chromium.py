"""Opens a page in headless Chromium, takes a full-page screenshot and collects console errors, through the
Chrome DevTools Protocol over `--remote-debugging-pipe` (https://chromedevtools.github.io/devtools-protocol/):
JSON messages separated by NUL bytes on file descriptors 3 (to the browser) and 4 (from it). A pipe
needs no port and no WebSocket library.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Dict, List, Optional, Tuple

BINARY_NAMES = ("chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe")


def find_chromium() -> Optional[str]:
    """Path of Debian's `chromium` (or `chromium-browser`) on PATH, else None."""
    return next((path for path in map(shutil.which, BINARY_NAMES) if path), None)


class DevToolsPipe:
    """A DevTools Protocol session with a Chromium process started with `--remote-debugging-pipe`."""

    def __init__(self, binary: str, user_data_dir: str):
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_fds():
            # Runs in the child before exec: puts the pipe ends on the protocol's fixed descriptors 3 and
            # 4 (inheritable, unlike every other descriptor Python opened), moving them out of the way
            # first in case a pipe end is itself 3 or 4.
            read_end = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        # A file, not a pipe: nobody reads Chromium's stderr until it exits, and a full pipe would block it.
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            preexec_fn=wire_fds, close_fds=False)
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._next_id = 0
        self._buffer = b""
        self.events: List[Dict] = []

    def _read_message(self, deadline: float) -> Dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], max(deadline - time.time(), 0))
            chunk = os.read(self._from_browser, 1 << 20) if ready else b""
            if not chunk:
                raise TimeoutError("Chromium closed the DevTools pipe or did not answer in time")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: Optional[Dict] = None, session_id: Optional[str] = None,
             timeout: float = 60.0) -> Dict:
        """Sends one command and returns its result; events received meanwhile go to `self.events`.

        Raises:
            RuntimeError: the browser answered with an error.
        """
        self._next_id += 1
        command = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id:
            command["sessionId"] = session_id
        os.write(self._to_browser, json.dumps(command).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for_event(self, method: str, timeout: float = 60.0) -> Dict:
        """Returns the first event named `method` (already received or arriving within `timeout`)."""
        deadline = time.time() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read_message(deadline))

    def close(self) -> str:
        """Closes the browser; returns what it wrote on stderr."""
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            self.process.kill()
        self.process.wait(timeout=30)
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._stderr.seek(0)
        stderr = self._stderr.read().decode("utf-8", "replace")
        self._stderr.close()
        return stderr


def console_errors(events: List[Dict]) -> List[str]:
    """The error-level console messages, uncaught exceptions and failed loads among DevTools events."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(f"console.{params['type']}: {[a.get('value') for a in params.get('args', [])]}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(f"log ({params['entry'].get('source')}): {params['entry'].get('text')} "
                          f"{params['entry'].get('url', '')}")
    return errors


def screenshot_page(url: str, width: int = 1280) -> Tuple[bytes, List[str]]:
    """Loads `url` in a fresh headless Chromium profile and returns (full-page PNG screenshot, console
    errors).

    Raises:
        FileNotFoundError: no Chromium on PATH.
        RuntimeError / TimeoutError: the browser failed to load the page or to answer.
    """
    binary = find_chromium()
    if not binary:
        raise FileNotFoundError("no chromium on PATH (`make test` installs Debian's chromium package)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = DevToolsPipe(binary, profile)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})
            session = browser.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
            session_id = session["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                browser.call(f"{domain}.enable", session_id=session_id)
            browser.call("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                         session_id=session_id)
            navigation = browser.call("Page.navigate", {"url": url}, session_id=session_id)
            if navigation.get("errorText"):
                raise RuntimeError(f"could not load {url}: {navigation['errorText']}")
            browser.wait_for_event("Page.loadEventFired")
            shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                                session_id=session_id)
            # Messages logged while the page loads arrive before the screenshot's answer; this round trip
            # flushes any still in flight.
            browser.call("Runtime.evaluate", {"expression": "document.readyState"}, session_id=session_id)
        finally:
            browser.close()
    return base64.b64decode(shot["data"]), console_errors(browser.events)
