"""MIDI out of the window as files: Export (a file the user names, written on the io worker) and
drag to a DAW (gui.midi_drag's MIME data).

A drag carries the MIDI file the pipeline already wrote for the composition (Composition.midi_path),
hard-linked into the drag folder under a name that says what is inside ("hope - D major - 96 bpm.mid",
the clip's name in a DAW); where a link is impossible (another file system) it carries the
composition's file as it is. Only a composition without a file of its own (restored from a history
whose file was deleted) gets one written, once, in the background when it is shown.

The drag folder is temporary and each running instance has its own, `<tmp>/moodchords-drag-<uid>/<pid>`
(`process_drag_folder`), so one instance quitting never empties another's drag files (a DAW may still
be reading them). Its files go when the app exits (`clean_up`); when an app starts it removes the
folders of instances that are gone (their process no longer runs) or untouched for a day, left over
by a crash (`clean_stale_drag_folders`), so the drag folders never grow without end.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QMimeData, QObject, Qt
from PySide6.QtGui import QDrag, QPixmap
from PySide6.QtWidgets import QFileDialog, QStatusBar, QWidget

from assistant.errors import USER_ERRORS
from gui.jobs import DragFileJob, ExportJob, JobBoard
from gui.midi_drag import build_midi_mime_data, drag_file_name

ShowError = Callable[[str, str], None]  # (title, message): an error dialog
MESSAGE_MS = 6000  # how long "Exported ..." stays in the status bar
STALE_DRAG_FILE_S = 24 * 3600  # at start, drag files older than this are left-overs: removed
DRAG_FILE_SUFFIXES = (".mid", ".link")  # what the drag folder holds (drag files, temporary links)


def _remove_each(folder: Path, remove: Callable[[Path], bool]) -> list[Path]:
    """Offer every entry of `folder` to `remove` (True: it removed it); returns what was removed.
    An entry that cannot be removed (in use, permissions) is left, silently: cleaning must never fail."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    removed: list[Path] = []
    for path in entries:
        try:
            if remove(path):
                removed.append(path)
        except OSError:
            continue
    return removed


def clean_drag_folder(folder: Path, older_than_s: float | None = None) -> list[Path]:
    """Remove the drag files in `folder` (all, or those last modified more than older_than_s
    seconds ago); returns what was removed. Only our own kinds of file, never subfolders."""
    now = time.time()

    def remove(path: Path) -> bool:
        if not path.is_file() or path.is_symlink() or not path.name.endswith(DRAG_FILE_SUFFIXES):
            return False
        if older_than_s is not None and now - path.stat().st_mtime <= older_than_s:
            return False
        path.unlink()
        return True

    return _remove_each(folder, remove)


def drag_base_folder() -> Path:
    """This user's folder of per-process drag folders, private to the user (0700). Where the name is
    taken by something else (another user's folder, a link), a fresh private folder instead."""
    base = Path(tempfile.gettempdir()) / f"moodchords-drag-{os.getuid()}"
    try:
        base.mkdir(mode=0o700, exist_ok=True)
        info = base.lstat()
        if base.is_dir() and not base.is_symlink() and info.st_uid == os.getuid():
            return base
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="moodchords-drag-"))


def process_drag_folder(base: Path, pid: int | None = None) -> Path:
    """The drag folder of one running instance: a subfolder of `base` named by its process id."""
    return Path(base) / str(os.getpid() if pid is None else pid)


def process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # exists, but is not ours to signal
        return True
    return True


def clean_stale_drag_folders(base: Path, own_pid: int | None = None,
                             older_than_s: float = STALE_DRAG_FILE_S) -> list[Path]:
    """Remove the drag folders under `base` of instances that no longer run, or untouched for
    `older_than_s` seconds (a reused process id); never `own_pid`'s (default: this process) and never
    anything but per-process folders of drag files. Returns the folders removed; never fails."""
    own_pid = os.getpid() if own_pid is None else own_pid
    now = time.time()

    def remove(folder: Path) -> bool:
        if not folder.name.isdigit() or int(folder.name) == own_pid or folder.is_symlink() or not folder.is_dir():
            return False
        if process_is_running(int(folder.name)) and now - folder.stat().st_mtime <= older_than_s:
            return False
        clean_drag_folder(folder)
        folder.rmdir()  # fails, leaving it, when anything but drag files is inside
        return True

    return _remove_each(base, remove)


def link_or_reuse(source: Path, target: Path) -> Path:
    """`target` as a hard link to `source` (replacing what was there), or `source` itself when the
    file system cannot link; nothing is copied or written."""
    if target.exists() and os.path.samefile(source, target):
        return target
    # One temporary name per thread: the UI thread and the io worker may link the same target at once.
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.link")
    try:
        temporary.unlink(missing_ok=True)
        os.link(source, temporary)
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        return source
    # rename() between two links of one file does nothing and leaves the temporary behind.
    temporary.unlink(missing_ok=True)
    return target


class ExportAndDrag(QObject):
    """Export and drag for the composition on screen."""

    def __init__(self, assistant: Any, drag_folder: Path | None, jobs: JobBoard, status_bar: QStatusBar,
                 show_error: ShowError, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.assistant = assistant  # assistant.pipeline.Assistant: export_midi writes atomically
        # The folder given (tests, a caller's choice) is used as it is; by default this process's own.
        self._own_folder = drag_folder is None
        if drag_folder is None:
            base = drag_base_folder()
            clean_stale_drag_folders(base)  # folders of instances that crashed
            drag_folder = process_drag_folder(base)
        self.drag_folder = Path(drag_folder)
        self.jobs = jobs
        self.status_bar = status_bar
        self.show_error = show_error
        self._drag_file: tuple[str, Path] | None = None  # (composition id, the file its drag carries)
        jobs.on(DragFileJob, finished=self._drag_file_ready, failed=self._drag_file_failed)
        jobs.on(ExportJob, finished=self._exported, failed=self._export_failed)
        self.clean_up(older_than_s=STALE_DRAG_FILE_S)  # left-overs of a run that did not exit cleanly

    def clean_up(self, older_than_s: float | None = None) -> list[Path]:
        """Remove the drag files (all of them when the app exits). A drag file is a hard link, so
        the composition's own MIDI file stays; a DAW has copied what it imported by then."""
        if self._drag_file is not None and older_than_s is None:
            self._drag_file = None
        removed = clean_drag_folder(self.drag_folder, older_than_s)
        if older_than_s is None and self._own_folder:
            try:
                self.drag_folder.rmdir()  # this process's folder, when nothing else is left in it
            except OSError:
                pass
        return removed

    # ------------------------------------------------------------------------------ drag
    def drag_path(self, composition: Any) -> Path:
        """Where the drag file of a composition goes: a descriptive name in the drag folder."""
        folder = self.drag_folder
        folder.mkdir(parents=True, exist_ok=True)
        progression = composition.progression
        key_name = progression.key_name if progression is not None else "chords"
        return folder / drag_file_name(composition.request_text, key_name, composition.score.tempo_bpm)

    def drag_file(self, composition: Any) -> Path:
        """The file a drag of the composition carries: its own MIDI file (linked under a
        descriptive name), or, when it has none, one written now."""
        target = self.drag_path(composition)
        own = composition.midi_path
        if own is not None and Path(own).is_file():
            return link_or_reuse(Path(own), target)
        return Path(self.assistant.export_midi(composition, target))

    def prepare(self, composition: Any) -> None:
        """Make the drag file ready in the background, so a drag starts at once."""
        self._drag_file = None
        if composition is not None:
            self.jobs.submit(DragFileJob(self.drag_file, composition))

    def _drag_file_ready(self, job: DragFileJob, path: Path) -> None:
        self._drag_file = (job.composition.id, Path(path))

    def _drag_file_failed(self, job: DragFileJob, message: str, error: BaseException) -> None:
        self.status_bar.showMessage(f"Could not prepare the drag file: {message}", MESSAGE_MS)

    def mime_data(self, composition: Any) -> QMimeData | None:
        """The QMimeData of a MIDI drag of the composition (its .mid as a file URL)."""
        if composition is None:
            return None
        prepared = self._drag_file
        if prepared is not None and prepared[0] == composition.id and prepared[1].is_file():
            path = prepared[1]
        else:  # not prepared yet: a link, or a tiny file, made now
            path = self.drag_file(composition)
            self._drag_file = (composition.id, path)
        return build_midi_mime_data(path)

    def start_drag(self, composition: Any, source: QWidget, preview: QPixmap) -> None:
        if composition is None:
            return
        try:
            mime = self.mime_data(composition)
        except USER_ERRORS + (OSError,) as error:
            self.show_error("Could not drag the MIDI", str(error))
            return
        drag = QDrag(source)
        drag.setMimeData(mime)
        preview = preview.scaledToHeight(90, Qt.SmoothTransformation)
        drag.setPixmap(preview.copy(0, 0, min(preview.width(), 260), preview.height()))
        drag.exec(Qt.CopyAction)

    # ------------------------------------------------------------------------------ export
    def export_dialog(self, composition: Any, parent: QWidget) -> None:
        if composition is None:
            return
        start = str(Path.home() / drag_file_name(composition.request_text, composition.progression.key_name,
                                                 composition.score.tempo_bpm))
        path, _ = QFileDialog.getSaveFileName(parent, "Export MIDI", start, "MIDI files (*.mid *.midi)")
        if path:
            if not path.lower().endswith((".mid", ".midi")):
                path += ".mid"
            self.export_to(composition, Path(path))

    def export_to(self, composition: Any, path: Path) -> None:
        """Write the composition's MIDI to `path` on the io worker (a dialog says when it fails)."""
        self.status_bar.showMessage(f"Exporting {path.name}…")
        self.jobs.submit(ExportJob(self.assistant, composition, Path(path)))

    def _exported(self, job: ExportJob, path: Path) -> None:
        self.status_bar.showMessage(f"Exported {path}", MESSAGE_MS)

    def _export_failed(self, job: ExportJob, message: str, error: BaseException) -> None:
        self.status_bar.clearMessage()
        self.show_error("Export failed", message)
