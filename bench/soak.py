"""Kill -9 soak (issue 18, "Tests and numbers"): a process adding compositions to a HistoryStore,
one writing MIDI files (assistant.midi_file.write_midi) and `moodchords train --out` on a tiny
generated data set are each killed with SIGKILL at a random moment, again and again. After every
kill: nothing the process acknowledged is lost (every record it reported added is there and
restorable; every MIDI file it reported written reads back whole; the model folder at --out is
the previous complete model or the new one, and loads); after the next normal run no stray
files remain (.OUT.tmp-/.old-/.checkpoints siblings, .NAME.mid.XXXXXXXX.tmp, history.sqlite3.corrupt-*).

Run: nice -n 10 .venv/bin/python bench/soak.py [--kills 100] [--only history,midi,training] [--seed 0]
tests/test_soak.py runs the same soaks with a few kills.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SOAKS = ("history", "midi", "training")
MOODCHORDS = ROOT / ".venv" / "bin" / "moodchords"
# The tiny data set alone: POP909's pop expert (trained by default when ../shared/data/pop909 exists) adds
# minutes a run and nothing to what is checked here, the swap at --out.
TRAIN_FAST = ["--epochs", "1", "--pretrain-epochs", "1", "--cv-folds", "0", "--hidden", "8", "--history", "2",
              "--no-pop909"]


@dataclass
class SoakResult:
    """One soak's totals."""
    name: str  # "history", "midi" or "training"
    kills: int = 0  # SIGKILLs sent
    acknowledged: int = 0  # records/files the killed processes reported done, summed over kills
    lost: list = field(default_factory=list)  # what was acknowledged and then missing or unreadable
    stray_after_kill: int = 0  # leftover temporary files or folders seen right after kills (before cleanup)
    stray_after_run: list = field(default_factory=list)  # leftovers still there after the next normal run
    outcomes: dict = field(default_factory=dict)  # e.g. training: "previous model" / "new model" -> count
    seconds: float = 0.0  # wall time

    @property
    def ok(self) -> bool:
        return not self.lost and not self.stray_after_run


class _Child:
    """A child process whose stdout lines are collected by a thread (each line an acknowledgement)."""

    def __init__(self, command: list[str], cwd: Path = ROOT):
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            line = line.rstrip("\n")
            if line == "ready":
                self.ready.set()
            else:
                self.lines.append(line)
        self.ready.set()

    def kill_after(self, seconds: float) -> bool:
        """SIGKILL after ``seconds`` (counted from now); False if the child had already ended."""
        try:
            self.process.wait(timeout=seconds)
            ended = True
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            ended = False
        self.process.wait()
        self._reader.join(timeout=30)
        self.process.stderr.close()
        return not ended


def _run_and_kill(code: str, args: list[str], seconds: float, result: "SoakResult", kill: int) -> _Child | None:
    """Run ``code`` in a child, SIGKILL it ``seconds`` after it says "ready"; None (and a loss noted in
    ``result``) when it never got ready or ended by itself."""
    child = _Child([sys.executable, "-c", code, *args])
    if not child.ready.wait(timeout=120):
        child.kill_after(0)
        result.lost.append(f"kill {kill}: the child never got ready")
        return None
    result.kills += child.kill_after(seconds)
    if child.process.returncode != -signal.SIGKILL:
        result.lost.append(f"kill {kill}: the child ended by itself (code {child.process.returncode})")
    return child


# ------------------------------------------------------------------------------------ history

HISTORY_CHILD = textwrap.dedent("""
    import sys
    from assistant.history import HistoryStore
    from assistant.pipeline import to_history_record
    from tests.support.compositions import hand_made_composition
    store = HistoryStore(sys.argv[1])
    assert store.notice is None, store.notice  # a healthy file every time: the last kill damaged nothing
    print("ready", flush=True)
    n = 0
    while True:
        record = store.add(to_history_record(hand_made_composition(text=f"soak {sys.argv[2]} {n}")))
        print(record.id, flush=True)  # acknowledged: add() has returned, so it is committed
        n += 1
""")


def soak_history(kills: int, folder: Path, rng: random.Random, progress=print) -> SoakResult:
    from assistant.history import HistoryStore
    from assistant.pipeline import from_history_record
    from tests.support.compositions import CHORD_NAMES

    result = SoakResult("history")
    started = time.perf_counter()
    path = folder / "history.sqlite3"
    acknowledged: list[str] = []
    for kill in range(kills):
        child = _run_and_kill(HISTORY_CHILD, [str(path), str(kill)], rng.uniform(0.0, 0.8), result, kill)
        if child is None:
            continue
        acknowledged += child.lines
        result.acknowledged += len(child.lines)
        result.stray_after_kill += len([p for p in folder.iterdir() if "corrupt" in p.name])
        with HistoryStore(path) as store:  # the next normal run
            if store.notice is not None:
                result.lost.append(f"kill {kill}: reopening said {store.notice!r}")
            for record_id in acknowledged[-len(child.lines) - 5:]:  # this kill's and a few earlier ones
                record = store.get(record_id)
                try:
                    restored = from_history_record(record) if record is not None else None
                except Exception as error:  # noqa: BLE001 - a record that cannot be restored counts as lost
                    restored, record = None, f"{type(error).__name__}: {error}"
                if restored is None or tuple(restored.chord_names) != CHORD_NAMES:
                    result.lost.append(f"kill {kill}: record {record_id} ({record!r})"[:300])
        if kill % 10 == 9:
            progress(f"  history: {kill + 1} kills, {result.acknowledged} acknowledged, {len(result.lost)} lost")
    with HistoryStore(path) as store:  # every acknowledged record, at the end
        stored = {r.id for r in store.list(len(acknowledged) + 100)}
        result.lost += [f"record {i} missing at the end" for i in acknowledged if i not in stored]
    result.stray_after_run = sorted(p.name for p in folder.iterdir() if p.name != path.name)
    result.seconds = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------ MIDI files

MIDI_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from assistant.midi_file import write_midi
    from tests.support.compositions import hand_made_composition
    folder = Path(sys.argv[1])
    scores = [hand_made_composition(names=names).score for names in (("C", "F", "G", "C"), ("Am", "Dm", "E7", "Am"))]
    print("ready", flush=True)
    n = 0
    while True:
        # a new file, then the same file overwritten with the other score: both must always read back whole
        target = write_midi(scores[n % 2], folder / f"run{sys.argv[2]}-song{n}.mid")
        print(target.name, flush=True)
        write_midi(scores[n % 2], folder / "current.mid")
        print("current.mid", flush=True)
        n += 1
""")


def _midi_intact(path: Path) -> bool:
    from assistant.errors import USER_ERRORS
    from assistant.midi_file import read_score

    try:
        return len(read_score(path).notes) > 0
    except USER_ERRORS:
        return False


def soak_midi(kills: int, folder: Path, rng: random.Random, progress=print) -> SoakResult:
    from assistant.midi_file import STALE_TEMP_SECONDS, TEMP_NAME, write_midi
    from tests.support.compositions import hand_made_composition

    result = SoakResult("midi")
    started = time.perf_counter()
    for kill in range(kills):
        child = _run_and_kill(MIDI_CHILD, [str(folder), str(kill)], rng.uniform(0.0, 0.5), result, kill)
        if child is None:
            continue
        result.acknowledged += len(child.lines)
        for name in set(child.lines):
            if not _midi_intact(folder / name):
                result.lost.append(f"kill {kill}: {name} acknowledged but not a whole MIDI file")
        if (folder / "current.mid").exists() and not _midi_intact(folder / "current.mid"):
            result.lost.append(f"kill {kill}: current.mid is not a whole MIDI file")  # atomic replace or nothing
        leftovers = [p for p in folder.iterdir() if TEMP_NAME.match(p.name)]
        result.stray_after_kill += len(leftovers)
        # The next normal run removes a killed write's temporary file once it is STALE_TEMP_SECONDS old
        # (a younger one may be another process's write in progress): age them, then write normally.
        for leftover in leftovers:
            old = time.time() - STALE_TEMP_SECONDS - 60
            os.utime(leftover, (old, old))
        write_midi(hand_made_composition().score, folder / "normal.mid")
        still = [p.name for p in folder.iterdir() if TEMP_NAME.match(p.name)]
        result.stray_after_run += [f"kill {kill}: {name}" for name in still]
        if kill % 10 == 9:
            progress(f"  midi: {kill + 1} kills, {result.acknowledged} acknowledged, {len(result.lost)} lost, "
                     f"{result.stray_after_kill} temporary files left by kills")
    result.seconds = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------ training


def _training_data(folder: Path) -> Path:
    """Two classes of two songs each (labels from the file names, as `train --data` reads them)."""
    from tests.support.bad_midi import chord_song

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        (folder / f"bright_{i}.mid").write_bytes(chord_song(16 + i, tempo_us=400_000, beats_per_chord=2))
        (folder / f"dark_{i}.mid").write_bytes(chord_song(12 + i, tempo_us=1_000_000))
    return folder


def _train_command(data: Path, out: Path) -> list[str]:
    return [str(MOODCHORDS), "train", "--data", str(data), "--out", str(out), *TRAIN_FAST]


def _hidden_siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def soak_training(kills: int, folder: Path, rng: random.Random, progress=print, minutes: float = 0.0) -> SoakResult:
    from models.model_folder import load_model_set

    result = SoakResult("training", outcomes={"killed, previous model at --out": 0, "killed, new model at --out": 0,
                                              "runs that ended before their kill": 0})
    started = time.perf_counter()
    data, out = _training_data(folder / "data"), folder / "model"
    first = time.perf_counter()
    subprocess.run(_train_command(data, out), cwd=ROOT, check=True, capture_output=True, timeout=600)
    full_run = time.perf_counter() - first  # kill moments are drawn over a run's length
    attempt = 0
    while result.kills < kills and attempt < 3 * kills:  # a run that ends before its kill does not count
        if minutes and time.perf_counter() - started > minutes * 60:
            result.outcomes["stopped by --minutes"] = minutes
            break
        attempt += 1
        before = (out / "config.json").read_bytes()
        run_started = time.perf_counter()
        child = _Child(_train_command(data, out))
        # half the kills anywhere in the run, half in its last third, where the model is written and swapped
        moment = rng.uniform(0, full_run) if attempt % 2 else rng.uniform(full_run * 2 / 3, full_run * 1.05)
        killed = child.kill_after(moment)
        if killed:
            result.kills += 1
        else:  # the shared cores' load changes a run's length: draw the next moments over this one's
            full_run = time.perf_counter() - run_started
            result.outcomes["runs that ended before their kill"] += 1
            if child.process.returncode != 0:
                result.lost.append(f"run {attempt}: ended with code {child.process.returncode} before its kill")
        try:
            load_model_set(out)
            replaced = (out / "config.json").read_bytes() != before
            if killed:
                result.outcomes[f"killed, {'new' if replaced else 'previous'} model at --out"] += 1
            elif not replaced:
                result.lost.append(f"run {attempt}: finished, but --out still holds the previous model")
            result.acknowledged += not killed
        except Exception as error:  # noqa: BLE001 - any failure to load is the loss this soak looks for
            result.lost.append(f"run {attempt} killed at {moment:.1f} s: {out} does not load "
                               f"({type(error).__name__}: {error})")
        result.stray_after_kill += len(_hidden_siblings(out))
        if killed and result.kills % 10 == 0:
            progress(f"  training: {result.kills} kills, {result.outcomes}, {len(result.lost)} lost")
    subprocess.run(_train_command(data, out), cwd=ROOT, check=True, capture_output=True, timeout=600)  # next normal run
    load_model_set(out)
    result.stray_after_run = _hidden_siblings(out)
    result.outcomes["last full run, s"] = round(full_run, 1)
    result.seconds = time.perf_counter() - started
    return result


RUNNERS = {"history": soak_history, "midi": soak_midi, "training": soak_training}


def section(results: list[SoakResult], seed: int) -> str:
    lines = [f"Each process is killed with SIGKILL at a random moment (seed {seed}), then checked; a normal run "
             f"follows (load average {os.getloadavg()[0]:.1f} at the end).", "",
             "| what is killed | kills | acknowledged before the kills | lost | leftovers right after kills | "
             "leftovers after the next normal run | detail | time |", "|---|---|---|---|---|---|---|---|"]
    what = {"history": "HistoryStore.add in a loop (records acknowledged once add returns)",
            "midi": "write_midi in a loop (a new file, then current.mid replaced)",
            "training": "`moodchords train --out` over an existing model (tiny data set)"}
    for r in results:
        detail = ", ".join(f"{k}: {v}" for k, v in r.outcomes.items()) or "-"
        lines.append(f"| {what[r.name]} | {r.kills} | {r.acknowledged:,} | {len(r.lost)} | {r.stray_after_kill} | "
                     f"{len(r.stray_after_run)} | {detail} | {r.seconds / 60:.1f} min |")
    for r in results:
        lines += [f"- {r.name}: {item}" for item in (r.lost + r.stray_after_run)[:5]]
        lines += ["", EXPLAINED[r.name]]
    return "\n".join(lines)


EXPLAINED = {
    "history": "After every kill the file reopens healthy (no notice) and the kill's acknowledged records (and a "
               "few earlier ones) are read back and rebuilt with from_history_record; at the end every acknowledged "
               "record is listed; leftovers: history.sqlite3.corrupt-* (and, after closing, any file but the "
               "database).",
    "midi": "Every acknowledged file and current.mid read back whole after each kill. A killed write may leave its "
            "hidden .NAME.mid.XXXXXXXX.tmp, which write_midi removes once it is an hour old (a younger one may be a "
            "write in progress), so the soak ages them before the next normal write and counts what remains.",
    "training": "Kill moments are drawn over the length of the latest full run (half in its last third, where "
                "the folder is written and swapped); a run that finishes before its moment is not a kill (its new "
                "model must be at --out: 'acknowledged'). After each run the folder at --out must load (the previous "
                "or the new model); leftovers are hidden .model.tmp-/.old-/.checkpoints siblings, which must be gone "
                "after the next complete run.",
}


def main() -> int:
    from bench.common import write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--only", default=",".join(SOAKS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=0.0,
                        help="training: start no new run after this long (0: until --kills); the table says so")
    parser.add_argument("--no-results", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    if any(n not in SOAKS for n in names):
        parser.error(f"--only {args.only!r}: allowed {', '.join(SOAKS)}")
    results = []
    for name in names:
        folder = Path(tempfile.mkdtemp(prefix=f"moodchords-soak-{name}-"))
        try:
            print(f"{name}: {args.kills} kills", flush=True)
            budget = {"minutes": args.minutes} if name == "training" else {}
            results.append(RUNNERS[name](args.kills, folder, random.Random(f"{args.seed}:{name}"), **budget))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        body = section(results[-1:], args.seed)  # a section per soak: soaks can be run (and rerun) apart
        print(body, flush=True)
        if not args.no_results:
            write_section(f"Kill -9 soak: {name}", body, "bench/soak.py " + " ".join(sys.argv[1:]))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
