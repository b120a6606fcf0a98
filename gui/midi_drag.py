"""Drag to the DAW: the MIME data of a MIDI drag carries a freshly written .mid file as a file URL
(text/uri-list, what DAWs and file managers accept) plus the raw bytes as audio/midi."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl

MIDI_MIME_TYPE = "audio/midi"


def drag_file_name(request_text: str, key_name: str, tempo_bpm: float) -> str:
    """A name that says what is inside, e.g. "hope-and-wonder - D major - 96 bpm.mid"."""
    words = re.sub(r"[^a-z0-9]+", "-", request_text.lower()).strip("-")[:40].strip("-") or "moodchords"
    return f"{words} - {key_name} - {round(tempo_bpm)} bpm.mid"


def build_midi_mime_data(midi_path: str | Path) -> QMimeData:
    """MIME data for a QDrag of an existing MIDI file."""
    path = Path(midi_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"MIDI file {path} does not exist")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    mime.setData(MIDI_MIME_TYPE, path.read_bytes())
    return mime
