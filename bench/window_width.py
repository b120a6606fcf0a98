"""The window on small screens (issue 16 item 1): for each screen size, the real MainWindow with the
app's theme on its own Xvfb display, at first start and after a composition with twelve mood words,
seven setting chips and a long status line: the window's width and height, its minimum size, the
transport bar's and the request bar's minimum widths, and the piano roll's height. Writes the
"Window width" section of bench/RESULTS.md.

    .venv/bin/python bench/window_width.py [--screens 1280x800,1400x900]   (about 20 s)
"""
from __future__ import annotations

import argparse
import os
import sys

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

from tests.support.xvfb import run_json_on_xvfb  # noqa: E402

TWELVE_WORDS = ("furious", "aggressive", "violent", "chaotic", "frantic", "angry", "dark", "menacing",
                "brutal", "savage", "raging", "hostile")

# Runs on the Xvfb display: the window as a new user gets it (no saved geometry), then a composition.
CHILD = r"""
import dataclasses, json, sys, tempfile
from PySide6.QtWidgets import QApplication
app = QApplication(["moodchords"])
from gui.theme import apply_theme
apply_theme(app)
from assistant.pipeline import Assistant
from gui.main_window import MainWindow
from tests.gui_support import hand_made_composition, temp_settings

folder = Path(tempfile.mkdtemp())
window = MainWindow(Assistant(output_dir=folder / "out"), settings=temp_settings(folder),
                    drag_folder=folder / "drag", autoload=False)
window.show()
for _ in range(30):
    app.processEvents()

def sizes():
    return {"width": window.frameGeometry().width(), "height": window.frameGeometry().height(),
            "minimum_width": window.minimumSizeHint().width(), "minimum_height": window.minimumSizeHint().height(),
            "transport_minimum_width": window.transport.minimumSizeHint().width(),
            "transport_height": window.transport.height(),
            "request_bar_minimum_width": window.request_bar.minimumSizeHint().width(),
            "piano_roll_height": window.piano_roll.canvas.height()}

first = sizes()
composition = hand_made_composition()
mood = dataclasses.replace(composition.mood, keywords=tuple(sys.argv[1].split(",")))
window.show_composition(dataclasses.replace(composition, mood=mood))
window.request_bar.set_status("the request's key C major is overridden by the key setting Bb minor · " * 5)
for _ in range(40):
    app.processEvents()
after = sizes()
after["chips"] = len(window.request_bar.setting_chips.chips)
print(json.dumps({"first": first, "after": after}))
window.shutdown()
"""


def measure(width: int, height: int) -> dict:
    return run_json_on_xvfb(CHILD, ",".join(TWELVE_WORDS), width, height, cwd=ROOT, displays=range(200, 260),
                            timeout_s=180)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", default="1280x800,1400x900", help="screen sizes, WxH, comma-separated")
    args = parser.parse_args(argv)
    rows = []
    for screen in args.screens.split(","):
        width, height = (int(part) for part in screen.lower().split("x"))
        result = measure(width, height)
        first, after = result["first"], result["after"]
        rows.append(f"| {width}x{height} | {first['width']}x{first['height']} | {after['width']}x{after['height']} | "
                    f"{after['minimum_width']}x{after['minimum_height']} | {after['transport_minimum_width']} | "
                    f"{after['request_bar_minimum_width']} | {after['transport_height']} | "
                    f"{after['piano_roll_height']} | {after['chips']} |")
        print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    body = ("The real window with the app's theme on an Xvfb screen, no saved geometry; \"after\": a composition "
            "with 12 mood words, 7 setting chips and a 5-line status message shown (issue 16 reported a window "
            "that opened 1351 px wide on a 1400 px screen and grew to 1694 px after a long request).\n\n"
            "| screen | window at first start | window after | minimum (after) | transport min width | "
            "request bar min width | transport height | piano roll canvas height | setting chips |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + f"\n\nLoad average (1 min) at the end: {load:.1f}.")
    write_section("Window width", body, "bench/window_width.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
