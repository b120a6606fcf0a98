"""`make bench`: runs every bench/*.py script in turn; each appends its section to bench/RESULTS.md."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    failures = []
    for script in sorted(BENCH_DIR.glob("*.py")):
        # fuzz.py and soak.py run for hours at their defaults: `make fuzz` / `make soak`
        if script.name in {"run_all.py", "common.py", "fuzz.py", "soak.py"} or script.name.startswith("_"):
            continue
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent).returncode != 0:
            failures.append(script.name)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
