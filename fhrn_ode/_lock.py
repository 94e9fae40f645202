"""The one folder lock of fhrn-ode: an OS-level exclusive ``fcntl.flock`` on ``DIR/.fhrn-ode.lock``.

Every command that writes a folder (``integrate``, ``train``, ``sweep``, ... through
:func:`fhrn_ode.cli._common.prepare_out_dir`, and :func:`fhrn_ode.sweep.run_sweep` in the library)
takes this lock, so two fhrn-ode processes never write one folder at once. The kernel holds the
lock: it is released when the holder closes the file or dies (SIGKILL included), so a stale lock
file never blocks a later run, and two processes started at the same instant can never both hold it
(the check-and-take is one system call). The holder writes ``pid N: what`` into the file for the
message of the refused one.

Release unlinks the file *before* closing it; a taker therefore checks, after ``flock`` succeeded,
that the file it locked is still the one at the path (same inode), and retries otherwise.

Re-entrant within a process: a folder this process already holds is not locked twice (``flock`` on
a second descriptor of the same process would refuse itself).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ._errors import FHRNInputError

__all__ = ["LOCK_NAME", "lock_folder", "unlock_folder", "held_folders"]

#: Lock file name inside a locked folder (shared by every command and the sweep runner).
LOCK_NAME = ".fhrn-ode.lock"
_HELD: dict[str, tuple[Path, int, int]] = {}  # resolved folder -> (folder, fd, depth)


def _key(folder: Path) -> str:
    return str(folder.resolve())


def held_folders() -> list[Path]:
    """The folders this process holds locked."""
    return [p for p, _, _ in _HELD.values()]


def lock_folder(folder: str | os.PathLike, *, flag: str = "--out", what: str = "fhrn-ode") -> Path:
    """Take the exclusive lock of ``folder`` (which must exist), or refuse at once.

    Args:
        folder: the folder to lock.
        flag: the user's name of the folder (``--out``, ``out``), for the message.
        what: who holds it (written into the lock file, e.g. ``"fhrn-ode sweep"``).

    Returns:
        ``Path(folder)``.

    Raises:
        FHRNInputError: another process holds the lock (naming its pid and command), or the lock
            file cannot be created.
    """
    import fcntl

    p = Path(folder)
    k = _key(p)
    if k in _HELD:
        q, fd, depth = _HELD[k]
        _HELD[k] = (q, fd, depth + 1)
        return p
    lock_path = p / LOCK_NAME
    for _ in range(20):
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise FHRNInputError(f"`{flag}` {str(p)!r} cannot be locked ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            except OSError:
                holder = "another process"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise FHRNInputError(f"`{flag}` {str(p)!r} is in use by another fhrn-ode process ({holder}); "
                                     f"wait for it or choose another folder") from None
            raise FHRNInputError(f"`{flag}` {str(p)!r} cannot be locked ({exc.strerror or exc})") from None
        try:  # the file we locked must still be the one at lock_path (a releaser may have unlinked it)
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}: {what}".encode())
        _HELD[k] = (p, fd, 1)
        return p
    raise FHRNInputError(f"`{flag}` {str(p)!r} cannot be locked (its lock file keeps changing)")  # pragma: no cover


def unlock_folder(folder: str | os.PathLike, *, force: bool = False) -> None:
    """Release the lock of ``folder`` taken by :func:`lock_folder` (the outermost release removes the file).

    Args:
        folder: the folder.
        force: release at once, whatever the nesting depth.
    """
    k = _key(Path(folder))
    if k not in _HELD:
        return
    p, fd, depth = _HELD[k]
    if depth > 1 and not force:
        _HELD[k] = (p, fd, depth - 1)
        return
    del _HELD[k]
    try:
        os.unlink(p / LOCK_NAME)  # before close: see the module docstring
    except OSError:
        pass
    os.close(fd)
