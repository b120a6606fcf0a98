"""The fuzz harness, briefly (issue 18, "Tests and numbers"): a few hundred seeded cases over the
four input surfaces (the MIDI reader, the text path with the real MoodReader, model folders, audio
files decoded by ffmpeg). Every case may only raise the project's user errors, and must stay under
5 s of CPU and 500 MB of memory growth. `make fuzz` (bench/fuzz.py) runs the same cases by the
hundred thousand."""
from __future__ import annotations

import pytest

from tests.support.fuzz_cases import CASE_MB, CASE_SECONDS, prepare, run_case

SEED = 18
CASES = {"midi": 100, "text": 100, "model_config": 80, "audio": 30}  # audio: two ffmpeg runs a case
READER_EVERY = 10  # the real MoodReader reads every 10th text (the rest: normalising and settings parsing)


@pytest.mark.parametrize("surface", sorted(CASES))
@pytest.mark.slow
def test_fuzz_cases_raise_only_user_errors_within_time_and_memory(surface, tmp_path):
    context = {"reader_every": READER_EVERY}
    prepare(surface, context)
    outcomes: dict[str, int] = {}
    for index in range(CASES[surface]):
        result = run_case(surface, SEED, index, context, tmp_path)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        assert result.outcome in ("ok", "refused"), (result.what, result.error)
        assert result.cpu_seconds < CASE_SECONDS, (result.what, result.cpu_seconds)
        assert result.peak_growth_mb < CASE_MB, (result.what, result.peak_growth_mb)
    # the generators must reach both sides: inputs the surface accepts and inputs it refuses
    assert outcomes.get("ok", 0) > 0 and outcomes.get("refused", 0) > 0, outcomes


def test_an_uncaught_exception_is_reported_with_its_reproducer(tmp_path):
    """The harness itself can fail: a runner that raises a non-user error is counted as uncaught and
    its input saved with how to make it again."""
    from tests.support import fuzz_cases

    def broken(path, context):
        raise KeyError("not a user error")

    original = fuzz_cases.RUNNERS["midi"]
    fuzz_cases.RUNNERS["midi"] = broken
    try:
        result = run_case("midi", SEED, 3, {}, tmp_path / "case")
    finally:
        fuzz_cases.RUNNERS["midi"] = original
    assert result.outcome == "uncaught" and result.error.startswith("KeyError")
    saved = fuzz_cases.save_reproducer(result, SEED, tmp_path / "reproducers")
    assert (saved / "case.mid").read_bytes() == (tmp_path / "case" / "case.mid").read_bytes()
    assert f"run_case('midi', {SEED}, 3" in (saved / "what.txt").read_text()


def test_a_wav_declaring_one_sample_a_second_in_huge_blocks_decodes_quickly(tmp_path):
    """Found by the fuzz: mu-law at 1 Hz with a 65,535-byte block and 160 KB of data made ffmpeg
    demux the whole declared length to give its 120 s (~10 s of CPU); the input-side limit stops it."""
    import resource

    import numpy as np

    from assistant.audio import MAX_FILE_SECONDS, SAMPLE_RATE, read_audio_file
    from tests.support.fuzz_cases import _wav_bytes

    payload = np.array([np.nan, np.inf, -np.inf, 0.0] * 10_000, dtype="<f4").tobytes()
    path = tmp_path / "slow.wav"
    path.write_bytes(_wav_bytes(tag=7, channels=1, rate=1, bits=12, payload=payload, riff_size=0xFFFFFFFF,
                                block_align=65535))

    def cpu() -> float:
        return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                   for f in ("ru_utime", "ru_stime"))

    started = cpu()
    loaded = read_audio_file(path)
    assert cpu() - started < 2.0
    assert loaded.samples.size <= MAX_FILE_SECONDS * SAMPLE_RATE and np.isfinite(loaded.samples).all()


def test_fuzz_runs_add_up_in_the_state_file(tmp_path):
    """`make fuzz` runs add up: a second run continues where the first stopped (cases 0..N-1 in
    order), and the state records both runs, their case ranges and the totals."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    state = tmp_path / "state.json"
    for cases in (70, 150):
        done = subprocess.run([sys.executable, "bench/fuzz.py", "--surfaces", "midi", "--cases", str(cases),
                               "--workers", "1", "--state", str(state), "--no-results",
                               "--reproducers", str(tmp_path / "reproducers")],
                              cwd=root, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    stream = json.loads(state.read_text())["streams"]["midi:seed0"]
    assert stream["next_index"] == 150
    assert sum(stream["outcomes"].values()) == 150 and set(stream["outcomes"]) <= {"ok", "refused"}
    assert [(run["first"], run["next"], run["stopped"]) for run in stream["runs"]] == [(0, 70, "cases"),
                                                                                      (70, 150, "cases")]
    assert stream["slowest_cpu"]["index"] < 150 and stream["seconds"] > 0
    again = subprocess.run([sys.executable, "bench/fuzz.py", "--surfaces", "midi", "--cases", "150", "--workers", "1",
                            "--state", str(state), "--no-results"], cwd=root, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0 and "already run" in again.stdout
    assert len(json.loads(state.read_text())["streams"]["midi:seed0"]["runs"]) == 2
    replay = subprocess.run([sys.executable, "bench/fuzz.py", "--surfaces", "midi", "--replay-slowest", "--state",
                             str(state), "--no-results"], cwd=root, capture_output=True, text=True, timeout=300)
    assert replay.returncode == 0, replay.stderr[-2000:]
    recorded = {stream[key]["index"] for key in ("slowest_wall", "slowest_cpu", "most_memory")}
    rows = [line for line in replay.stdout.splitlines() if line.startswith("| midi |")]
    assert sorted(int(row.split("|")[2]) for row in rows) == sorted(recorded)  # each recorded case, run again
    assert all(row.split("|")[4].strip() in {"ok", "refused"} for row in rows)


def test_audio_files_shorter_than_the_limit_are_decoded_by_one_process(tmp_path, monkeypatch):
    """read_audio_file asks ffprobe for a file's length only when the decode reaches the limit: one
    process a file instead of two (ffprobe cost as much as the decode itself, half of an audio fuzz
    case; bench/fuzz.py --costs). A short file's length is then its decoded length; a file that
    reaches the limit is still probed and reported truncated with its own length."""
    import numpy as np

    from assistant import audio
    from tests.support.fuzz_cases import _wav_bytes

    probed = []
    real_probe = audio._probe_seconds
    monkeypatch.setattr(audio, "_probe_seconds", lambda path: probed.append(path) or real_probe(path))
    tone = (np.sin(2 * np.pi * 440 * np.arange(16000) / 16000) * 20000).astype("<i2").tobytes()
    short = tmp_path / "short.wav"
    short.write_bytes(_wav_bytes(rate=16000, payload=tone, riff_size=0xFFFFFFFF, data_size=0x7FFFFFFF))
    loaded = audio.read_audio_file(short)
    assert probed == [] and not loaded.truncated
    assert loaded.seconds == pytest.approx(1.0, abs=0.05) and loaded.source_seconds == pytest.approx(loaded.seconds)
    long = tmp_path / "long.wav"
    long.write_bytes(_wav_bytes(rate=16000, payload=tone * 4))  # 4 s, read with a 2 s limit
    loaded = audio.read_audio_file(long, max_seconds=2.0)
    assert probed == [long] and loaded.truncated
    assert loaded.source_seconds == pytest.approx(4.0, abs=0.05) and loaded.seconds == pytest.approx(2.0, abs=0.05)


def test_config_mutations_never_share_or_change_the_odd_values():
    """A mutation puts a copy of an odd value in place, so a later mutation of the same case cannot
    reach into it (making a cycle json cannot write) or change the value for the next cases: the
    long fuzz stopped on model_config case ~36,000 with 'Circular reference detected' before this."""
    import copy
    import json
    import random

    from tests.support import bad_model_folders as bad

    odd_before = copy.deepcopy(bad.ODD_VALUES)
    config0 = bad.shipped_config()
    rng = random.Random(7)
    for _ in range(3000):
        config = json.loads(json.dumps(config0))
        for _ in range(rng.choice([2, 3, 4])):
            bad.mutate_config(rng, config)
        json.dumps(config)  # no cycle
    assert json.dumps(bad.ODD_VALUES, allow_nan=True) == json.dumps(odd_before, allow_nan=True)
