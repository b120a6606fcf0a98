"""The window's workspace without Qt: the composition on screen, its locks (one home: the chords'
`locked` flags), pending requests and readiness."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import InvalidInput
from assistant.pipeline import from_history_record, to_history_record
from assistant.workspace import Busy, Workspace
from tests.support.compositions import hand_made_composition

ROOT = Path(__file__).resolve().parent.parent


class Request:
    """A stand-in for the window's job objects: the workspace only compares them by identity."""


def test_workspace_imports_no_qt():
    code = "import sys, assistant.workspace; print(any(m.startswith('PySide6') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_locks_live_on_the_chords_of_the_composition():
    workspace = Workspace()
    assert workspace.locked == frozenset() and workspace.toggle_lock(1) == frozenset()  # nothing on screen
    composition = workspace.show(hand_made_composition())
    assert workspace.locked == frozenset()
    assert workspace.toggle_lock(2) == {2}
    assert workspace.toggle_lock(5) == {2, 5}
    assert workspace.composition.progression.locked_indices == {2, 5}  # the single source of truth
    assert workspace.composition.id == composition.id and workspace.composition.score is composition.score
    assert workspace.toggle_lock(2) == {5}
    with pytest.raises(InvalidInput, match="chord index 8"):
        workspace.toggle_lock(8)
    assert workspace.locked == {5}  # a refused toggle changes nothing


def test_locks_survive_the_history_round_trip():
    workspace = Workspace()
    workspace.show(hand_made_composition())
    workspace.toggle_lock(0)
    workspace.toggle_lock(3)
    record = to_history_record(workspace.composition)
    again = Workspace()
    restored = again.restore(from_history_record(record))
    assert again.locked == {0, 3} and restored.progression.locked_indices == {0, 3}


def test_show_replaces_the_locks_and_drops_indices_past_the_end():
    workspace = Workspace()
    shown = workspace.show(hand_made_composition(), locked={1, 7, 12})
    assert workspace.locked == {1, 7} and shown is workspace.composition
    unlocked = workspace.show(hand_made_composition(), locked=set())
    assert workspace.locked == frozenset() and unlocked.progression.locked_indices == frozenset()


def test_a_new_take_keeps_the_locks_on_screen_and_a_new_request_starts_unlocked():
    workspace = Workspace()
    workspace.show(hand_made_composition())
    workspace.toggle_lock(1)
    take = Request()
    workspace.begin(take, Busy.COMPOSING, keeps_locks=True)
    assert workspace.busy is Busy.COMPOSING and workspace.pending is take and not workspace.can_regenerate
    workspace.toggle_lock(4)  # locked while the take was being composed: kept too
    shown = workspace.finish(take, hand_made_composition(("C", "F", "G", "C", "Am", "F")))
    assert shown is workspace.composition and workspace.locked == {1, 4}
    assert workspace.busy is None and workspace.pending is None

    request = Request()
    workspace.begin(request, Busy.COMPOSING)
    shown = workspace.finish(request, hand_made_composition(("C", "F", "G", "C")))
    assert workspace.locked == frozenset() and shown.chord_names == ["C", "F", "G", "C"]

    short = Request()
    workspace.show(hand_made_composition())
    workspace.toggle_lock(6)
    workspace.begin(short, Busy.COMPOSING, keeps_locks=True)
    workspace.finish(short, hand_made_composition(("C", "F", "G", "C")))
    assert workspace.locked == frozenset()  # chord 6 is past the end of the new take


def test_a_correction_shows_the_locks_its_result_kept():
    """A corrected setting (Assistant.recompose) decides which locks survive: the result's own flags
    are shown, not the indices on screen (a new length drops them all)."""
    workspace = Workspace()
    workspace.show(hand_made_composition())
    workspace.toggle_lock(1)
    workspace.toggle_lock(3)
    kept, dropped = Request(), Request()
    workspace.begin(kept, Busy.COMPOSING, own_locks=True)
    result = hand_made_composition(("C", "F", "G", "C", "Am", "F"))
    shown = workspace.finish(kept, dataclasses.replace(result, progression=result.progression.with_locked({1, 3})))
    assert workspace.locked == {1, 3} and shown.progression.locked_indices == {1, 3}
    workspace.begin(dropped, Busy.COMPOSING, own_locks=True)
    workspace.finish(dropped, hand_made_composition(("C", "F", "G", "C", "Am", "F")))
    assert workspace.locked == frozenset()  # the pipeline unlocked them (and said so in a notice)
    request = Request()
    workspace.toggle_lock(2)
    workspace.begin(request, Busy.COMPOSING)  # a request after a correction starts unlocked again
    workspace.finish(request, dataclasses.replace(result, progression=result.progression.with_locked({0})))
    assert workspace.locked == frozenset()


def test_only_the_pending_request_counts():
    workspace = Workspace()
    first, second = Request(), Request()
    workspace.begin(first, Busy.TRANSCRIBING)
    workspace.begin(second, Busy.COMPOSING)  # supersedes the first
    assert workspace.finish(first, hand_made_composition()) is None
    assert workspace.fail(first) is False
    assert workspace.pending is second and workspace.composition is None
    assert workspace.fail(second) is True
    assert workspace.pending is None and workspace.busy is None
    assert workspace.fail(second) is False  # reported once


def test_cancel_drops_the_pending_result():
    workspace = Workspace()
    assert workspace.cancel() is False
    request = Request()
    workspace.begin(request, Busy.COMPOSING)
    assert workspace.cancel() is True and workspace.busy is None
    assert workspace.finish(request, hand_made_composition()) is None and workspace.composition is None


def test_a_restored_composition_wins_over_a_pending_request():
    workspace = Workspace()
    request = Request()
    workspace.begin(request, Busy.COMPOSING)
    restored = hand_made_composition().progression.with_locked({2})
    composition = workspace.restore(dataclasses.replace(hand_made_composition(), progression=restored))
    assert workspace.composition is composition and workspace.locked == {2}
    assert workspace.pending is None and workspace.busy is None
    assert workspace.finish(request, hand_made_composition()) is None  # what was restored stays


def test_progress_messages_set_the_busy_state_of_the_pending_request_only():
    workspace = Workspace()
    request, other = Request(), Request()
    workspace.begin(request, Busy.COMPOSING)
    assert workspace.progress(request, "Transcribing") is Busy.TRANSCRIBING
    assert workspace.busy is Busy.TRANSCRIBING
    assert workspace.progress(request, "Reading the mood") is Busy.COMPOSING
    assert workspace.progress(request, "Writing MIDI") is None and workspace.busy is Busy.COMPOSING
    assert workspace.progress(other, "Transcribing") is None and workspace.busy is Busy.COMPOSING


def test_loading_is_done_when_both_loads_ended_and_the_composer_works():
    workspace = Workspace()
    workspace.speech_loaded()
    assert workspace.loading.speech_ready and not workspace.loading.done
    workspace.composer_loaded()
    assert workspace.loading.composer_ready and workspace.loading.done

    speechless = Workspace()
    speechless.speech_failed("no model")
    speechless.composer_loaded()
    assert speechless.loading.done and speechless.loading.speech_error == "no model"

    broken = Workspace()
    broken.speech_loaded()
    broken.composer_failed("model folder missing")
    assert not broken.loading.done and broken.loading.composer_error == "model folder missing"


def test_regenerate_needs_a_composition_a_composer_and_no_pending_request():
    workspace = Workspace()
    assert not workspace.can_regenerate
    workspace.show(hand_made_composition())
    assert not workspace.can_regenerate  # the composer is still loading
    workspace.composer_loaded()
    assert workspace.can_regenerate
    workspace.recording = True
    assert workspace.can_regenerate  # recording does not block a new take of what is on screen
    workspace.begin(Request(), Busy.TRANSCRIBING)
    assert not workspace.can_regenerate


def test_same_shape_compares_lengths_with_the_composition_on_screen():
    workspace = Workspace()
    assert not workspace.same_shape(hand_made_composition())
    workspace.show(hand_made_composition())
    assert workspace.same_shape(hand_made_composition(("C",) * 8))
    assert not workspace.same_shape(hand_made_composition(("C",) * 4))
