"""Files written whole or not at all.

Every writer of :mod:`moflow.io` writes under a temporary name in the file's folder and renames the
complete file into place (:func:`atomic_write`); an :class:`OSError` while writing (a full disk, a
read-only or missing folder) becomes a one-line :class:`WriteError` naming the file, the cause and the
fix (:func:`write_error`).
"""

from __future__ import annotations

import errno as _errno
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteError(OSError):
    """An output file could not be written: a full disk, a read-only or missing folder.

    The message is one line: ``cannot write <path>: <cause> (errno N); <fix>``. It is an
    :class:`OSError` and not an :class:`~moflow.errors.InputError`: nothing is wrong with the user's input,
    and code that turns bad input into a note (a design point that cannot be fit) must not swallow it.
    The job's error hook (:func:`moflow.runtime.setup`) prints it as ``Error: <message>``, without a
    traceback.

    Attributes
    ----------
    path : str
        The file that was to be written.
    """

    def __init__(self, message: str, path: str = "", code: int | None = None):
        super().__init__(message)
        self.path = path
        self.errno = code


# what to do, by errno, after "cannot write <path>: <cause>"
_WRITE_FIXES = {
    _errno.ENOSPC: "free space or choose another folder",
    _errno.EDQUOT: "free space (the disk quota is full) or choose another folder",
    _errno.EACCES: "make the folder writable or run from a folder you can write to",
    _errno.EPERM: "make the folder writable or run from a folder you can write to",
    _errno.EROFS: "the file system is read-only; run from a folder you can write to",
    _errno.ENOENT: "the folder is missing or was removed during the run; check the path",
    _errno.ENOTDIR: "a file stands where a folder is needed on the path; rename or remove it",
    _errno.EISDIR: "a folder stands where the file should be; rename or remove it",
    _errno.EFBIG: "the file is larger than the file system allows; choose another folder",
}


def write_error(path: str | Path, exc: OSError) -> WriteError:
    """The one-line :class:`WriteError` for an :class:`OSError` raised while writing ``path``.

    The cause is the system's wording of the error number (found in the message where a library such
    as h5py or pyarrow leaves ``errno`` unset), else the first line of the library's message.

    Parameters
    ----------
    path : str or Path
        The final file (not its temporary twin).
    exc : OSError
        What writing raised.

    Returns
    -------
    WriteError
        ``cannot write <path>: <cause> (errno N); <fix>``.
    """
    if isinstance(exc, WriteError):
        return exc
    code = exc.errno if isinstance(exc.errno, int) else None
    if code is None:
        m = re.search(r"errno\s*=?\s*(\d+)|\[Errno (\d+)\]", str(exc), flags=re.IGNORECASE)
        code = int(m.group(1) or m.group(2)) if m else None
    if code is not None:
        cause = f"{os.strerror(code)} (errno {code})"
    else:
        text = str(exc).strip().splitlines()
        cause = text[0] if text else type(exc).__name__
    fix = _WRITE_FIXES.get(code, "check that the folder exists, is writable and has free space")
    return WriteError(f"cannot write {path}: {cause}; {fix}", path=str(path), code=code)


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Write a file under a temporary name in its folder and rename it into place once complete.

    The block writes to the yielded path: a hidden file in the same folder whose name ends with the final
    file's name (``.tmp-<random>-<name>``), so a writer that infers the format from the suffix
    (``.parquet``, ``.tsv.gz``, ``.h5mu``) sees the same one. When the block ends, the file is flushed to
    disk and renamed over ``path`` (:func:`os.replace`, atomic within a folder): ``path`` is the old file
    or the whole new one, never a truncated one. If the block fails, the temporary file is removed and
    the error goes on; an :class:`OSError` (disk full, read-only folder) becomes a one-line
    :class:`WriteError` naming ``path``. The folder is created.

    Parameters
    ----------
    path : str or Path
        The final file.

    Yields
    ------
    pathlib.Path
        The temporary file to write.
    """
    final = Path(path)
    tmp = final.with_name(f".tmp-{secrets.token_hex(4)}-{final.name}")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise write_error(path, exc) from exc
        raise
