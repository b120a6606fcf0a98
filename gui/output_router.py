"""Where the sound goes: the built-in synth (FluidSynth), a MIDI output port, or both; with the
transport's volume, instrument, loop, synth switch and output choice. The devices open on the
io worker (typed jobs); their callbacks arrive as signals through a PlaybackBridge.

The synth plays and mirrors its notes to the MIDI port when one is chosen; with the synth off
the MIDI port plays alone.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from assistant.errors import USER_ERRORS
from assistant.score import CHORD_CHANNEL, Score
from gui.devices import Devices
from gui.jobs import JobBoard, ListInstrumentsJob, ListMidiOutputsJob, OpenMidiPortJob, OpenPlayerJob
from gui.settings import WindowSettings
from gui.transport import TransportBar
from gui.workers import PlaybackBridge

VIRTUAL_PORT = "__virtual__"  # item data of the "create a virtual port" choice

ShowError = Callable[[str, str], None]  # (title, message): an error dialog
ShowMessage = Callable[[str, int], None]  # (text, milliseconds): a passing status-bar message


class OutputRouter(QObject):
    """Owns the synth and the MIDI port player, and the transport's sound controls."""

    outputsChanged = Signal()  # an output opened, closed or was switched: what can play changed
    playheadMoved = Signal(object)  # beats from the start while playing; None when playback stopped
    ended = Signal()  # playback reached the end (not looping) and stopped by itself
    instrumentsListed = Signal()  # the General MIDI names arrived (instrument_names)

    def __init__(self, transport: TransportBar, devices: Devices, settings: WindowSettings, jobs: JobBoard,
                 show_error: ShowError, show_message: ShowMessage, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.transport = transport
        self.devices = devices
        self.settings = settings
        self.jobs = jobs
        self.show_error = show_error
        self.show_message = show_message
        self.player: Any = None  # the built-in synth (FluidSynthPlayer) once opened
        self.midi_player: Any = None  # the MIDI port player once opened
        self.playing = False
        self.outputs_listed = False  # the MIDI output ports have been listed
        self.instrument_names: list[str] = []  # General MIDI names, index = program
        self._score: Score | None = None  # what plays (before the instrument choice is applied)
        self.bridge = PlaybackBridge()  # the players' callbacks, as signals on the UI thread
        self.bridge.position.connect(self._position)
        self.bridge.finished.connect(self._finished)

        transport.output.addItem("Off", None)
        transport.output.addItem("Virtual port “moodchords”", VIRTUAL_PORT)
        transport.loop_button.toggled.connect(self._loop_changed)
        transport.instrument.currentIndexChanged.connect(self._instrument_changed)
        transport.volume.valueChanged.connect(self._volume_changed)
        transport.output.currentIndexChanged.connect(self._output_changed)
        transport.synth.toggled.connect(self._synth_toggled)

        jobs.on(ListInstrumentsJob, finished=self._instruments_listed, failed=self._instruments_failed)
        jobs.on(OpenPlayerJob, finished=self._player_opened, failed=lambda job, message, error: self.disable_synth(
            message))
        jobs.on(ListMidiOutputsJob, finished=self._midi_outputs_listed,
                failed=lambda job, message, error: self.disable_midi_out(message))
        jobs.on(OpenMidiPortJob, finished=self._midi_port_opened, failed=self._midi_port_failed)

    # ------------------------------------------------------------------------------ opening
    def open_synth(self) -> None:
        """List the instruments and open the built-in synth (on the io worker)."""
        devices = self.devices
        if devices.instrument_names is not None:
            self.jobs.submit(ListInstrumentsJob(devices.instrument_names))
        if devices.player is not None:
            self.jobs.submit(OpenPlayerJob(devices.player, self.bridge.on_position, self.bridge.on_finished))
        else:
            self.disable_synth("No audio output configured.")

    def list_midi_outputs(self) -> None:
        """List the MIDI output ports (on the io worker); the saved choice opens when listed."""
        if self.devices.midi_outputs is not None:
            self.jobs.submit(ListMidiOutputsJob(self.devices.midi_outputs))
        else:
            self.disable_midi_out("MIDI output is not available in this build.")

    def _instruments_listed(self, job: ListInstrumentsJob, names: list[str]) -> None:
        self.instrument_names = list(names)
        self.transport.set_instruments(names)
        self.instrumentsListed.emit()
        # The remembered instrument is a default below the request's words (TransportBar.remember_program,
        # gui.setting_sources), never selected as a field: a spoken "piano" must win over it (issue 16).

    def _instruments_failed(self, job: ListInstrumentsJob, message: str, error: BaseException) -> None:
        self.transport.instrument.setToolTip(f"Instrument names unavailable: {message}")

    def _player_opened(self, job: OpenPlayerJob, player: Any) -> None:
        self.player = player
        self._volume_changed(self.transport.volume.value())
        self.outputsChanged.emit()

    def disable_synth(self, reason: str) -> None:
        self.player = None
        synth = self.transport.synth
        synth.setChecked(False)
        synth.setEnabled(False)
        synth.setToolTip(f"No sound: {reason}\nFix: install a SoundFont "
                         "(apt install musescore-general-soundfont-small) and check the audio "
                         "output (PulseAudio running?). You can still export and drag MIDI.")
        self.outputsChanged.emit()

    def disable_midi_out(self, reason: str) -> None:
        self.transport.output.setEnabled(False)
        self.transport.output.setToolTip(f"MIDI output unavailable: {reason}")

    def _midi_outputs_listed(self, job: ListMidiOutputsJob, ports: list[str]) -> None:
        output = self.transport.output
        chosen_meanwhile = output.currentIndex() != 0  # the user picked the virtual port already
        output.blockSignals(True)
        for port in ports:
            output.addItem(port, port)
        if not chosen_meanwhile:
            wanted = self.settings.midi_output
            output.setCurrentIndex(max(output.findData(wanted) if wanted else 0, 0))
        output.blockSignals(False)
        self.outputs_listed = True
        if not ports:
            output.setToolTip("No MIDI output ports found; choose the virtual port “moodchords” and connect your "
                              "DAW to it (JACK: start jackd, or `a2jmidid` for ALSA).")
        if output.currentData() is not None and not chosen_meanwhile:
            self._output_changed(output.currentIndex())

    def _output_changed(self, index: int) -> None:
        choice = self.transport.output.itemData(index)
        self.settings.midi_output = choice
        if self.midi_player is not None:
            self._stop_outputs()
            _close_quietly(self.midi_player)
            self.midi_player = None
        if choice is None or self.devices.midi_port is None:
            self.outputsChanged.emit()
            return
        port = None if choice == VIRTUAL_PORT else choice
        self.jobs.submit(OpenMidiPortJob(self.devices.midi_port, port, self.bridge.on_position,
                                         self.bridge.on_finished))

    def _midi_port_opened(self, job: OpenMidiPortJob, player: Any) -> None:
        if self.midi_player is not None:
            _close_quietly(self.midi_player)
        self.midi_player = player
        self.show_message(f"MIDI out: {self.transport.output.currentText()}", 4000)
        self.outputsChanged.emit()

    def _midi_port_failed(self, job: OpenMidiPortJob, message: str, error: BaseException) -> None:
        self.transport.output.blockSignals(True)
        self.transport.output.setCurrentIndex(0)
        self.transport.output.blockSignals(False)
        self.show_error("MIDI output unavailable", message)

    # ------------------------------------------------------------------------------ playing
    def outputs(self) -> list[Any]:
        """What plays: the synth (mirroring its notes to the MIDI port, if one is chosen), or the
        MIDI port alone when the built-in synth is off."""
        synth_on = self.player is not None and self.transport.synth.isChecked()
        if self.player is not None and hasattr(self.player, "midi_out"):
            self.player.midi_out = self.midi_player if synth_on else None
        if synth_on:
            return [self.player]
        return [self.midi_player] if self.midi_player is not None else []

    def _score_to_play(self, score: Score) -> Score:
        program = self.transport.instrument.currentData()
        if program is None:
            return score
        # The chosen instrument replaces the chord channel's program (the bass keeps its own).
        return dataclasses.replace(score, programs={**(score.programs or {}), CHORD_CHANNEL: program})

    def play(self, score: Score) -> bool:
        """Play the score on every output (stopping what plays); False when nothing plays (no
        output, or a device that went away: the error is shown)."""
        outputs = self.outputs()
        if not outputs:
            return False
        self._score = score
        to_play = self._score_to_play(score)
        self._stop_outputs()
        self.playing = True
        for output in outputs:
            try:
                output.play(to_play, loop=self.transport.loop_button.isChecked())
            except USER_ERRORS + (OSError, RuntimeError) as error:  # a device that went away
                self.playing = False
                self.show_error("Playback failed", str(error))
                return False
        self.transport.play_button.setText("▶  Playing")
        return True

    def stop(self) -> None:
        self._stop_outputs()
        self.playing = False
        self.playheadMoved.emit(None)
        self.transport.play_button.setText("▶  Play")

    def _stop_outputs(self) -> None:
        for output in (self.player, self.midi_player):
            if output is not None:
                try:
                    output.stop()
                except Exception:  # noqa: BLE001 (stopping must never fail loudly)
                    pass

    def _replay(self) -> None:
        if self.playing and self._score is not None:
            self.play(self._score)

    def _position(self, beats: float) -> None:
        if self.playing:
            self.playheadMoved.emit(beats)

    def _finished(self) -> None:
        if self.transport.loop_button.isChecked() and self.playing:
            return
        self.playing = False
        self.playheadMoved.emit(None)
        self.transport.play_button.setText("▶  Play")
        self.ended.emit()

    # ------------------------------------------------------------------------------ controls
    def _loop_changed(self, on: bool) -> None:
        self.settings.loop = on
        self._replay()

    def _instrument_changed(self, index: int) -> None:
        program = self.transport.instrument.currentData()
        self.settings.program = program
        if program is not None and self.playing:
            self._set_program(program)  # heard at once; the next play() carries it in the score

    def _set_program(self, program: int) -> None:
        for output in (self.player, self.midi_player):
            if output is not None and hasattr(output, "set_program"):
                try:
                    output.set_program(CHORD_CHANNEL, program)
                except Exception:  # noqa: BLE001
                    pass

    def _volume_changed(self, value: int) -> None:
        self.settings.volume = value / 100.0
        for output in (self.player, self.midi_player):
            if output is not None and hasattr(output, "set_volume"):
                try:
                    output.set_volume(value / 100.0)
                except Exception:  # noqa: BLE001
                    pass

    def _synth_toggled(self, on: bool) -> None:
        self.settings.use_synth = on
        self._replay()
        self.outputsChanged.emit()

    def close(self) -> None:
        """Stop and close both outputs (window close)."""
        self.stop()
        for output in (self.player, self.midi_player):
            if output is not None and hasattr(output, "close"):
                try:
                    output.close()
                except Exception:  # noqa: BLE001
                    pass
        self.player = self.midi_player = None


def _close_quietly(output: Any) -> None:
    try:
        output.stop()
        if hasattr(output, "close"):
            output.close()
    except Exception:  # noqa: BLE001
        pass
