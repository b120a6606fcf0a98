"""assistant.runtime: the malloc arena cap the CLI and the window apply at start."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.runtime import limit_malloc_arenas

ROOT = Path(__file__).resolve().parent.parent

# Six live threads allocate (50 kB: malloc, not pymalloc); then glibc's malloc_info lists the arenas.
COUNT_ARENAS = r"""
import ctypes, sys, tempfile, threading
from assistant.runtime import limit_malloc_arenas
if sys.argv[1] == "limit":
    assert limit_malloc_arenas(2)
kept = []
together = threading.Barrier(6)
def work():  # all alive at once: an exited thread's arena is handed to the next one
    kept.append(bytearray(50_000))
    together.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
[t.start() for t in threads]; [t.join() for t in threads]
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
libc.fclose.argtypes = (ctypes.c_void_p,)
path = tempfile.mktemp()
handle = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, handle)
libc.fclose(handle)
print(open(path).read().count("<heap nr="))
"""


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", COUNT_ARENAS, mode], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_cap_keeps_worker_threads_in_two_arenas():
    assert limit_malloc_arenas() is True
    assert _arenas("limit") <= 2
    assert _arenas("default") > 2  # without the cap each new thread gets an arena of its own


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="arenas 0 not allowed"):
        limit_malloc_arenas(0)
