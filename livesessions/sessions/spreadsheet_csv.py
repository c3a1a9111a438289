"""CSV that a spreadsheet opens without running anything (CSV injection, OWASP).

A spreadsheet runs a cell beginning with `=`, `+`, `-` or `@` (after leading whitespace),
a tab or a carriage return as a formula. It may also split the file on another separator
than ours (`;` in many locales, a tab), or on a line break inside a quoted field, and
then a cell starts wherever such a character is: `a;=1+1` written as one cell here is two
cells there, the second a formula. So text that could start a formula anywhere is written
behind an apostrophe, as OWASP advises, and so is every such segment inside it
(`'a;'=1+1`), and the cell is quoted. Text with a line break is treated the same.

Only text is changed: numbers, booleans and empty cells are the service's own and are
written as they are (a negative number stays a number). Text the service writes itself
(roles, ISO dates) never starts a formula, so it is unchanged too.
"""

import re

FORMULA_STARTS = frozenset("=+-@")
CONTROL_STARTS = frozenset("\t\r")
# What another reading of the file may take as the end of a cell: the separators a
# spreadsheet might use instead of ours, and line breaks.
SEGMENT_BREAKS = re.compile(r"[,;\t\r\n]")
LINE_BREAKS = re.compile(r"[\r\n]")
# A field that needs quotes anyway (RFC 4180): our separator, a quote, a line break.
NEEDS_QUOTES = re.compile(r'[,"\r\n]')
SEPARATOR = ","
LINE_END = "\r\n"


def _formula_at(text: str) -> list[int]:
    """The positions where a segment of `text` (its start, or just after a segment break)
    would start a formula: a tab or CR there, or one of `= + - @` after whitespace and
    quotes (a reader may drop both)."""
    # first[i]: the first character at or after i that is neither whitespace nor a quote
    first = [""] * (len(text) + 1)
    for i in range(len(text) - 1, -1, -1):
        char = text[i]
        first[i] = first[i + 1] if char.isspace() or char == '"' else char
    starts = [0, *(match.end() for match in SEGMENT_BREAKS.finditer(text))]
    return [
        i
        for i in starts
        if i < len(text) and (text[i] in CONTROL_STARTS or first[i] in FORMULA_STARTS)
    ]


def defused(text: str) -> str | None:
    """`text` as it must be written so no spreadsheet runs it: an apostrophe before it and
    before each segment that would start a formula; None when it is safe as it is."""
    positions = _formula_at(text)
    if not positions and not LINE_BREAKS.search(text):
        return None
    parts, last = [], 0
    for i in positions:
        if i:
            parts += [text[last:i], "'"]
            last = i
    parts.append(text[last:])
    return "'" + "".join(parts)


def _field(value) -> str:
    """A JSON value as its CSV field: null empty, booleans as JSON spells them, numbers as
    they are, text quoted where RFC 4180 needs it and, when defused, always."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    safe = defused(value)
    if safe is None and not NEEDS_QUOTES.search(value):
        return value
    return '"' + (safe or value).replace('"', '""') + '"'


def csv_text(columns, rows) -> str:
    """`rows` (dicts) as RFC 4180 CSV: a header row, then one row each, CRLF ends, fields
    quoted where needed (and every defused one), quotes doubled."""
    lines = [SEPARATOR.join(_field(column) for column in columns)]
    lines += [SEPARATOR.join(_field(row[column]) for column in columns) for row in rows]
    return "".join(line + LINE_END for line in lines)
