"""Reading tables: CSV (delimiter and header sniffed), Parquet and npz files into a pandas DataFrame."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..exceptions import DataError


def read_table(path: str | Path, delimiter: str | None = None, encoding: str | None = None):
    """Read a CSV (delimiter and header sniffed unless given), Parquet or npz file into a DataFrame.

    A CSV is read as UTF-8 (a byte-order mark is skipped) unless ``encoding`` names another
    (``latin-1``, ``cp1252``, ...); a file that is not UTF-8 gets an error that says so.
    """
    import codecs

    import pandas as pd

    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"unknown encoding {encoding!r}; try utf-8, latin-1 or cp1252.") from None
    text_encoding = encoding or "utf-8-sig"
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(
            f"{path} is a folder; this needs a CSV/Parquet/npz file (image folders are for models trained on images)."
        )
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix == ".npz":
            return _read_npz(path)
        with open(path, newline="", encoding=text_encoding, errors="replace") as handle:
            sample = handle.read(64 * 1024)
        if not sample.strip():
            raise DataError(f"{path} is empty.")
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        has_header = _has_header(sample, delimiter)
        frame = pd.read_csv(path, sep=delimiter, header=0 if has_header else None, encoding=text_encoding)
        if not has_header:
            frame.columns = [f"column_{i}" for i in range(frame.shape[1])]
        return frame
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(
            f"cannot read {path}: it is not {encoding or 'UTF-8'} text (byte 0x{exc.object[exc.start]:02x} at "
            f"position {exc.start}). Name its encoding with --encoding, e.g. --encoding latin-1 or "
            "--encoding cp1252."
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    except Exception as exc:  # pyarrow and others raise their own types
        raise DataError(f"cannot read {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def _read_npz(path: Path):
    """An npz file's ``x`` (flattened per row) as columns x0, x1, ... and its ``y`` as y (or y0, y1, ...)."""
    import pandas as pd

    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        x_key = next((k for k in ("x", "X", "data", "images") if k in keys), None)
        y_key = next((k for k in ("y", "target", "labels") if k in keys), None)
        if x_key is None:
            raise DataError(f"{path}: expected arrays named x and y; found {keys}.")
        x = data[x_key].reshape(len(data[x_key]), -1)
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
        if y_key is not None:
            y = data[y_key]
            if y.ndim == 1:
                frame["y"] = y
            else:
                for i in range(y.shape[1]):
                    frame[f"y{i}"] = y[:, i]
        return frame


def _has_header(sample: str, delimiter: str) -> bool:
    """A CSV has a header row unless every field of its first row is a number (or empty).

    Column names are almost never all numbers, while a file without a header is almost always a
    numeric matrix. (The standard library's ``csv.Sniffer.has_header`` votes on the columns' types
    and lengths, and takes the header of a table of short words for a data row.)
    """
    first = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    for cell in first:
        text = cell.strip()
        if not text:
            continue
        try:
            float(text)
        except ValueError:
            return True
    return not first
