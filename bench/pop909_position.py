"""How much the metrical position tells about the next chord in POP909 (issue 15): bits per chord on
songs 701-800 of the Kneser-Ney bigram trained on 001-700, and of the same bigram refined by the
chord's position, smoothed towards it (Dirichlet, strength beta chosen on 701-800):

    p(s | prev, pos) = (c(prev, pos, s) + beta * p_KN(s | prev)) / (c(prev, pos) + beta)

Positions are what a generator knows once the chord rhythm is drawn: the onset's place in the bar
(bar line / half bar / other), the bar in the 4-bar phrase, and whether the chord ends a phrase.
Writes "POP909: next chord given the metrical position (issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/pop909_position.py
"""
from __future__ import annotations


import numpy as np

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import pop909_train_and_selection, write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BETAS = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)


def rows(songs, position: str):
    """(previous state or -1, state, position key) per chord of each segment."""
    from models.chord_states import chord_state_index

    out = []
    for song in songs:
        bpb = song.metre.beats_per_bar
        ends = {}
        for chord in song.chords:
            end = chord.start + chord.event.beats
            # ends a phrase: its end is a bar line of a phrase start
            lines = np.asarray(song.bar_lines)
            i = int(np.searchsorted(lines, end - 1e-6))
            ends[chord.start] = i < len(lines) and abs(lines[i] - end) < 1e-6 and (i - song.phrase_offset) % 4 == 0
        previous, segment = -1, None
        for chord in song.chords:
            if chord.segment != segment:
                previous, segment = -1, chord.segment
            beat = chord.beat_in_bar
            place = 0 if beat == 0 else (1 if bpb % 2 == 0 and beat == bpb // 2 else 2)
            keys = {"none": (), "bar": (place,), "phrase": (place, song.bar_in_phrase(chord)),
                    "phrase end": (place, song.bar_in_phrase(chord), ends[chord.start])}
            state = chord_state_index(chord.event)
            out.append((previous, state, keys[position]))
            previous = state
    return out


def main() -> int:
    splits = pop909_train_and_selection(DATA, "bench/pop909_position.py")
    if splits is None:
        return 0
    train, val = splits
    from research.baselines import KneserNeyModel

    kn = KneserNeyModel(2).fit([e for s in train for e, _ in s.segments()])
    results = []
    for position in ("none", "bar", "phrase", "phrase end"):
        counts: dict[tuple, dict[int, int]] = {}
        for previous, state, key in rows(train, position):
            table = counts.setdefault((previous, key), {})
            table[state] = table.get(state, 0) + 1
        val_rows = rows(val, position)
        best = None
        for beta in BETAS:
            bits = 0.0
            for previous, state, key in val_rows:
                base = kn.probs_next(np.asarray([previous] if previous >= 0 else [], np.int64))[state]
                table = counts.get((previous, key), {})
                total = sum(table.values())
                bits -= np.log2((table.get(state, 0) + beta * base) / (total + beta))
            bits /= len(val_rows)
            if best is None or bits < best[1]:
                best = (beta, bits)
        results.append((position, best, len(val_rows)))
        print(position, best, flush=True)
    kn_bits = -np.mean([np.log2(kn.probs_next(np.asarray([p] if p >= 0 else [], np.int64))[s]) for p, s, _ in rows(val, "none")])
    names = {"none": "previous chord only (re-smoothed)", "bar": "+ place in the bar (bar line / half bar / other)",
             "phrase": "+ bar in the 4-bar phrase", "phrase end": "+ the chord ends a phrase"}
    lines = [f"POP909 701-800, {results[0][2]} chords; trained on 001-700; beta chosen on 701-800 from {list(BETAS)}. "
             "Phrase bars from models.pop909's per-song phrase-offset estimate (POP909 here has no phrase annotations).", "",
             "| model | bits/chord | beta |", "|---|---|---|",
             f"| KN bigram (research.baselines) | {kn_bits:.3f} | |"]
    for position, (beta, bits), _ in results:
        lines.append(f"| KN bigram refined by {names[position]} | {bits:.3f} | {beta:g} |")
    text = "\n".join(lines)
    print(text)
    write_section("POP909: next chord given the metrical position (issue 15)", text, "bench/pop909_position.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
