"""Push-to-talk pre-roll (issue 16 item 2): what an armed microphone costs while idle, and what it
saves. A private PulseAudio server with the virtual microphone (as in the tests), fed room tone.

- CPU: this process's CPU time (all threads, PortAudio's callback thread included) over a window
  with the microphone closed, then armed (stream open, every 32 ms block copied into the ring).
- PreRollBuffer.push for one 32 ms block at 16 kHz.
- start(): how long the call takes, and how long until the first block arrives, closed vs armed
  (closed, what is said in that time is lost; armed, the recording starts 0.3 s in the past).

Run: .venv/bin/python bench/pre_roll.py [--seconds 10] [--starts 8]   (about a minute)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit

import _bootstrap  # noqa: F401  (first: puts the project on sys.path, keeps the models offline)
import numpy as np  # noqa: E402
from common import write_section  # noqa: E402

from assistant import audio  # noqa: E402
from tests.support.daemons import MIC_SOURCE, PulseAudio, running  # noqa: E402


def cpu_percent(seconds: float) -> float:
    """This process's CPU use over ``seconds`` of sleeping, % of one core."""
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    return 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)


def first_block_ms(microphone: audio.Microphone) -> tuple[float, float]:
    """(ms the start() call took, ms until the recording holds a block past its pre-roll)."""
    began = time.perf_counter()
    microphone.start()
    returned = time.perf_counter()
    with microphone._state_lock:
        already = sum(len(chunk) for chunk in microphone._chunks)
    while True:
        with microphone._state_lock:
            if sum(len(chunk) for chunk in microphone._chunks) > already:
                break
        if time.perf_counter() - began > 10:
            raise RuntimeError("the microphone delivered nothing in 10 s")
        time.sleep(0.001)
    arrived = time.perf_counter()
    microphone.stop()
    return 1000 * (returned - began), 1000 * (arrived - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each CPU window")
    parser.add_argument("--starts", type=int, default=8, help="start() calls timed per case")
    args = parser.parse_args()

    block = np.random.default_rng(0).standard_normal(512).astype(np.float32)
    ring = audio.PreRollBuffer(int(audio.PUSH_TO_TALK_PRE_ROLL_S * audio.SAMPLE_RATE))
    loops = 20000
    push_us = 1e6 * min(timeit.repeat(lambda: ring.push(block), number=loops, repeat=5)) / loops

    with running(PulseAudio()):
        microphone = audio.Microphone(MIC_SOURCE)
        microphone.record(0.5)  # the virtual source takes 1-2 s to deliver the first time
        closed_cpu = cpu_percent(args.seconds)
        microphone.arm()
        time.sleep(1.0)
        armed_cpu = cpu_percent(args.seconds)
        armed_starts = [first_block_ms(microphone) for _ in range(args.starts)]
        microphone.disarm()
        closed_starts = []
        for _ in range(args.starts):
            closed_starts.append(first_block_ms(microphone))
            time.sleep(0.2)
        microphone.close()

    load = os.getloadavg()
    median = statistics.median

    def row(name: str, starts: list[tuple[float, float]]) -> str:
        return (f"| {name} | {median(s[0] for s in starts):.1f} | {median(s[1] for s in starts):.0f} "
                f"(max {max(s[1] for s in starts):.0f}) |")

    body = "\n".join([
        f"Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (2 cores, shared with other work). "
        f"PulseAudio's own CPU is not counted (a real desktop's server runs anyway).",
        "",
        f"| microphone | CPU of this process, % of one core ({args.seconds:.0f} s) |",
        "|---|---|",
        f"| closed | {closed_cpu:.2f} |",
        f"| armed (0.3 s pre-roll) | {armed_cpu:.2f} |",
        "",
        f"PreRollBuffer.push of one 512-sample block: {push_us:.2f} µs (best of 5 x {loops}).",
        "",
        f"start() over {args.starts} calls (median ms):",
        "",
        "| microphone | start() returns | first new block arrives |",
        "|---|---|---|",
        row("closed (opens a stream)", closed_starts),
        row("armed (stream open, pre-roll in front)", armed_starts),
    ])
    write_section("Push-to-talk pre-roll (issue 16)", body, "bench/pre_roll.py")
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
