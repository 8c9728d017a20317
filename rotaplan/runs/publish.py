"""Publishing a plan folder whole: the previous plan stays until the new one replaces it.

A run's files are written into a staging folder beside the output folder
(``.NAME.rotaplan-staging-PID-XXXX``), checked there, and only then swapped in
with one atomic operation: on Linux ``renameat2(RENAME_EXCHANGE)`` exchanges
the two folders, so a reader, or a kill -9 at any moment, sees either the
previous folder or the new one, never a mix and never an empty folder. Where
that call does not exist (other systems) the swap is two renames, and a folder
left aside by a kill between them is put back by the next run.

Staging folders of runs that died are removed by the next run into the same
folder. Files that rotaplan did not write are never in a plan folder: a folder
that holds any is refused before a run starts (:func:`output_problem`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

STAGING = ".rotaplan-staging-"
ASIDE = ".rotaplan-aside-"

OUTPUT_FILES = frozenset({
    "assignments.csv", "timetable.csv", "summary.json", "explanation.txt",
    "explanation.json", "changes.csv", "timetable_changes.csv", "supervisor_changes.csv",
    "alternatives.csv", "scenario.yaml", "solution.dzn", "rejected",
})
"""Names rotaplan writes into a plan folder (``alt-K`` folders too)."""


def _ours(name: str) -> bool:
    return name in OUTPUT_FILES or re.fullmatch(r"alt-\d+", name) is not None


def output_problem(path: Path, *, container: bool = False) -> str | None:
    """Why ``path`` cannot be an output folder, in a few words, or None.

    Parameters
    ----------
    path
        The folder a command will write (a plan folder, or with ``container`` a
        folder of plan folders such as a batch's).
    container
        The folder holds plan folders and summary tables; other files in it are
        left alone, so they are allowed.
    """
    if path.is_symlink():
        return "is a symbolic link; give the folder itself"
    if path.exists() and not path.is_dir():
        return "is a file, not a folder"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"is under {parent}, which is a file"
            break
    resolved = path.resolve()
    here = Path.cwd().resolve()
    if not container and (resolved == here or resolved in here.parents):
        return "is the current folder or holds it; give a new folder for the plan"
    if path.is_dir() and not container:
        foreign = sorted(p.name for p in path.iterdir() if not _ours(p.name))
        if foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            return (f"holds files rotaplan did not write ({foreign[0]}{more}); give a new "
                    "or empty folder (a plan folder is replaced as a whole)")
    anchor = path if path.is_dir() else next((p for p in path.parents if p.exists()), None)
    if anchor is None or not os.access(anchor, os.W_OK | os.X_OK):
        return f"cannot be written ({anchor or path}: permission denied)"
    if not container and not path.exists() and not os.access(path.parent if
                                                              path.parent.exists() else anchor,
                                                              os.W_OK):
        return "cannot be created: permission denied"
    return None


# --------------------------------------------------------------------------- the swap

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> object | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_EXCHANGE = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux); False where the system cannot."""
    if _EXCHANGE is None:
        return False
    result = _EXCHANGE(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),  # type: ignore[operator]
                       _RENAME_EXCHANGE)
    if result == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not on this file system
        return False
    raise OSError(errno, os.strerror(errno), str(b))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_debris(out: Path) -> None:
    """Remove staging folders of dead runs beside ``out``; put back a folder left aside."""
    parent = out.parent
    if not parent.is_dir():
        return
    prefix = f".{out.name}"
    for entry in parent.iterdir():
        name = entry.name
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        match = re.match(rf"^({re.escape(STAGING)}|{re.escape(ASIDE)})(\d+)-", rest)
        if match is None or _pid_alive(int(match.group(2))):
            continue
        if match.group(1) == ASIDE and not out.exists():
            with contextlib.suppress(OSError):
                entry.rename(out)  # a swap was cut between its two renames
                continue
        shutil.rmtree(entry, ignore_errors=True)


_LIVE: set[Path] = set()
"""Staging folders (and folders swapped aside) of publications still open in this process."""


def discard_open() -> None:
    """Remove the staging folders of every open publication (before an immediate exit).

    Their targets are untouched: before the swap a staging folder holds unchecked new
    files, after it the previous contents, and either way the target is whole.
    """
    for folder in list(_LIVE):
        shutil.rmtree(folder, ignore_errors=True)
        _LIVE.discard(folder)


class Publication:
    """A staging folder for ``out``'s next contents, swapped in by :meth:`commit`.

    Use as a context manager: files are written into :attr:`path`; if
    :meth:`commit` is not called (an error, an interrupt), the staging folder
    is removed and ``out`` is untouched.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._staging: Path | None = None
        self._leftover: Path | None = None
        self.committed = False

    @property
    def path(self) -> Path:
        """The staging folder to write the new contents into."""
        if self._staging is None:
            raise RuntimeError("a Publication is used inside a with-block, before commit()")
        return self._staging

    def __enter__(self) -> Publication:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        clean_debris(self.out)
        self._staging = Path(tempfile.mkdtemp(
            prefix=f".{self.out.name}{STAGING}{os.getpid()}-", dir=self.out.parent))
        _LIVE.add(self._staging)
        return self

    def commit(self) -> None:
        """Swap the staging folder in as ``out`` (the previous contents are removed)."""
        staging = self.path
        if self.out.is_dir() and not self.out.is_symlink():
            if exchange(staging, self.out):
                self._leftover = staging  # now holds the previous contents
            else:
                aside = self.out.parent / f".{self.out.name}{ASIDE}{os.getpid()}-{id(self)}"
                self.out.rename(aside)
                staging.rename(self.out)
                self._leftover = aside
                _LIVE.add(aside)
        else:
            if self.out.is_symlink():
                self.out.unlink()
            staging.rename(self.out)
        self._staging = None
        self.committed = True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for leftover in (self._staging, self._leftover):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
                _LIVE.discard(leftover)
        self._staging = self._leftover = None


__all__ = ["OUTPUT_FILES", "Publication", "clean_debris", "discard_open", "exchange",
           "output_problem"]
