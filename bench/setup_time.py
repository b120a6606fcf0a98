"""How long `make test`'s install step takes: a fresh clone with a fresh virtual environment.

Debian packages: timed only if missing (apt-get); on a machine that has them, the check is timed.
Run: .venv/bin/python bench/setup_time.py   (takes several minutes; pip's own cache is used as pip
normally would, so the second machine-wide install is faster than the very first download)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="moodchords-setup-bench-"))
    try:
        clone = workdir / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = dict(os.environ)
        first = timed(["bash", "scripts/setup.sh"], clone, env)
        second = timed(["bash", "scripts/setup.sh"], clone, env)
        venv_size = subprocess.run(["du", "-sh", str(clone / ".venv")], capture_output=True, text=True).stdout.split()[0]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [
        "| step | seconds |", "|---|---|",
        f"| first `scripts/setup.sh` in a fresh clone (new .venv; Debian packages already present) | {first:.0f} |",
        f"| second run (nothing to install) | {second:.1f} |",
        "", f"Virtual environment size: {venv_size}.",
    ]
    write_section("Set-up time", "\n".join(lines), script="bench/setup_time.py")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
