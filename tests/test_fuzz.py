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
