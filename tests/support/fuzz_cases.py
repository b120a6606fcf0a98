"""The project's fuzz harness (issue 18, "Tests and numbers"): one seeded case generator and one
runner for each input surface, shared by tests/test_fuzz.py (a few hundred cases in `make test`)
and bench/fuzz.py (`make fuzz`: 100,000 per surface on a process pool).

Surfaces:
- ``midi``: models.dataset.load_clip (the shared MIDI reader and the analysis behind it) on
  corrupted valid files, the adversarial files of tests/support/bad_midi.py, random bytes and
  random chunks behind a real header;
- ``text``: assistant.request_text.normalize_request, the settings parser on the raw text, and the
  real MoodReader on every ``reader_every``-th case (tests/support/text_fuzz.py's texts);
- ``model_config``: models.model_folder.load_model_set on copies of the shipped folder with a mutated
  config.json or a fuzzed npy header (tests/support/bad_model_folders.py);
- ``audio``: assistant.audio.read_audio_file (what `moodchords transcribe` decodes before Whisper)
  on random bytes, corrupted and truncated WAV/FLAC/OGG files, hand-made WAV headers with huge
  declared sizes, odd sample rates, channel counts and sample formats, NaN/inf float samples, and
  empty files. Decoding only: no Whisper.

A case is reproducible from (surface, seed, index): ``make_case`` writes its input into a folder
and ``run_case`` feeds it to the surface, timing it (CPU of this process and its children, wall)
and measuring this process's peak resident memory growth during the case (VmHWM reset through
/proc/self/clear_refs before it). The only exceptions allowed are the project's user errors
(assistant.errors.USER_ERRORS); anything else is an "uncaught" outcome with its traceback.
"""
from __future__ import annotations

import json
import random
import resource
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import traceback
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.errors import USER_ERRORS
from tests.support import bad_midi

SURFACES = ("midi", "text", "model_config", "audio")
CASE_SECONDS = 5.0  # issue 18: every case under 5 s ...
CASE_MB = 500.0  # ... and 500 MB
HANG_SECONDS = 120  # a case still running after this is stopped (SIGALRM) and counted as a hang


@dataclass(frozen=True)
class CaseResult:
    """What one fuzz case did."""
    surface: str  # one of SURFACES
    index: int  # the case number (with the seed, enough to make it again)
    what: str  # how the input was made, for reports
    outcome: str  # "ok" (accepted), "refused" (a user error), "uncaught" or "hang"
    error: str  # the exception's type and message ("" when ok); the traceback for uncaught ones
    cpu_seconds: float  # CPU time of this process and the children it waited for during the case
    wall_seconds: float  # elapsed time (the cores are shared: may include waiting for them)
    peak_growth_mb: float  # this process's peak resident memory during the case minus its memory before
    input_path: str  # where make_case wrote the input (a file or a folder)


class CaseHang(BaseException):
    """Raised by SIGALRM inside a case that outlives HANG_SECONDS (BaseException: no except
    Exception in the code under test swallows it)."""


# ------------------------------------------------------------------------------------ memory


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def process_peak_mb() -> float:
    """This process's own peak resident memory (VmHWM; ru_maxrss keeps a forking parent's)."""
    return _status_kb("VmHWM") / 1024


# ------------------------------------------------------------------------------------ MIDI


def _midi_bases() -> list[bytes]:
    return [bad_midi.chord_song(12), bad_midi.huge_trailing_silence(5000), bad_midi.pedal_storm(30),
            bad_midi.stacked_same_key(8), bad_midi.dense_notes_file(3000),
            bad_midi.chord_song(40, division=96, beats_per_chord=3)]


def make_midi(rng: random.Random, folder: Path, context: dict) -> tuple[Path, str]:
    if "midi_bases" not in context:
        context["midi_bases"] = _midi_bases()
    bases = context["midi_bases"]
    kind = rng.random()
    if kind < 0.6:
        base = rng.randrange(len(bases))
        flips = rng.randint(1, 16)
        data, what = bad_midi.random_corruption(bases[base], rng.randrange(2**32), flips), f"base {base}, {flips} flips"
    elif kind < 0.7:
        name = rng.choice(sorted(bad_midi.ADVERSARIAL_CASES))
        data = bad_midi.ADVERSARIAL_CASES[name]()
        if rng.random() < 0.5:
            data, name = bad_midi.random_corruption(data, rng.randrange(2**32), rng.randint(1, 4)), name + ", corrupted"
        what = f"adversarial {name}"
    elif kind < 0.8:
        data = rng.randbytes(rng.randint(0, 4096))
        what = f"{len(data)} random bytes"
    else:  # a valid header, then chunks of random content and sizes
        division = rng.choice([0, 1, 2, 96, 480, 0x7FFF, 0x8000 | 0x1E28, 0xFFFF])
        tracks = []
        for _ in range(rng.randint(1, 4)):
            events = [(rng.choice([0, 1, 127, 128, 0x0FFFFFFF, rng.randrange(1 << 21)]),
                       rng.randbytes(rng.randint(1, 6))) for _ in range(rng.randint(0, 40))]
            tracks.append(bad_midi.chunk(b"MTrk", b"".join(bad_midi.vlq(d) + e for d, e in events)))
        data = bad_midi.header(len(tracks), file_format=rng.choice([0, 1, 2, 7]), division=division) + b"".join(tracks)
        what = f"header + {len(tracks)} random tracks, division {division}"
    path = folder / "case.mid"
    path.write_bytes(data)
    return path, what


def run_midi(path: Path, context: dict) -> None:
    from models.dataset import load_clip

    load_clip(path, use_cache=False)


# ------------------------------------------------------------------------------------ text


def make_text(rng: random.Random, folder: Path, context: dict) -> tuple[Path, str]:
    from tests.support.text_fuzz import fuzz_text

    text = fuzz_text(rng)
    path = folder / "case.json"
    # ensure_ascii keeps lone surrogates as \\udXXX escapes, so the reproducer reads back the same text
    path.write_text(json.dumps({"text": text}, ensure_ascii=True))
    return path, f"{len(text):,} characters"


def run_text(path: Path, context: dict) -> None:
    from assistant.errors import InvalidInput
    from assistant.language import parse_settings_detailed
    from assistant.request_text import normalize_request

    text = json.loads(path.read_text())["text"]
    try:
        parse_settings_detailed(text)  # the raw text, as a library caller might pass it
    except InvalidInput:
        pass
    clean = normalize_request(text)
    clean.encode("utf-8")  # nothing unencodable gets past the boundary
    parse_settings_detailed(clean)
    reader = context.get("reader")
    if reader is not None and context["case_index"] % context.get("reader_every", 10) == 0:
        mood = reader.read(clean)
        assert abs(sum(mood.class_weights.values()) - 1.0) < 1e-6, mood.class_weights


def load_reader(context: dict) -> None:
    """The real MoodReader, loaded once per process before any case is timed."""
    from assistant.language import MoodReader
    from models.emotion_classes import EMOPIA_CLASSES

    context["reader"] = MoodReader(EMOPIA_CLASSES)


# ------------------------------------------------------------------------------------ model folders


def make_model_config(rng: random.Random, folder: Path, context: dict) -> tuple[Path, str]:
    from tests.support import bad_model_folders as bad

    if "config0" not in context:
        context["config0"], context["arrays"] = bad.shipped_config(), bad.shipped_arrays()
    model = bad.copy_model_folder(folder)
    if rng.random() < 1 / 3:
        (model / "class_Q1.npz").unlink()
        what = "npz header of " + bad.write_fuzzed_npz(rng, context["arrays"], model / "class_Q1.npz")
    else:
        config = json.loads(json.dumps(context["config0"]))
        what = "config " + ", ".join(bad.mutate_config(rng, config) for _ in range(rng.choice([1, 1, 2, 3])))
        (model / bad.CONFIG).write_text(json.dumps(config))
    return model, what


def run_model_config(path: Path, context: dict) -> None:
    from models.model_folder import load_model_set

    load_model_set(path)


# ------------------------------------------------------------------------------------ audio

AUDIO_RATES = [0, 1, 7, 8000, 16000, 22050, 44100, 96000, 192000, 2**31 - 1, 2**32 - 1]
AUDIO_SIZES = [None, 0, 1, 0x7FFFFFFF, 0xFFFFFFFF]  # None: the true size


def _wav_bytes(*, tag: int = 1, channels: int = 1, rate: int = 16000, bits: int = 16, payload: bytes = b"",
               riff_size: int | None = None, data_size: int | None = None, block_align: int | None = None) -> bytes:
    """A RIFF/WAVE file with exactly these header fields (sizes as declared, not as true)."""
    align = block_align if block_align is not None else (channels * bits // 8) & 0xFFFF
    fmt = struct.pack("<HHIIHH", tag & 0xFFFF, channels & 0xFFFF, rate & 0xFFFFFFFF, (rate * align) & 0xFFFFFFFF,
                      align & 0xFFFF, bits & 0xFFFF)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(payload) if data_size is None else data_size) + payload
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def _audio_bases(folder: Path) -> dict[str, bytes]:
    """A second of a 440 Hz tone as 16-bit WAV, 32-bit float WAV, FLAC and Ogg Vorbis (ffmpeg
    encodes the last two once per process)."""
    tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)
    wav = folder / "tone.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes((tone * 20000).astype("<i2").tobytes())
    bases = {"wav": wav.read_bytes(),
             "float.wav": _wav_bytes(tag=3, rate=44100, bits=32, payload=tone.astype("<f4").tobytes())}
    for suffix, codec in (("flac", "flac"), ("ogg", "libvorbis")):
        target = folder / f"tone.{suffix}"
        result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(wav), "-c:a", codec, str(target)],
                                capture_output=True, timeout=60)
        if result.returncode == 0:
            bases[suffix] = target.read_bytes()
    return bases


def make_audio(rng: random.Random, folder: Path, context: dict) -> tuple[Path, str]:
    if "audio_bases" not in context:
        context["audio_bases"] = _audio_bases(Path(tempfile.mkdtemp(prefix="audio-bases-", dir=folder.parent)))
    bases: dict[str, bytes] = context["audio_bases"]
    kind = rng.random()
    if kind < 0.35:
        name = rng.choice(sorted(bases))
        flips = rng.randint(1, 24)
        data = bad_midi.random_corruption(bases[name], rng.randrange(2**32), flips)
        what, suffix = f"{name} with {flips} flipped bytes", name.rsplit(".", 1)[-1]
    elif kind < 0.5:
        name = rng.choice(sorted(bases))
        cut = rng.choice([rng.randrange(0, 64), rng.randrange(len(bases[name]))])
        data, what, suffix = bases[name][:cut], f"{name} cut at byte {cut}", name.rsplit(".", 1)[-1]
    elif kind < 0.85:  # a hand-made WAV header
        tag = rng.choice([1, 1, 3, 3, 0, 2, 6, 7, 0x55, 0xFFFE, rng.randrange(65536)])
        bits = rng.choice([8, 16, 24, 32, 64, 0, 1, 7, 12, 65535])
        channels = rng.choice([1, 1, 2, 0, 3, 8, 255, 65535])
        rate = rng.choice(AUDIO_RATES)
        n = rng.choice([0, 1, 100, 16000, 40000])
        fill = rng.random()
        if fill < 0.3 and tag == 3:
            values = rng.choice([np.nan, np.inf, -np.inf, 1e38, -1e38, 0.5])
            payload = np.full(n, values, dtype="<f4" if bits != 64 else "<f8").tobytes()
            content = f"float {values}"
        elif fill < 0.5:
            payload = np.array([np.nan, np.inf, -np.inf, 0.0] * (n // 4 + 1), dtype="<f4").tobytes()[: n * 4]
            content = "NaN/inf floats"
        else:
            payload = rng.randbytes(min(n * 2, 80000))
            content = "random samples"
        riff, data_size = rng.choice(AUDIO_SIZES), rng.choice(AUDIO_SIZES)
        align = rng.choice([None, None, 0, 1, 65535])
        data = _wav_bytes(tag=tag, channels=channels, rate=rate, bits=bits, payload=payload, riff_size=riff,
                          data_size=data_size, block_align=align)
        what = (f"WAV tag {tag}, {channels} ch, {rate} Hz, {bits} bits, align {align}, riff size {riff}, "
                f"data size {data_size}, {content} ({len(payload)} bytes)")
        suffix = "wav"
    elif kind < 0.9:  # a FLAC or Ogg signature, then random or oversized header fields
        magic = rng.choice([b"fLaC", b"OggS", b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f", b"RIFF\xff\xff\xff\xffWAVE"])
        data = magic + rng.randbytes(rng.randint(0, 2048))
        what, suffix = f"{magic[:4]!r} + random bytes", {b"fLaC": "flac", b"OggS": "ogg"}.get(magic[:4], "bin")
    elif kind < 0.95:
        data, what, suffix = b"", "empty file", rng.choice(["wav", "flac", "ogg"])
    else:
        data = rng.randbytes(rng.choice([1, 16, 512, 65536]))
        what, suffix = f"{len(data)} random bytes", rng.choice(["wav", "flac", "ogg", "mp3", "bin"])
    path = folder / f"case.{suffix}"
    path.write_bytes(data)
    return path, what


def run_audio(path: Path, context: dict) -> None:
    from assistant.audio import MAX_FILE_SECONDS, SAMPLE_RATE, read_audio_file

    loaded = read_audio_file(path)
    samples = loaded.samples
    assert samples.dtype == np.float32 and samples.ndim == 1 and samples.size > 0, (samples.dtype, samples.shape)
    assert samples.size <= (MAX_FILE_SECONDS + 1) * SAMPLE_RATE, samples.size
    assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0


# ------------------------------------------------------------------------------------ running

MAKERS: dict[str, Callable[[random.Random, Path, dict], tuple[Path, str]]] = {
    "midi": make_midi, "text": make_text, "model_config": make_model_config, "audio": make_audio}
RUNNERS: dict[str, Callable[[Path, dict], None]] = {
    "midi": run_midi, "text": run_text, "model_config": run_model_config, "audio": run_audio}


def case_rng(surface: str, seed: int, index: int) -> random.Random:
    """The case's own generator: the same (surface, seed, index), the same input."""
    return random.Random(f"{surface}:{seed}:{index}")


def make_case(surface: str, seed: int, index: int, folder: Path, context: dict) -> tuple[Path, str]:
    return MAKERS[surface](case_rng(surface, seed, index), folder, context)


def _on_alarm(signum, frame):
    raise CaseHang()


def run_case(surface: str, seed: int, index: int, context: dict, folder: Path | None = None) -> CaseResult:
    """Make case ``index`` of ``surface`` in ``folder`` (a fresh temporary one if None) and run it."""
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix=f"moodchords-fuzz-{surface}-"))
    folder.mkdir(parents=True, exist_ok=True)
    for child in folder.iterdir():  # one case's input at a time
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    path, what = make_case(surface, seed, index, folder, context)
    context["case_index"] = index
    measured = _reset_peak()
    rss_before = _status_kb("VmRSS")
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HANG_SECONDS)
    outcome, error = "ok", ""
    try:
        RUNNERS[surface](path, context)
    except USER_ERRORS as caught:
        outcome, error = "refused", f"{type(caught).__name__}: {caught}"
    except CaseHang:
        outcome, error = "hang", f"still running after {HANG_SECONDS} s"
    except Exception as caught:  # noqa: BLE001 - the harness exists to count these
        outcome, error = "uncaught", f"{type(caught).__name__}: {caught}\n{traceback.format_exc(limit=-6)}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    wall = time.perf_counter() - started
    own_after, children_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(after, f) - getattr(before, f) for before, after in ((own, own_after), (children, children_after))
              for f in ("ru_utime", "ru_stime"))
    growth = (_status_kb("VmHWM") - rss_before) / 1024 if measured else float("nan")
    return CaseResult(surface, index, what, outcome, error[:4000], cpu, wall, max(growth, 0.0), str(path))


def prepare(surface: str, context: dict, *, reader: bool = True) -> None:
    """Load what a surface's cases share (the MoodReader for text) before any case is timed, and
    warm the code paths once, so a case's time and memory are its own."""
    if surface == "text" and reader and "reader" not in context:
        load_reader(context)
    warm = Path(tempfile.mkdtemp(prefix=f"moodchords-fuzz-warm-{surface}-"))
    run_case(surface, -1, 0, context, warm)
    shutil.rmtree(warm, ignore_errors=True)


def save_reproducer(result: CaseResult, seed: int, folder: Path) -> Path:
    """Copy the case's input (file or folder) and what happened into ``folder``/SURFACE-INDEX."""
    target = Path(folder) / f"{result.surface}-{result.index}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    source = Path(result.input_path)
    if source.is_dir():
        shutil.copytree(source, target / source.name, symlinks=False)
    else:
        shutil.copy2(source, target / source.name)
    (target / "what.txt").write_text(
        f"surface {result.surface}, seed {seed}, case {result.index}: {result.what}\n"
        f"make again: tests.support.fuzz_cases.run_case({result.surface!r}, {seed}, {result.index}, {{}})\n\n"
        f"{result.outcome}: {result.error}\n")
    return target
