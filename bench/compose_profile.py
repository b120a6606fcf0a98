"""Where Composer.compose spends its time: cProfile over 20 compositions of a text-request plan (every class
active, guidance at the default intensity, the pop expert, 8 bars, a new mood each time), on the logits path
before issue 15's speed work (--before: models.crbm.StackedExperts.sparse_logits = False) or the current one,
and how many histories each logits call holds (single steps vs look-ahead batches, real rows vs padding).

Run: .venv/bin/python bench/compose_profile.py [--before] [--top 15]   (prints only; about half a minute)
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", action="store_true", help="the dense logits path (before issue 15's speed work)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    import numpy as np

    import models.generation as generation
    from assistant.composer import Composer
    from assistant.expression import expression_plan
    from assistant.mood import MusicalSettings

    generation.SHARED_ROWS = 0  # a new mood every time
    composer = Composer()
    experts, _ = composer.model_set.generation_experts()
    experts.sparse_logits = not args.before
    weights = {"Q1": 0.4, "Q2": 0.3, "Q3": 0.2, "Q4": 0.1}

    def compose(seed: int):
        plan = expression_plan(0.6, 0.5, 0.5, seed=seed)
        return composer.compose(weights, MusicalSettings(bars=8), seed=seed, plan=plan)

    for seed in range(3):
        compose(seed)  # trace and compile
    calls = collections.Counter()
    logits = experts.logits

    def counted(u, w, temperature=1.0):
        calls[(len(u), int((np.abs(u).sum(axis=1) > 0).sum()))] += 1
        return logits(u, w, temperature)

    experts.logits = counted
    load = os.getloadavg()[0]
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for seed in range(20):
        compose(seed)
    profile.disable()
    experts.logits = logits
    print(f"path: {'before (dense)' if args.before else 'after (sparse)'}; load average {load:.1f}; CPU time (all threads)")
    print("logits calls per 20 compositions, (batch rows, real histories): count:",
          ", ".join(f"{k}: {v}" for k, v in sorted(calls.items())))
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
