"""Shared test set-up: offscreen Qt, offline models, and real audio/MIDI daemons on demand."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support.daemons import Jack, PulseAudio, running  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The training and evaluation data beside the project (not in the repository): the few tests that
#: read it skip where it is absent; nothing shipped (models, modules, packages) is ever skipped.
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def pulse_audio():
    """A private PulseAudio server (speaker null sink, virtual microphone), active in os.environ."""
    if not shutil.which("pulseaudio"):
        pytest.fail("pulseaudio missing: run `make test`, which installs it")
    with running(PulseAudio()) as server:
        yield server


@pytest.fixture(scope="module")
def jack_server():
    """A private JACK server with the dummy driver, active in os.environ (rtmidi's JACK API).

    Module-scoped: only the modules that need JACK pay for starting it. PortAudio no longer
    holds a JACK client (assistant/audio.py initialises it with JACK hidden, see
    assistant/jack_environment.py), so a server that went away cannot abort a later rescan."""
    with running(Jack()) as server:
        yield server
