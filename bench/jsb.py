"""The CRBM (binary-frame layout) on the JSB chorales: train on train, next-frame ACC on valid.

Writes the section "JSB chorales" of bench/RESULTS.md. The settings are research.jsb.JsbConfig's
defaults (training settings, temperature, threshold and the exact predictor's experts chosen by
training on the first 85 % of the train chorales and evaluating on the last 15 %, two or three
seeds, bench/jsb_sweep.py; valid was not used to choose them) plus
an AIS log-likelihood estimate (of the T = 1 model) on 100 random frames.

Run: .venv/bin/python bench/jsb.py  (about 8-10 minutes on 2 shared cores; `--quick` for a smoke
run that writes nothing). Skips with a message when ../shared/data/jsb is absent.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

JSB_FILE = ROOT.parent / "shared" / "data" / "jsb" / "jsb-chorales-quarter.json"
SCRIPT = "bench/jsb.py"
AIS = dict(ais_frames=100, ais_betas=500, ais_particles=32)


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def main() -> int:
    if not JSB_FILE.is_file():
        print(f"bench/jsb.py: skipped: JSB chorales not found at {JSB_FILE}")
        return 0
    from research.jsb import JsbConfig, evaluate_crbm_on_jsb, load_jsb

    quick = "--quick" in sys.argv
    overrides = dict(epochs=1, chains=2, gibbs_steps=10, burn_in=2, ais_frames=3, ais_betas=20) if quick else AIS
    config = dataclasses.replace(JsbConfig(), **overrides)
    started = time.perf_counter()
    r = evaluate_crbm_on_jsb(load_jsb(JSB_FILE), "train", "valid", config,
                             progress=lambda m, f: print(f"[jsb {f:4.0%}] {m}", file=sys.stderr, flush=True))
    total = time.perf_counter() - started
    ll = (f"{r.log_likelihood:.2f} ± {r.log_likelihood_stderr:.2f} (AIS, {r.log_likelihood_frames} random frames, "
          f"{config.ais_betas} betas x {config.ais_particles} runs)") if r.log_likelihood is not None else "not estimated"
    changed = {k: v for k, v in dataclasses.asdict(config).items()}
    lines = [
        "Trained on train, evaluated on valid (the test split is not in ../shared/data), every frame of every chorale "
        f"predicted from the frames before it. The CRBM conditions on the previous {config.history} frames"
        + (", the mean of all earlier frames" if config.summary_decay > 0 else "")
        + (f" and a leaky recurrent memory of {config.memory_units} units (research.recurrent)"
           if config.memory_units else "")
        + (f"; its {config.n_hidden} hidden units trained with {config.hidden_dropout:.0%} dropout"
           if config.hidden_dropout else "")
        + f". The headline predicts exactly over the {r.support_frames} distinct training frames "
        f"({100 * r.support_coverage:.1f} % of the valid frames are among them; research.frame_support): the product of "
        f"{config.ensemble} CRBMs (seeds {config.seed}..{config.seed + config.ensemble - 1}) and a frame "
        f"{config.ngram_order}-gram expert (weight {config.ngram_weight:g}), p_T(m) ~ exp((mean CRBM score - "
        f"{config.ngram_weight:g} x n-gram surprisal) / T). Below it, one CRBM over all 2^{r.pitch_high - r.pitch_low + 1} "
        "frames, sampled by Gibbs chains. ACC = TP/(TP+FP+FN), averaged two ways: **summed** over frames "
        "(E[TP]/(E[TP]+E[FP]+E[FN]) from the predictive marginals) and **per step** (each frame's expected accuracy E[TP/(TP+FP+FN)], exact for the "
        "exact predictors, estimated from the sampled frames for Gibbs, then the mean over frames). The paper's authors say Table 1 was computed per step, "
        "sampling the model's conditional distribution (evaluation notes at "
        "www-etud.iro.umontreal.ca/~boulanni/icml2012), so only that column compares with the paper.", "",
        "| model / prediction rule | ACC summed over frames | ACC per step (the paper's averaging) | next-frame "
        "log-likelihood (nats/frame) |", "|---|---|---|---|",
        f"| **{config.ensemble} CRBMs x frame {config.ngram_order}-gram, exact over the training frames, T = "
        f"{config.temperature:g}** (weights, order and T chosen on held-out train chorales) | **{pct(r.product_acc)}** | "
        f"**{pct(r.product_step_acc)}** | {r.product_log_likelihood:.2f} (T = 1, the {100 * r.support_coverage:.1f} % "
        "of frames inside the support) |",
        f"| the same at T = 1 | {pct(r.product_untempered_acc)} | {pct(r.product_untempered_step_acc)} | - |",
        f"| {config.ensemble} CRBMs alone, exact over the training frames, T = {config.temperature:g} | "
        f"{pct(r.exact_acc)} | {pct(r.exact_step_acc)} | {r.exact_log_likelihood:.2f} (T = 1, same frames) |",
        f"| frame {config.ngram_order}-gram alone, T = {config.temperature:g} | {pct(r.ngram_acc)} | "
        f"{pct(r.ngram_step_acc)} | - |",
        f"| one CRBM ({r.pitch_high - r.pitch_low + 1} keys {r.pitch_low}..{r.pitch_high}, all frames) sampled at "
        f"temperature T = {config.temperature:g} (p_T ~ exp(-E/T); chains burn in at T = 1, then restart at the best "
        f"frame they visited) | {pct(r.acc)} | {pct(r.step_acc)} | - |",
        f"| CRBM sampled at T = 1 (the model as trained: the authors' recipe exactly) | {pct(r.untempered_acc)} | "
        f"{pct(r.untempered_step_acc)} | {ll} |",
        f"| CRBM, mean-field fixed point (approximate marginals) | {pct(r.mean_field_acc)} | - | - |",
        f"| CRBM, T = 1 marginals rounded at {config.threshold:g} (hard, not a sample of the model; threshold chosen "
        f"on held-out train chorales) | {pct(r.threshold_acc)} | {pct(r.threshold_step_acc)} | - |",
        f"| CRBM, T = 1 marginals rounded at 0.5 (hard) | {pct(r.thresholded_acc)} | - | - |",
        f"| CRBM, approximate most likely frame: lowest free energy visited by the chains, then ICM (hard) | "
        f"{pct(r.map_acc)} | {pct(r.map_step_acc)} | - |",
        f"| copy the previous frame | {pct(r.copy_previous_acc)} | {pct(r.copy_previous_step_acc)} | - |",
        f"| independent keys at training frequencies | {pct(r.frequency_acc)} | - | - |",
        "| paper, test split: RBM / RNN-RBM / RNN-NADE (HF) | - | 4.47 % / 33.12 % / 32.50 % | -7.43 / -7.27 / -5.56 |",
        "",
        f"{r.frames} valid frames in {r.chorales} chorales; {r.train_frames} training frames. Settings "
        f"`{json.dumps(changed)}` (chosen on the last 15 % of the train chorales, never on valid). Training "
        f"{r.train_seconds:.0f} s ({config.ensemble} CRBMs), prediction (Gibbs at T = 1 and at T + mean field + ICM) "
        f"{r.predict_seconds:.0f} s, exact prediction {r.exact_seconds:.0f} s, whole run {total:.0f} s, while other work shared the CPU.", "",
    ]
    text = "\n".join(lines)
    print(text)
    if quick:
        print("quick run: bench/RESULTS.md not written", file=sys.stderr)
        return 0
    write_section("JSB chorales", text, SCRIPT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
