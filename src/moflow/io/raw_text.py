"""Text files as the readers of :mod:`moflow.io` take them.

The format a name says (:func:`file_suffix`), the bytes and UTF-8 text of a file, gzipped or not
(:func:`decode_file`), and a table's field counts checked row by row (:func:`check_field_counts`).
Failures raise :class:`~moflow.errors.DataError` naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path

from moflow.errors import DataError

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
ANNDATA_SUFFIXES = (".h5ad", ".h5mu")  # AnnData, MuData (moflow.inputs.scverse turns them into tables)


def file_suffix(path: Path) -> str:
    """The lower-case last suffix of ``path``, ``.gz`` aside (``a.tsv.gz`` -> ``.tsv``); "" when none."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def decode_file(path: Path, what: str = "file") -> tuple[bytes, str]:
    """The file's bytes and text: gzip-decompressed when it ends in .gz, decoded as UTF-8.

    A byte-order mark is dropped; line breaks written as a carriage return alone become line feeds (as
    Python's universal newlines read them). A truncated or corrupt gzip stream or bytes that are not UTF-8 raise
    DataError naming the file (and the line).

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file is, for the messages (``"gene-set file"``, ``"annotation table"``).

    Returns
    -------
    data : bytes
        The (decompressed) bytes.
    text : str
        Their UTF-8 text.
    """
    import gzip
    import zlib

    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except gzip.BadGzipFile as exc:
        raise DataError(
            f"{path}: ends in .gz but is not gzip data ({exc}). Compress it with gzip, or drop '.gz' from its "
            "name (and from the sheet that names it)."
        ) from None
    except (EOFError, zlib.error) as exc:
        raise DataError(
            f"{path}: the gzip-compressed {what} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            "The copy was probably cut short: copy or download it again (check with 'gzip -t')."
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from None
    if b"\r" in data and b"\n" not in data:
        # line breaks as a carriage return alone (Excel's "CSV (Macintosh)", old Mac editors): the line
        # feeds Python's universal newlines read them as (they crashed the matrix reader inside pandas)
        data = data.replace(b"\r", b"\n")
    try:
        return data, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text. Save the {what} as UTF-8 "
            "(e.g. 'CSV UTF-8' in Excel, or iconv -f latin1 -t utf-8)."
        ) from None


def check_field_counts(
    text: str, sep: str, path, *, line_numbers: list[int] | None = None, row_ids: bool = True
) -> tuple[list[str], int]:
    """Stop at the first ragged row: every data row must have as many fields as the header.

    Parameters
    ----------
    text : str
        The table's text.
    sep : str
        The field separator.
    path
        Names the file in the message.
    line_numbers : list of int, optional
        The file line of each line of ``text`` (when lines were dropped before, such as comments).
    row_ids : bool
        The first column holds row IDs (a matrix), so a header one field short is R's write.table
        format (named as such in the message).

    Returns
    -------
    header : list of str
        The header fields.
    header_line : int
        The file line of the header.
    """
    import csv

    def line_of(n: int) -> int:
        return line_numbers[n - 1] if line_numbers and n - 1 < len(line_numbers) else n

    if '"' in text:  # quoted values may hold the separator or line breaks: a real CSV reader
        reader = csv.reader(_lines(text, keepends=True), delimiter=sep)
        records = (
            (reader.line_num, fields)
            for fields in reader
            if fields and not (len(fields) == 1 and not fields[0].strip())
        )
        counted = ((num, len(fields), fields) for num, fields in records)
    else:  # fast path (no quotes): a line has one field more than separators
        counted = ((num, line.count(sep) + 1, line) for num, line in enumerate(_lines(text), start=1) if line.strip())
    header, header_line, first_bad = None, 0, ""
    n_rows, n_bad, bad, all_one_more = 0, 0, [], True
    for num, k, fields in counted:
        if header is None:
            header = fields if isinstance(fields, list) else fields.rstrip("\r").split(sep)
            header_line = line_of(num)
            continue
        n_rows += 1
        all_one_more = all_one_more and k == len(header) + 1
        if k != len(header):
            n_bad += 1
            if not bad:
                first_bad = fields if isinstance(fields, str) else sep.join(fields)
            if len(bad) < 7:
                bad.append((line_of(num), k))
            elif not all_one_more:
                break
    if header is None:
        return [], header_line
    header_text = sep.join(header)
    foreign = _foreign_delimiter(header_text, sep)
    # a table written with another delimiter: its rows split alike by it, or a matrix of one column
    if foreign and (first_bad.count(foreign) == header_text.count(foreign) if n_bad else row_ids and len(header) == 1):
        where = f", line {bad[0][0]}" if n_bad else f", line {header_line}"
        found = (
            f"{bad[0][1]} field(s) where the header (line {header_line}) has {len(header)}"
            if n_bad
            else "the header has a single field"
        )
        raise DataError(f"{path}{where}: {found}: {_delimiter_advice(foreign, sep, header_text, first_bad, row_ids)}")
    if not n_bad:
        return header, header_line
    name = "tab" if sep == "\t" else f"'{sep}'"
    if row_ids and all_one_more and n_bad == n_rows:
        raise DataError(
            f"{path}: the header (line {header_line}) has {len(header)} fields but every data row has "
            f"{len(header) + 1}: the header lacks the field above the row IDs (as R's write.table writes it). "
            f"Add an empty first field (a leading {name}) to the header, or write the file with row names."
        )
    n, k = bad[0]
    more = k > len(header)
    others = ", ".join(str(m) for m, _ in bad[1:6])
    also = f" (also line(s) {others}{' and more' if n_bad > 6 else ''})" if others else ""
    fix = (
        f"A value holding the separator ({name}) must be quoted, and a line must not end with an extra "
        "separator: remove the extra field(s) or add the missing column name to the header."
        if more
        else "Nothing is padded: write NA for a missing value instead of leaving fields out."
    )
    raise DataError(
        f"{path}, line {n}: {k} field(s) where the header (line {header_line}) has {len(header)}, a row with "
        f"{'more' if more else 'fewer'} fields than the header{also}. {fix}"
    )


def _lines(text: str, *, keepends: bool = False):
    """The lines of ``text`` one at a time, as ``text.split`` at each line feed gives them (or a text file's lines).

    No list of every line (another copy of the file), nor the four bytes a character that
    ``io.StringIO`` holds a text in while it is read.
    """
    start, end = 0, text.find("\n")
    while end >= 0:
        yield text[start : end + 1 if keepends else end]
        start, end = end + 1, text.find("\n", end + 1)
    if start < len(text) or not keepends:
        yield text[start:]


_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'"}


def _foreign_delimiter(header: str, sep: str) -> str:
    """The delimiter the header line was written with, when it is not ``sep``; "" when none stands out.

    One that splits the header into more fields than ``sep`` does (``;`` first: Excel's CSV where the
    decimal mark is a comma).
    """
    n = header.count(sep)
    for d in (";", "\t", ","):
        if d != sep and header.count(d) > n:
            return d
    return ""


def _delimiter_advice(found: str, sep: str, header: str, row: str, row_ids: bool) -> str:
    """The message part naming the delimiter a file seems to use (``row``: a data row), and the fix."""
    fields = header.count(found) + 1
    said = (
        f"the file seems to use {_DELIMITER_NAMES[found]} as delimiter (its header holds {fields} "
        f"{_DELIMITER_NAMES[found]}-separated fields)"
    )
    if found == ";" and sep == "," and "," in row:
        said += ", probably with ',' as the decimal mark (write decimal points: 3.27, not 3,27)"
    if not row_ids:
        return f"{said}; moflow reads the sheets tab-separated: save it as tab-separated text (.tsv)."
    fix = {
        ";": "save it with commas or as .tsv",
        ",": "name it .csv, or save it tab-separated",
        "\t": "name it .tsv, or save it with commas",
    }[found]
    return f"{said}; moflow reads ',' in .csv and tab in .tsv: {fix}."
