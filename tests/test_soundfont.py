"""SoundFont lookup: environment override, then assets/soundfonts/, then the system folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant import soundfont
from assistant.errors import DeviceUnavailable
from assistant.soundfont import ENV_VAR, find_soundfont


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Point the lookup at temporary project/system folders (the real ones are tested below)."""
    project, sf2, sf3 = tmp_path / "assets", tmp_path / "sf2", tmp_path / "sf3"
    for folder in (project, sf2, sf3):
        folder.mkdir()
    monkeypatch.setattr(soundfont, "PROJECT_FOLDER", project)
    monkeypatch.setattr(soundfont, "SYSTEM_FOLDERS", (sf2, sf3))
    monkeypatch.delenv(ENV_VAR, raising=False)
    return project, sf2, sf3


def test_the_installed_soundfont_is_found_through_the_project_symlink(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    found = find_soundfont()
    assert found.is_file() and not found.is_symlink() and found.suffix in (".sf2", ".sf3")
    linked = sorted(soundfont.PROJECT_FOLDER.glob("*.sf[23]"))
    if linked:  # scripts/setup.sh linked one: that is the one used, resolved
        assert found == linked[0].resolve()


def test_project_folder_comes_before_system_folders(folders):
    project, sf2, sf3 = folders
    (sf2 / "FluidR3_GM.sf2").write_bytes(b"x")
    (project / "mine.sf2").write_bytes(b"x")
    assert find_soundfont() == (project / "mine.sf2").resolve()
    (project / "mine.sf2").unlink()
    assert find_soundfont() == (sf2 / "FluidR3_GM.sf2").resolve()  # then sf2
    (sf2 / "FluidR3_GM.sf2").unlink()
    (sf3 / "other.sf3").write_bytes(b"x")
    assert find_soundfont() == (sf3 / "other.sf3").resolve()  # then sf3


def test_known_names_win_within_a_folder_and_symlinks_resolve(folders):
    project, sf2, _ = folders
    target = sf2 / "MuseScore_General_Lite.sf3"
    target.write_bytes(b"x")
    (project / "aaa.sf2").write_bytes(b"x")
    os.symlink(target, project / "MuseScore_General_Lite.sf3")
    os.symlink(sf2 / "missing.sf2", project / "000-dangling.sf2")  # broken link: skipped
    assert find_soundfont() == target.resolve()


def test_dangling_symlink_alone_is_not_a_soundfont(folders):
    project, _, _ = folders
    os.symlink(project / "gone.sf3", project / "MuseScore_General_Lite.sf3")
    with pytest.raises(DeviceUnavailable):
        find_soundfont()


def test_environment_variable_overrides(folders, monkeypatch, tmp_path):
    project, _, _ = folders
    (project / "mine.sf2").write_bytes(b"x")
    chosen = tmp_path / "chosen.sf3"
    chosen.write_bytes(b"x")
    monkeypatch.setenv(ENV_VAR, str(chosen))
    assert find_soundfont() == chosen.resolve()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "sf2"))  # a folder works too
    (tmp_path / "sf2" / "in-folder.sf2").write_bytes(b"x")
    assert find_soundfont() == (tmp_path / "sf2" / "in-folder.sf2").resolve()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.sf2"))
    with pytest.raises(DeviceUnavailable, match=ENV_VAR):
        find_soundfont()


def test_nothing_found_says_where_it_looked_and_how_to_fix(folders):
    project, sf2, sf3 = folders
    (project / "notes.txt").write_text("not a soundfont")
    with pytest.raises(DeviceUnavailable) as error:
        find_soundfont()
    message = str(error.value)
    for folder in (project, sf2, sf3):
        assert str(folder) in message
    assert "apt-get install musescore-general-soundfont-small" in message
    assert "assets/soundfonts/" in message


def test_readme_and_gitignore_are_in_place():
    folder = Path(soundfont.__file__).resolve().parent.parent / "assets" / "soundfonts"
    ignored = (folder / ".gitignore").read_text()
    assert "*.sf2" in ignored and "*.sf3" in ignored
    assert "MIT" in (folder / "README.md").read_text()
