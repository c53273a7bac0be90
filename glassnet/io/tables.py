"""Reading tables: CSV (delimiter and header sniffed; plain or compressed as .gz, .bz2, .xz or .zip),
Excel workbooks (.xlsx: the first sheet), Parquet (a file or a folder) and npz files into pandas
DataFrames, whole or in chunks."""

from __future__ import annotations

import collections
import contextlib
import csv
import functools
import io
import itertools
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..exceptions import DataError

#: Rows per chunk when a table is streamed (``glassnet predict``): memory is bounded by a chunk.
CHUNK_ROWS = 100_000
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Bytes of a Parquet column chunk read at a time.
PARQUET_BUFFER = 2**20
#: Compressed CSVs, by suffix: what pandas infers from the name (``compression="infer"``) and the
#: standard library opens, so that the delimiter and header are sniffed from the text, not the bytes.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
#: Excel workbooks read with openpyxl (pandas' reader for them); older formats get an error that says how.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
OTHER_WORKBOOKS = (".xls", ".xlsb", ".ods", ".numbers")


def head_bytes(path: str | Path, size: int) -> tuple[bytes, float]:
    """The first ``size`` bytes of a file's content (decompressed by its suffix, see
    :data:`COMPRESSED_SUFFIXES`), and the share of the file they came from (1.0 when the file ends
    there), to estimate the size of the whole content."""
    import bz2
    import gzip
    import lzma
    import zipfile

    path = Path(path)
    total = max(path.stat().st_size, 1)
    suffix = path.suffix.lower()
    try:
        if suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                member = archive.infolist()[0]
                with archive.open(member) as handle:
                    head = handle.read(size)
                return head, len(head) / max(member.file_size, 1)
        openers = {".gz": gzip.GzipFile, ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}
        with open(path, "rb") as raw:
            if suffix not in openers:
                head = raw.read(size)
                return head, len(head) / total
            with openers[suffix](fileobj=raw) if suffix == ".gz" else openers[suffix](raw) as handle:
                head = handle.read(size)
                ended = len(head) < size
            return head, 1.0 if ended else min(1.0, raw.tell() / total)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile, IndexError) as error:
        raise DataError(f"cannot read {path} as a {suffix} compressed file: {error}") from None


def is_parquet_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding Parquet files: one table split into files (a dataset)."""
    folder = Path(path)
    return folder.is_dir() and any(p.suffix.lower() in PARQUET_SUFFIXES for p in folder.iterdir())


def is_glob(path: str | Path) -> bool:
    """Whether ``path`` is a pattern such as ``events/*.parquet`` (Parquet files read as one table)."""
    return any(mark in str(path) for mark in "*?[")


def parquet_files(path: str | Path) -> list[str] | None:
    """The Parquet files of a Parquet file, folder or glob pattern, in the order they are read (None for
    another kind of input)."""
    import glob

    source = Path(path)
    if is_glob(path):
        files = sorted(glob.glob(str(path), recursive=True))
        if not files:
            raise DataError(f"no file matches {path}.")
        return files
    if source.is_dir() and is_parquet_folder(source):
        import pyarrow.dataset as ds

        return list(ds.dataset(source, format="parquet").files)
    return [str(source)] if source.suffix.lower() in PARQUET_SUFFIXES else None


def read_table(
    path: str | Path, delimiter: str | None = None, encoding: str | None = None, numeric=(), sheet: str | None = None
):
    """Read a CSV (delimiter and header sniffed unless given), Parquet or npz file into a DataFrame.

    A CSV is read as UTF-8 (a byte-order mark is skipped) unless ``encoding`` names another
    (``latin-1``, ``cp1252``, ...); a file that is not UTF-8 gets an error that says so. A folder
    of Parquet files is read as one table. ``numeric`` names columns known to be numbers, whose
    cells written as people write numbers are all read as numbers (:func:`local_numbers`); ``sheet`` an
    Excel workbook's sheet, by name or number from 1 (None: the first).
    """
    (frame,) = iter_table(path, delimiter, encoding, chunk_rows=None, numeric=numeric, sheet=sheet)  # whole
    return frame


def iter_table(
    path: str | Path,
    delimiter: str | None = None,
    encoding: str | None = None,
    chunk_rows: int | None = CHUNK_ROWS,
    numeric=(),
    sheet: str | None = None,
) -> Iterator:
    """The table at ``path`` as DataFrames of at most ``chunk_rows`` rows (None: one frame).

    CSV is read by pandas in chunks and Parquet (a file, or a folder of them read as one dataset)
    by record batches, so memory holds one chunk at a time; an npz file is read whole. Errors are
    :class:`~glassnet.exceptions.DataError` naming the file and what is wrong, wherever they occur.
    ``numeric`` and ``sheet``: as for :func:`read_table`.
    """
    source = Path(path)
    if sheet is not None and source.suffix.lower() not in EXCEL_SUFFIXES:
        raise DataError(f"--sheet is for Excel workbooks (.xlsx); {source} is not one.")
    try:
        yield from _chunks(source, delimiter, encoding, chunk_rows, tuple(numeric), sheet)
    except DataError:
        raise
    except UnicodeDecodeError as exc:
        raise DataError(
            f"cannot read {source}: it is not {encoding or 'UTF-8'} text (byte 0x{exc.object[exc.start]:02x} at "
            f"position {exc.start}). Name its encoding with --encoding, e.g. --encoding latin-1 or "
            "--encoding cp1252."
        ) from None
    except (ValueError, OSError) as exc:
        raise DataError(f"cannot read {source}: {exc}".splitlines()[0]) from None
    except Exception as exc:  # pandas' and pyarrow's own types
        raise DataError(f"cannot read {source}: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def _chunks(
    path: Path, delimiter: str | None, encoding: str | None, chunk_rows: int | None, numeric=(), sheet=None
) -> Iterator:
    import codecs

    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"unknown encoding {encoding!r}; try utf-8, latin-1 or cp1252.") from None
    if is_glob(path):
        yield from _parquet_chunks(path, chunk_rows)
        return
    if not path.exists():
        raise DataError(f"no such file: {path}")
    if path.is_dir() and not is_parquet_folder(path):
        raise DataError(
            f"{path} is a folder without Parquet files; this needs a CSV/Parquet/npz file or a folder of Parquet "
            "files (image folders are for models trained on images)."
        )
    if path.is_dir() or path.suffix.lower() in PARQUET_SUFFIXES:
        yield from _parquet_chunks(path, chunk_rows)
        return
    if path.suffix.lower() == ".npz":
        yield _read_npz(path)
        return
    if path.suffix.lower() in EXCEL_SUFFIXES + OTHER_WORKBOOKS:
        yield from _excel_chunks(path, chunk_rows, numeric, sheet)
        return
    yield from _csv_chunks(path, delimiter, encoding, chunk_rows, numeric)


def _excel_chunks(path: Path, chunk_rows: int | None, numeric, sheet: str | None = None) -> Iterator:
    """An Excel workbook's sheet (``sheet``, by name or number from 1; None: the first), read whole (a sheet
    holds at most 1,048,576 rows), then given in chunks, under the reading rules of a CSV; when the first
    is read and there are others, they are named in the reading notes."""
    import pandas as pd

    if path.suffix.lower() in OTHER_WORKBOOKS:
        raise DataError(f"{path} is a {path.suffix} workbook, which glassnet does not read: save it as .xlsx or .csv.")
    try:
        import openpyxl  # noqa: F401  (pandas' reader for .xlsx)
    except ImportError:
        raise DataError(f"reading {path} needs openpyxl: pip install openpyxl (or save it as .csv).") from None
    with pd.ExcelFile(path, engine="openpyxl") as book:
        sheets = book.sheet_names
        chosen = _sheet(path, sheets, sheet)
        start = _header_row(pd.read_excel(book, sheet_name=chosen, header=None, nrows=HEADER_SEARCH_ROWS))
        frame = pd.read_excel(book, sheet_name=chosen, header=start)
    said = []
    if len(sheets) > 1 and sheet is None:
        others = ", ".join(repr(name) for name in sheets[1:])
        said.append(f"read the first sheet, {sheets[0]!r}, of {len(sheets)} (also {others}); --sheet chooses another")
    if start:
        said.append(f"the table starts at row {start + 1} of the sheet; the rows above it, left out")
    frame = _named(frame, True, ",", numeric, said)  # the CSV's reading rules
    step = chunk_rows or max(len(frame), 1)
    for start in range(0, max(len(frame), 1), step):
        chunk = frame.iloc[start : start + step]
        chunk.attrs = frame.attrs
        yield chunk


def _sheet(path: Path, sheets: list[str], asked: str | None) -> str:
    """The sheet ``asked`` for (a name, or a number from 1), or the first; an error names the sheets."""
    if asked is None:
        return sheets[0]
    if asked in sheets:
        return asked
    if asked.isdigit() and 1 <= int(asked) <= len(sheets):
        return sheets[int(asked) - 1]
    named = ", ".join(repr(name) for name in sheets)
    raise DataError(f"{path} has no sheet {asked!r}; its sheets: {named} (or their numbers, 1 to {len(sheets)}).")


#: The rows of a sheet in which its header row is looked for, and the most lines a CSV's title may take.
HEADER_SEARCH_ROWS = 30
TITLE_LINES = 10


def _header_row(head) -> int:
    """Where a sheet's table starts (from 0): the first of its first rows that fills the table's width
    with text, its header, when every row above it is a title or blank (at most half the width filled),
    as spreadsheets often have. 0 otherwise (a table whose header holds numbers or a gap, or none)."""
    filled = head.notna().sum(axis=1)
    width = int(filled.max()) if len(filled) else 0
    for row in range(len(head)):
        cells = head.iloc[row].dropna()
        if width and filled.iloc[row] == width and all(isinstance(cell, str) for cell in cells):
            return row
        if filled.iloc[row] > max(1, width // 2):
            return 0
    return 0


def _csv_chunks(path: Path, delimiter: str | None, encoding: str | None, chunk_rows: int | None, numeric) -> Iterator:
    """A CSV's chunks: the delimiter (or Excel's ``sep=;`` first line) and the header sniffed from its text."""
    import pandas as pd

    text_encoding = encoding or "utf-8-sig"
    sample = head_bytes(path, 64 * 1024)[0].decode(text_encoding, errors="replace")
    if not sample.strip():
        raise DataError(f"{path} is empty.")
    skip = 0
    declared = re.match(r"sep=(.)[ \t]*\r?\n", sample)  # Excel's first line naming the delimiter
    if declared:
        delimiter, sample, skip = delimiter or declared.group(1), sample[declared.end() :], 1
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    said = []
    titles = _title_lines(sample, delimiter)
    if titles:  # a title (and blank lines) above the header, as reports exported from other tools have
        sample, skip = "".join(sample.splitlines(keepends=True)[titles:]), skip + titles
        said.append(f"the table starts at line {skip + 1} of the file; the lines above it, left out")
    has_header = _has_header(sample, delimiter)
    if has_header:
        _check_unique_header(sample, delimiter, path)
    # index_col=False: a row with one field more than the header (a delimiter ending every line) made
    # pandas take the first column as the index, and every column the values of the next one
    settings = dict(
        sep=delimiter, header=0 if has_header else None, encoding=text_encoding, index_col=False, skiprows=skip
    )
    lossless = functools.partial(_lossless, path, sample, delimiter, skip)
    if chunk_rows is None:
        with lossless():
            frame = pd.read_csv(path, **settings)
        yield _named(frame, has_header, delimiter, numeric, said)
        return
    with pd.read_csv(path, chunksize=chunk_rows, **settings) as reader:  # closed when the reading stops early
        while True:
            with lossless():
                frame = next(reader, None)
            if frame is None:
                return
            yield _named(frame, has_header, delimiter, numeric, said)


@contextlib.contextmanager
def _lossless(path: Path, sample: str, delimiter: str, skipped: int) -> Iterator[None]:
    """Refuse a CSV whose rows hold values in fields the header has no name for: pandas drops them
    with only a warning (``index_col=False``). The error names the first such line in ``sample``."""
    import pandas as pd

    advice = (
        "If the table starts below a title or notes, remove the lines above its header; otherwise quote the "
        f"cells that hold the delimiter {delimiter!r}, or name every column in the header."
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            yield
        except pd.errors.ParserError as error:  # "Expected 3 fields in line 7, saw 4"
            raise DataError(f"cannot read {path}: {str(error).splitlines()[0]}. {advice}") from None
    for warning in caught:
        if issubclass(warning.category, pd.errors.ParserWarning) and "loss of data" in str(warning.message):
            lines = csv.reader(io.StringIO(sample), delimiter=delimiter)
            names = len(next(lines, []))
            longer = next(((lines.line_num, len(row)) for row in lines if len(row) > names), None)
            where = (
                f"line {longer[0] + skipped} has {longer[1]} fields, but the header (line {skipped + 1}) names "
                f"{names} column(s)"
                if longer
                else "some rows hold values in more fields than the header names columns"
            )
            raise DataError(f"{path}: {where}; the values past them would be lost. {advice}")
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _named(frame, has_header: bool, delimiter: str = ",", numeric=(), said=()):
    if not has_header:
        frame.columns = [f"column_{i}" for i in range(frame.shape[1])]
    frame = local_numbers(trimmed(frame), delimiter, numeric)
    frame.attrs["reading"][:0] = said
    return frame


def _title_lines(sample: str, delimiter: str) -> int:
    """How many lines above the header hold a title or nothing: lines with fewer fields than the table's
    width (the commonest count of fields), before a line of that width that names every column, not all
    of them numbers. 0 when the first line is the header or no line is such a header."""
    rows = list(itertools.islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 200))[:-1]  # the last may be cut
    counts = collections.Counter(len(row) for row in rows if len(row) > 1)
    if not counts:
        return 0
    width = counts.most_common(1)[0][0]
    for line, row in enumerate(rows[: TITLE_LINES + 1]):
        if len(row) >= width:
            named = len(row) == width and all(cell.strip() for cell in row)
            return line if named and not all(_is_number(cell) for cell in row) else 0
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: Numbers as people write them in tables (a reading rule): thousands grouped by commas (``12,345.6``),
#: by spaces (``12 345.6``) or by apostrophes (``12'345.6``); in a file not delimited by commas, a
#: decimal comma with optional groups of thousands by points or spaces (``0,123``, ``1.234,5``,
#: ``1 234,5``); and any of these, or a plain number, with a currency sign before or after it
#: (``$1,200``, ``-€5``, ``3,50 €``) or a percent sign after it (``45%``, read as 45), and any of them
#: in parentheses, as accounts write a negative number (``(1,234.50)`` is -1234.5).
_PLAIN = r"\d+(?:\.\d+)?|\.\d+"
_SPACES = " \u00a0\u202f"  # a space, a no-break space, a narrow no-break space (French, SI)
_GROUPED = rf"\d{{1,3}}(?:(?:,\d{{3}})+|(?:[{_SPACES}]\d{{3}})+|(?:['’]\d{{3}})+)(?:\.\d+)?"
_DECIMAL_COMMA = rf"(?:\d{{1,3}}(?:(?:\.\d{{3}})+|(?:[{_SPACES}]\d{{3}})+)|\d+),\d+"
CURRENCY_SIGNS = "$€£¥₹"
_WRITTEN = (
    rf"(?P<open>\(?)(?P<minus>[+-]?)\s*(?P<before>[{CURRENCY_SIGNS}]?)\s*(?P<minus2>[+-]?)"
    rf"(?P<body>\d(?:[\d.,'’{_SPACES}]*\d)?|\.\d+)\s*(?P<after>[%{CURRENCY_SIGNS}]?)(?P<close>\)?)"
)
#: The same without its named groups: pyarrow's regular expressions match it (about 4× faster than Python's).
_WRITTEN_ANY = re.sub(r"\(\?P<\w+>", "(?:", _WRITTEN)
#: A text column becomes numbers when at least this share of its present cells reads as numbers after it.
LOCAL_NUMBERS_FRACTION = 0.8


def local_numbers(frame, delimiter: str, numeric=()):
    """``frame`` with text columns of numbers written as people write them read as numbers (a reading
    rule), each said in ``frame.attrs["reading"]``: a column of ``12,345.6``, ``$1,200``, ``45%`` or (in a
    file delimited by ``;`` or a tab) ``0,123`` was taken as categories, or as an ID-like column and dropped.

    A column is read so when at least :data:`LOCAL_NUMBERS_FRACTION` of its present cells are numbers
    then; a column named in ``numeric`` (known to be numeric: a saved model's, or declared) has every
    such cell read, however few, so that a small file of new rows is read as the training rows were.
    """
    import pandas as pd

    notes = frame.attrs.setdefault("reading", [])
    frame.attrs["delimiter"] = delimiter  # how a chunk's rows were read, for rows gathered from several
    known = set(numeric)
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        written = values.astype("string")
        numbers, forms = written_numbers(written, comma_decimals=delimiter != ",")
        if not forms:
            continue
        present = written.notna()
        converted = numbers.notna()
        readable = converted | pd.to_numeric(written.where(~converted), errors="coerce").notna()
        if column in known or readable[present].mean() >= LOCAL_NUMBERS_FRACTION:
            # the cells read so become numbers; others stay as they are (a stray word is then
            # counted as not a number by the column's kind, columns.not_numbers)
            column_values = values.astype(object).where(~converted, numbers.astype(object))
            as_float = pd.to_numeric(column_values, errors="coerce")
            # a column of numbers only is a float column (a target of them is a regression's), as pandas reads one
            exact = as_float.notna().sum() == column_values.notna().sum()
            frame[column] = as_float if exact else column_values
            count = int(converted.sum())
            frame.attrs.setdefault("numbers_read", {})[column] = [count, forms]
            notes.append(numbers_note(column, count, forms))
    return frame


def numbers_note(column: str, count: int, forms: list[str]) -> str:
    """The reading note of a column whose written numbers were read as numbers (:func:`local_numbers`)."""
    return f"column {column!r}: {count} number(s) written {' and '.join(forms)} read as numbers"


def written_numbers(written, comma_decimals: bool):
    """The numbers in ``written`` (a string Series) that are written with thousands separators, a decimal
    comma (when ``comma_decimals``), a currency sign or a percent sign, as floats (NaN elsewhere: plain
    numbers, words, blanks), and how they were written (an empty list when no cell was)."""
    import pandas as pd

    numbers = pd.Series(np.nan, index=written.index)
    fits = written.str.fullmatch(_WRITTEN_ANY).fillna(False).astype(bool)
    if not fits.any():
        return numbers, []
    codes, distinct = pd.factorize(written[fits])  # each distinct text taken apart once
    parts = pd.Series(distinct, dtype="string").str.extract(f"^{_WRITTEN}$").iloc[codes]
    parts.index = written.index[fits]
    parts = parts.reindex(written.index)
    body, before, after = parts["body"], parts["before"].fillna(""), parts["after"].fillna("")
    brackets = parts["open"].fillna("") + parts["close"].fillna("")
    body = body.where(brackets.isin(["", "()"]))  # one parenthesis alone: not a number
    forms = []
    for pattern, convert, what in _FORMS[comma_decimals]:
        take = body.str.fullmatch(pattern).fillna(False).astype(bool) & numbers.isna()
        if what is None:  # a plain number is a written one only with a sign or parentheses around it
            take &= (before != "") | (after != "") | (brackets == "()")
        if take.any():
            numbers[take] = pd.to_numeric(convert(body[take]), errors="coerce")
            forms += [what] if what else []
    if numbers.notna().any():
        negative = (parts["minus"] == "-") ^ (parts["minus2"] == "-") ^ (brackets == "()")
        numbers = numbers.where(~negative.fillna(False).astype(bool), -numbers)
        used = numbers.notna()
        if (brackets[used] == "()").any():
            forms.append("in parentheses, as accounts write a negative ((1,234.5) is -1234.5)")
        signs = sorted((set(before[used]) | set(after[used])) - {"", "%"})
        forms += [f"with a currency sign ({', '.join(signs)})"] if signs else []
        forms += ["as percentages (45% is 45)"] if (after[used] == "%").any() else []
    return numbers, list(dict.fromkeys(forms))


def _grouped(text):
    return text.str.replace(rf"[,'’{_SPACES}]", "", regex=True)


def _decimal_comma(text):
    return text.str.replace(rf"[.{_SPACES}]", "", regex=True).str.replace(",", ".", regex=False)


#: By whether a comma may be a decimal comma (the file's delimiter is not a comma): (the number's
#: pattern, its conversion, how it is written; None: a plain number, read so only with a sign around it).
_FORMS = {
    False: [
        (_GROUPED, _grouped, "with thousands separators (12,345.6, 12 345.6 or 12'345.6)"),
        (_PLAIN, lambda text: text, None),
    ],
    True: [
        (_DECIMAL_COMMA, _decimal_comma, "with a decimal comma (0,123, 1.234,5 or 1 234,5)"),
        (_GROUPED, _grouped, "with thousands separators (12,345.6, 12 345.6 or 12'345.6)"),
        (_PLAIN, lambda text: text, None),
    ],
}


def trimmed(frame):
    """``frame`` with the spaces around its column names and its text cells removed (a reading rule):
    ``"yes "`` and ``" yes"`` are ``"yes"``, as a person reads them (they were three classes), and a
    cell of spaces alone is a missing value."""
    import pandas as pd

    frame.columns = [name.strip() if isinstance(name, str) else name for name in frame.columns]
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.StringDtype):  # every cell text or missing: vectorized, 10× faster
            text = values.str.strip()
            frame[column] = text.mask(text == "")
        elif values.dtype == object or pd.api.types.is_string_dtype(values):  # text among other objects
            text = values.map(lambda v: v.strip() if isinstance(v, str) else v)
            frame[column] = text.mask(text.map(lambda v: isinstance(v, str) and v == ""))
    return frame


def _parquet_chunks(path: Path, chunk_rows: int | None) -> Iterator:
    """A Parquet file, folder or glob (one dataset; its files' schemas must agree) by record batches.

    The files are read one after the other, each through a 1 MB buffer and without read-ahead: the
    dataset scanner read ahead of a slow consumer and held 0.9 GB of a 10⁷-row file decoded.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    files = parquet_files(path) or []
    dataset = ds.dataset(files, format="parquet")
    _check_schemas(dataset)
    if chunk_rows is None:
        yield dataset.to_table().to_pandas()
        return
    empty = True
    for file in files:
        reader = pq.ParquetFile(file, pre_buffer=False, buffer_size=PARQUET_BUFFER)
        for batch in reader.iter_batches(batch_size=chunk_rows):
            if batch.num_rows:
                empty = False
                yield batch.to_pandas()
    if empty:
        yield dataset.schema.empty_table().to_pandas()


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


def _check_unique_header(sample: str, delimiter: str, path: Path) -> None:
    """Refuse a header that names a column twice (up to surrounding spaces): pandas would rename the
    second ``y`` to ``y.1`` and keep it as a feature, so a duplicated target column leaked into the
    model (test accuracy 1.000, no word)."""
    first = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(first, start=1):
        seen.setdefault(name.strip(), []).append(position)
    twice = {name: places for name, places in seen.items() if len(places) > 1 and name}
    if twice:
        listed = "; ".join(f"{name!r} (columns {', '.join(map(str, places))})" for name, places in twice.items())
        raise DataError(f"{path} names a column more than once: {listed}. Rename or remove the copies.")


def _has_header(sample: str, delimiter: str) -> bool:
    """A CSV has a header row unless every field of its first row is a number (or empty).

    Column names are almost never all numbers, while a file without a header is almost always a
    numeric matrix. (The standard library's ``csv.Sniffer.has_header`` votes on the columns' types
    and lengths, and takes the header of a table of short words for a data row.)
    """
    first = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    return not first or not all(_is_number(cell.strip()) for cell in first if cell.strip())


def _check_schemas(dataset) -> None:
    """Every file of a Parquet folder has the first file's columns and types (no silent nulls, no casts)."""
    import pyarrow.parquet as pq

    files = dataset.files
    if len(files) < 2:
        return
    first = pq.read_schema(files[0])
    for name in files[1:]:
        try:
            schema = pq.read_schema(name)
        except Exception as exc:
            raise DataError(f"cannot read {name}: {exc}".splitlines()[0]) from None
        if not schema.equals(first, check_metadata=False):
            ours, theirs = dict(zip(first.names, first.types)), dict(zip(schema.names, schema.types))
            differ = sorted(
                {c for c in ours.keys() | theirs.keys() if str(ours.get(c, "absent")) != str(theirs.get(c, "absent"))}
            )
            shown = ", ".join(f"{c} ({ours.get(c, 'absent')} → {theirs.get(c, 'absent')})" for c in differ[:5])
            raise DataError(
                f"{name} does not have the columns of {files[0]}: {shown or 'their order differs'}. The files of a "
                "Parquet folder are one table: rewrite the file with the same columns and types, or move it out."
            )
