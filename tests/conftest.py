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

    Module-scoped on purpose: PortAudio (sounddevice) opens a JACK client when it initialises
    while a JACK server is reachable, and aborts at exit if that server has gone away; keeping
    JACK to the modules that need it keeps the other tests' PortAudio JACK-free."""
    with running(Jack()) as server:
        yield server
