"""Where the General MIDI SoundFont for playback comes from.

Lookup order (first hit wins):
  1. $MOODCHORDS_SOUNDFONT (a file, or a folder holding .sf2/.sf3 files): an explicit choice
  2. assets/soundfonts/ in the project (scripts/setup.sh links MuseScore General Lite there)
  3. the system folders where Debian/Ubuntu packages install SoundFonts
Within a folder, preferred names (the setup's choice first) beat alphabetical order.
"""
from __future__ import annotations

import os
from pathlib import Path

from assistant.errors import DeviceUnavailable

ENV_VAR = "MOODCHORDS_SOUNDFONT"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FOLDER = PROJECT_ROOT / "assets" / "soundfonts"
SYSTEM_FOLDERS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"))
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")
#: Known General MIDI sets, best first: a folder's first match wins over its other files.
PREFERRED_NAMES = ("MuseScore_General_Lite.sf3", "MuseScore_General.sf3", "FluidR3_GM.sf2",
                   "default-GM.sf2", "default-GM.sf3")
INSTALL_HINT = ("install one with `apt-get install musescore-general-soundfont-small` (then run "
                "scripts/setup.sh), put a .sf2/.sf3 file into assets/soundfonts/, or set "
                f"{ENV_VAR} to a SoundFont file")


def search_folders() -> tuple[Path, ...]:
    """The folders looked in, in order (without the environment override)."""
    return (PROJECT_FOLDER, *SYSTEM_FOLDERS)


def _usable(path: Path) -> Path | None:
    """The resolved file when path is a readable SoundFont (dangling symlinks are skipped)."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if resolved.is_file() and resolved.suffix.lower() in SOUNDFONT_SUFFIXES and os.access(resolved, os.R_OK):
        return resolved
    return None


def _first_in_folder(folder: Path) -> Path | None:
    try:
        candidates = [p for p in folder.iterdir() if p.suffix.lower() in SOUNDFONT_SUFFIXES]
    except OSError:
        return None
    rank = {name: i for i, name in enumerate(PREFERRED_NAMES)}
    candidates.sort(key=lambda p: (rank.get(p.name, len(rank)), p.name.lower()))
    for candidate in candidates:
        found = _usable(candidate)
        if found is not None:
            return found
    return None


def find_soundfont() -> Path:
    """The SoundFont to play with (symlinks resolved); DeviceUnavailable naming the places
    searched and how to get one."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        path = Path(override).expanduser()
        found = _first_in_folder(path) if path.is_dir() else _usable(path)
        if found is None:
            raise DeviceUnavailable(
                f"{ENV_VAR}={override!r} is not a readable .sf2/.sf3 file or a folder holding one; "
                f"fix the variable or unset it to search {', '.join(map(str, search_folders()))}")
        return found
    for folder in search_folders():
        found = _first_in_folder(folder)
        if found is not None:
            return found
    raise DeviceUnavailable(
        f"No SoundFont (.sf2/.sf3) found in {', '.join(map(str, search_folders()))}; {INSTALL_HINT}")
