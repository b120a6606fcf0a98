"""Research code beside the product: the JSB-chorales benchmark of the CRBM (research.jsb, with its
exact frame predictor and recurrent memory), next-chord baselines (research.baselines) and the
statistics the benches report (research.evaluation), and a linear stacker for emotion classification
(research.stacker, bench/classifier_stacking.py). Not installed (pyproject lists assistant,
gui and models) and never imported by them (tests/test_layering.py); bench/ and tests/ use it
from a checkout. Run the JSB evaluation with ``python -m research.jsb --help``."""
