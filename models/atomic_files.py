"""Writing a file so that readers see the old file or the whole new one, never a part.

The bytes go to a temporary file in the destination's folder (same file system), are flushed to
disk, and the temporary file then replaces the destination with one rename. On any failure the
temporary file is removed and the destination is untouched. Temporary names are
``.<name>.<random>.tmp`` unless the caller gives its own prefix/suffix (a caller that cleans up
after killed writes, e.g. assistant.midi_file, matches on them)."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

SHARED_PERMISSIONS = 0o644  # mkstemp makes files private; what we write is for the user's other programs too


@contextmanager
def atomic_path(path: str | os.PathLike, *, prefix: str | None = None, suffix: str = ".tmp",
                permissions: int | None = SHARED_PERMISSIONS) -> Iterator[Path]:
    """A temporary path beside ``path`` for writers that want a file name (np.save, torch.save);
    it replaces ``path`` when the block ends without an exception."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}." if prefix is None else prefix,
                                         suffix=suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        if permissions is not None:
            os.chmod(temporary, permissions)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_output(path: str | os.PathLike, *, text: bool = False, prefix: str | None = None, suffix: str = ".tmp",
                  permissions: int | None = SHARED_PERMISSIONS) -> Iterator[IO]:
    """An open file (binary, or UTF-8 text) that replaces ``path`` once the block ends without an
    exception, flushed and fsync'ed first."""
    with atomic_path(path, prefix=prefix, suffix=suffix, permissions=permissions) as temporary:
        with open(temporary, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())


def write_bytes_atomic(path: str | os.PathLike, data: bytes, **options) -> Path:
    """Write ``data`` to ``path`` atomically (options as atomic_output); returns the path."""
    with atomic_output(path, **options) as stream:
        stream.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, **options) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (options as atomic_output); returns the path."""
    with atomic_output(path, text=True, **options) as stream:
        stream.write(text)
    return Path(path)
