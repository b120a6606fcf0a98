"""A real X server for window-geometry checks: Xvfb at a given screen size, a Python script run on it
with Qt's xcb platform, and the JSON object its last output line prints. Used by the layout tests and
bench/window_width.py; each picks its own display numbers so the two can run at the same time."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def free_display(numbers: range) -> int:
    """The first X display number in ``numbers`` with neither a socket nor a lock file."""
    for number in numbers:
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError(f"no free X display number in {numbers.start}..{numbers.stop - 1}")


def run_json_on_xvfb(script: str, argument: str, width_px: int, height_px: int, *, cwd: Path,
                     displays: range = range(140, 200), timeout_s: float = 120.0) -> dict:
    """Start Xvfb with a ``width_px`` x ``height_px`` screen, run ``python -c script argument`` on it
    in ``cwd``, stop the server by its PID, and return the JSON of the script's last line (RuntimeError
    with the script's stderr when it fails)."""
    display = free_display(displays)
    server = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{width_px}x{height_px}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb :{display} did not start")
            time.sleep(0.05)
        env = dict(os.environ, DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb")
        result = subprocess.run([sys.executable, "-c", script, argument], cwd=cwd, env=env,
                                capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-3000:])
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait(timeout=10)
