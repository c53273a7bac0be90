"""Atomic file writes: temporary file in the same folder, fsync, rename, fsync the folder.

Temporaries are named ``.<target>.<host>-<pid>.<random>.glassnet-partial``. A process killed while
writing (kill -9, power loss) cannot remove its own; the next write to the same target removes
those left by processes of this host that no longer run (:func:`remove_stale_partials`).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PARTIAL_SUFFIX = ".glassnet-partial"


def owner_tag() -> str:
    """This process's tag in the names of its temporaries: host and process id."""
    host = "".join(ch for ch in socket.gethostname() if ch.isalnum() or ch in "-_") or "host"
    return f"{host}-{os.getpid()}"


def partial_prefix(path: Path) -> str:
    """The name prefix of this process's temporaries for ``path``."""
    return f".{path.name}.{owner_tag()}."


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return True
    return True


def remove_stale_partials(path: str | Path) -> list[Path]:
    """Remove temporaries for ``path`` left by dead processes of this host; return what was removed.

    Only names of glassnet's own pattern are touched, and only when the process that created them
    (named in the file name) no longer runs on this host.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    host = owner_tag().rsplit("-", 1)[0]
    removed = []
    try:
        candidates = list(folder.glob(f".{glob_escape(path.name)}.*{PARTIAL_SUFFIX}"))
    except OSError:
        return removed
    for candidate in candidates:
        middle = candidate.name[len(path.name) + 2 : -len(PARTIAL_SUFFIX)]
        owner = middle.split(".", 1)[0]
        owner_host, _, pid_text = owner.rpartition("-")
        if owner_host != host or not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        try:
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate)
            else:
                candidate.unlink()
            removed.append(candidate)
        except OSError:
            pass
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one, whole."""
    with atomic_writer(path, binary=True) as out:
        out.write(data)


@contextmanager
def atomic_writer(path: str | Path, binary: bool = False) -> Iterator[IO]:
    """A file to write ``path`` through, bit by bit: renamed into place only when the block ends
    without an error (after an fsync), removed otherwise. Text is UTF-8 with newlines as written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_partials(path)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=partial_prefix(path), suffix=PARTIAL_SUFFIX)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp creates 0600; give the usual permissions
        with os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable."""
    try:
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass


def current_umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back at once)."""
    current = os.umask(0)
    os.umask(current)
    return current
