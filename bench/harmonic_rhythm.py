"""Harmonic rhythm on POP909 (issue 15): bits per chord length on songs 701-800 of the shipped EMOPIA
rhythm tables and of models.harmonic_rhythm fitted on songs 001-700, with and without its phrase and
tempo conditioning; the tempo prior is chosen on 701-800. Writes "Harmonic rhythm on POP909
(issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/harmonic_rhythm.py
"""
from __future__ import annotations


import numpy as np

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import pop909_train_and_selection, write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TEMPO_PRIORS = (20.0, 80.0, 320.0, 1280.0, 5120.0)


def main() -> int:
    splits = pop909_train_and_selection(DATA, "bench/harmonic_rhythm.py")
    if splits is None:
        return 0
    train, val = splits
    import models.harmonic_rhythm as hr
    from models.model_folder import load_model_set

    rhythm = hr.fit_harmonic_rhythm(train)
    rows = hr.rhythm_rows(val)
    four = [r for r in rows if r[0] == "4/4"]
    # the shipped class tables: P(duration | half-beat position in a 4/4 bar), durations 0.5..8 beats
    model_set = load_model_set()
    tables = [np.asarray(p.rhythm_probabilities) for p in model_set.parameters.values()]
    durations = np.asarray(next(iter(model_set.parameters.values())).rhythm_durations)
    shipped = np.mean(tables, axis=0)
    shipped_bits = -np.mean([np.log2(shipped[2 * beat, int(np.flatnonzero(np.isclose(durations, length))[0])])
                             for _, _, beat, _, length in four])
    lines = [f"POP909 701-800: {len(rows)} chords on whole beats of regular bars ({len(four)} in 4/4); "
             f"tables fitted on 001-700 (models.harmonic_rhythm, lengths 1 beat .. 2 bars). Lower is better.", "",
             "| rhythm model | bits per chord length (4/4 songs) | bits (all metres) |", "|---|---|---|",
             f"| shipped EMOPIA class tables (mean of Q1-Q4; P(length given half-beat position)) | {shipped_bits:.3f} | |"]

    def bits(use_phrase, use_tempo, selected):
        total = 0.0
        for metre, tempo, beat, phrase_bar, length in selected:
            p = rhythm.probabilities(metre, beat, phrase_bar, tempo if use_tempo else None, use_phrase=use_phrase)
            total -= np.log2(p[length - 1])
        return total / len(selected)

    best_prior, best = hr.TEMPO_PRIOR, None
    shipped_prior = hr.TEMPO_PRIOR
    by_prior = []
    try:
        for prior in TEMPO_PRIORS:
            hr.TEMPO_PRIOR = prior
            value = bits(True, True, rows)
            by_prior.append(f"{prior:g}: {value:.4f}")
            if best is None or value < best - 1e-9:
                best_prior, best = prior, value
        hr.TEMPO_PRIOR = best_prior
        for name, phrase, tempo in (("position in the bar", False, False), ("+ bar in the 4-bar phrase", True, False),
                                    ("+ tempo band (no phrase)", False, True), ("+ phrase + tempo band", True, True)):
            lines.append(f"| POP909: {name} | {bits(phrase, tempo, four):.3f} | {bits(phrase, tempo, rows):.3f} |")
    finally:
        hr.TEMPO_PRIOR = shipped_prior
    lines += ["", f"Tempo prior on 701-800 (bits, all metres: {', '.join(by_prior)}): best {best_prior:g}, used for the "
              f"rows above; flat, so models.harmonic_rhythm.TEMPO_PRIOR = {shipped_prior:g}. Tempo bands: below "
              f"{hr.TEMPO_EDGES[0]:g}, {hr.TEMPO_EDGES[0]:g}-{hr.TEMPO_EDGES[1]:g}, {hr.TEMPO_EDGES[1]:g} BPM and above."]
    text = "\n".join(lines)
    print(text)
    write_section("Harmonic rhythm on POP909 (issue 15)", text, "bench/harmonic_rhythm.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
