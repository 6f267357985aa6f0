"""Output files of the report: the writability check, the temporary directory and its atomic install.

Everything is written into a temporary directory beside the output and moved into place at the
end, so an interruption (Ctrl-C, an error) leaves no half-written file; an existing output
directory keeps its other files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["install", "load_report", "make_temporary", "save_figure"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_temporary(out: Path, option: str = "out") -> Path:
    """Create the temporary directory beside ``out`` (and ``out``'s missing parents); this is also the
    writability check, made before any computation.

    Raises
    ------
    ValueError
        Naming ``option`` when ``out`` is a file or its directory cannot be created or written.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} must be a directory, {str(out)!r} is a file")
    try:
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise ValueError(f"{option}: cannot write the report into {str(out)!r} "
                         f"({exc.strerror or type(exc).__name__})") from None
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the report directory gets the usual permissions
    if out.exists() and not os.access(out, os.W_OK | os.X_OK):
        tmp.rmdir()
        raise ValueError(f"{option}: directory {str(out)!r} is not writable")
    return tmp


def install(tmp: Path, out: Path) -> None:
    """Move the finished files from ``tmp`` into ``out``: one rename if ``out`` does not exist,
    else one atomic ``os.replace`` per file (other files in ``out`` are left alone)."""
    if not out.exists():
        os.replace(tmp, out)
        return
    for f in sorted(tmp.iterdir()):
        os.replace(f, out / f.name)
    tmp.rmdir()


def save_figure(fig: Figure, directory: Path, name: str, dpi: int = 130) -> list[str]:
    """PNG and PDF of ``fig`` in ``directory``; returns the file names."""
    files = []
    for ext in ("png", "pdf"):
        fig.savefig(directory / f"{name}.{ext}", dpi=dpi)
        files.append(f"{name}.{ext}")
    return files


def load_report(path: str | os.PathLike[str]):
    """The :class:`~rfdiff.report.Report` of a report directory (or of its ``report.json``).

    Same as ``rfdiff.load(path / "report.json")``.
    """
    from ..io import load

    path = Path(path)
    return load(path / "report.json" if path.is_dir() else path)
