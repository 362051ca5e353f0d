"""Open a page in headless Chromium (the Debian package) over its DevTools pipe: console messages,
uncaught exceptions, a JavaScript probe of the rendered DOM, and a screenshot."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")


@dataclass
class Visit:
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text) of every console message
    exceptions: list[str] = field(default_factory=list)  # uncaught exceptions
    probe: Any = None  # what the probe expression returned


class _Pipe:
    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc, self.write_fd, self.read_fd = proc, write_fd, read_fd
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self.read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed its pipe (exit {self.proc.poll()})")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)


def visit(url: str, probe: str, screenshot: Path, *, wait_for: str = "true", timeout: float = 60.0,
          size: tuple[int, int] = (1300, 1800)) -> Visit:
    """Load URL, wait until the expression WAIT_FOR holds, evaluate PROBE (JSON-able), save a
    full-page SCREENSHOT (PNG)."""
    assert CHROMIUM is not None
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="rfz-chromium-")

    def fds() -> None:  # in the child: chromium reads commands on fd 3 and writes replies on fd 4
        commands, replies = os.dup(to_chrome_r), os.dup(from_chrome_w)  # copies first: 3 or 4 may be either
        os.dup2(commands, 3)
        os.dup2(replies, 4)

    proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                             f"--user-data-dir={profile}", "--no-first-run", "about:blank"],
                            preexec_fn=fds, pass_fds=(3, 4, to_chrome_r, from_chrome_w), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    pipe = _Pipe(proc, to_chrome_w, from_chrome_r)
    result = Visit()
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Runtime.enable", "Page.enable"):
            pipe.send(method, session=session)
        pipe.send("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1],
                                                          "deviceScaleFactor": 1, "mobile": False}, session=session)
        pipe.send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + timeout
        while True:
            done = pipe.send("Runtime.evaluate", {"expression": f"document.readyState === 'complete' && ({wait_for})",
                                                  "returnByValue": True}, session=session)
            if done.get("result", {}).get("value") is True:
                break
            if time.monotonic() > deadline:
                break  # the probe shows what did not render
            time.sleep(0.2)
        value = pipe.send("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session)
        result.probe = value.get("result", {}).get("value")
        shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        for event in pipe.events:
            params = event.get("params", {})
            if event.get("method") == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                result.console.append((params.get("type", ""), text))
            elif event.get("method") == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                result.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        try:
            pipe.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError):
            pass
    finally:
        os.close(to_chrome_w)
        os.close(from_chrome_r)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return result
