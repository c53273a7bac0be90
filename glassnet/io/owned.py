"""Where glassnet may write: every output path is checked before any work starts.

glassnet replaces only what it wrote itself. A file is glassnet's when its content says so (a
model or checkpoint header, the report's generator tag, the ONNX producer, the predictions
header); an output folder is glassnet's when everything in it has one of the names glassnet writes
there. Anything else is refused, with the foreign names, and never deleted. Each check also
probes that the folder can be written, so that an unusable path fails at once and not after
training.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ..exceptions import OutputError
from .atomic import PARTIAL_SUFFIX

#: The tag report.html carries in its <head>; the report recognizer looks for it.
REPORT_GENERATOR = '<meta name="generator" content="glassnet">'


# ----------------------------------------------------------------------------- recognizers
def _safetensors_format(path: Path) -> str | None:
    """The glassnet ``format`` named in a safetensors header, or None (reads the header only)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                return None
            length = int.from_bytes(head, "little")
            if length > 64 * 1024 * 1024:
                return None
            header = json.loads(handle.read(length))
        meta = json.loads(header["__metadata__"]["glassnet"])
        return meta.get("format") if isinstance(meta, dict) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_glassnet_checkpoint(path: Path) -> bool:
    return _safetensors_format(path) == "glassnet-checkpoint"


def is_glassnet_report(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return REPORT_GENERATOR.encode() in handle.read(4096)
    except OSError:
        return False


def is_glassnet_predictions(path: Path) -> bool:
    """A CSV whose header is the one ``glassnet predict`` writes: the rows' identifiers (``row``,
    ``file`` or the ID column's name), then ``prediction`` or ``predicted_<name>`` columns (files
    written before the identifiers were carried: first column ``row``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            header = handle.readline(65536).rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError):
        return False
    if len(header) < 2 or not (header[1] == "prediction" or header[1].startswith("predicted_") or header[0] == "row"):
        return False
    written = ("prediction", "spread")  # the columns predict writes after the identifiers
    return all(c in written or c.startswith(("predicted_", "proba_", "spread_")) for c in header[1:])


def is_glassnet_cache(path: Path) -> bool:
    """An out-of-core cache: a ``.npy`` file of a C-ordered 2-D float32 array (under its reserved name)."""
    import numpy as np

    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            shape, fortran, dtype = read[version](handle)
    except Exception:  # not a .npy file: not ours
        return False
    return len(shape) == 2 and not fortran and dtype == np.dtype("<f4")


def is_glassnet_onnx(path: Path) -> bool:
    try:
        import onnx

        return onnx.load(str(path), load_external_data=False).producer_name == "glassnet"
    except Exception:  # anything that is not a readable ONNX model is not ours
        return False


# ---------------------------------------------------------------------------------- checks
def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_writable_folder(folder: Path, what: str) -> None:
    """Refuse a folder that does not exist or cannot be written (probed with a temporary file)."""
    if not folder.exists():
        raise OutputError(f"the folder of {what} does not exist: {folder}. Create it first or choose another path.")
    if not folder.is_dir():
        raise OutputError(f"{folder} (the folder of {what}) is not a folder.")
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".glassnet-probe.", suffix=PARTIAL_SUFFIX)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {what} in {folder}: {exc.strerror or exc}.") from None


def check_output_file(
    path: str | Path,
    *,
    overwrite: bool,
    owned: Callable[[Path], bool],
    what: str,
    inputs: Iterable[str | Path | None] = (),
    flag: str = "--overwrite to replace it",
) -> Path:
    """Check that ``path`` may receive ``what`` before any work is done; return it as a Path.

    Refused: a folder; one of ``inputs`` (the data or model being read); an existing file that
    ``owned`` does not recognize as glassnet's, even with ``overwrite``; glassnet's own file
    unless ``overwrite`` (``flag`` says how to ask for it); a path whose folder is missing or
    read-only.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; {what} needs a file path.")
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise OutputError(
                f"{path} is an input of this command; writing {what} there would destroy it. "
                "Choose another output path."
            )
    if path.exists() or path.is_symlink():
        if path.is_symlink() or not owned(path):
            raise OutputError(
                f"{path} exists and was not written by glassnet ({what}); glassnet replaces "
                "only its own files. Move it away or choose another path."
            )
        if not overwrite:
            raise OutputError(f"{path} exists; pass {flag}, or choose another path.")
    check_writable_folder(path.parent if str(path.parent) else Path("."), what)
    return path


def foreign_entries(folder: Path, known: Iterable[str]) -> list[str]:
    """Names in ``folder`` that glassnet does not write there."""
    allowed = set(known)
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in allowed)


def check_output_folder(
    folder: str | Path,
    *,
    overwrite: bool,
    known: Iterable[str],
    inputs: Iterable[str | Path | None] = (),
    what: str = "the outputs",
) -> Path:
    """Check that ``folder`` may be (re)created with glassnet's outputs before any work is done.

    Refused: the current folder or one of its parents; a folder holding one of ``inputs``; an
    existing file; an existing folder unless ``overwrite``; an existing folder holding anything
    but the ``known`` output names, even with ``overwrite`` (the foreign names are listed); a
    parent that is missing or read-only.
    """
    folder = Path(folder)
    resolved = folder.resolve()
    here = Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise OutputError(
            f"--out {folder} is the current folder or one of its parents; glassnet writes its "
            "outputs to a folder of their own. Choose a new folder name, e.g. --out results."
        )
    for source in inputs:
        if source is None:
            continue
        source_path = Path(source).resolve()
        if source_path == resolved or resolved in source_path.parents:
            raise OutputError(f"--out {folder} holds the input {source}; choose another output folder.")
    if folder.exists() or folder.is_symlink():
        if folder.is_symlink() or not folder.is_dir():
            raise OutputError(f"{folder} exists and is not a folder; choose another --out.")
        if not overwrite:
            raise OutputError(
                f"output folder {folder} exists; pass --overwrite to replace glassnet's outputs "
                "in it, or choose another --out."
            )
        foreign = foreign_entries(folder, known)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OutputError(
                f"output folder {folder} holds files glassnet did not write ({shown}); glassnet "
                "replaces only its own outputs. Move them away or choose another --out."
            )
    check_writable_folder(folder.parent if str(folder.parent) else Path("."), what)
    return folder
