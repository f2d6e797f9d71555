"""CSV for `twoway export` and `twoway import`: the columns, writing rows, and checking imported ones.

Import reads snapshots only. Comments are exported, those twoway read from Bluesky or Mastodon with
the network (``seen_on``), their id there and their link, and never imported: a comment comes from a
flag in Slack or from the network itself, never from a file. A snapshot's ``source`` round-trips, so
numbers fetched from a network stay "fetched" (with no ``recorded_by``: nobody typed them), and
``quotes`` with them.

Pure: nothing here opens a file or a database. Timestamps are written as ISO-8601 in UTC
with a ``Z``. Text cells that a spreadsheet would run as a formula are written with a
leading ``'`` (see ``guard``), and reading takes it off again, so every value round-trips.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Final

from bot.links import PLATFORMS, parse_post_link
from storage.bulk import SnapshotRow
from storage.models import SNAPSHOT_SOURCES

__all__ = [
    "COLUMNS",
    "COMMENT_COLUMNS",
    "POST_COLUMNS",
    "PROGRESS_EVERY_ROWS",
    "SNAPSHOT_COLUMNS",
    "HeaderError",
    "NotUtf8",
    "RowError",
    "SnapshotRow",
    "database_reason",
    "format_cell",
    "guard",
    "parse_snapshot_row",
    "progress_line",
    "read_snapshot_csv",
    "summary_line",
    "unguard",
    "utf8_lines",
    "write_csv",
]

POST_COLUMNS: Final = (
    "team_id",
    "channel_id",
    "post_id",
    "canonical_url",
    "url",
    "platform",
    "owner_user_id",
    "shared_at",
    "withdrawn_at",
)
SNAPSHOT_COLUMNS: Final = (
    "team_id",
    "channel_id",
    "post_url",
    "platform",
    "owner_user_id",
    "post_shared_at",
    "recorded_at",
    "comments_received",
    "replies_sent",
    "shares",
    "likes",
    "recorded_by",
    "source",
    "quotes",
)
COMMENT_COLUMNS: Final = (
    "team_id",
    "channel_id",
    "comment_id",
    "post_url",
    "owner_user_id",
    "state",
    "text",
    "author",
    "written_at",
    "flagged_by",
    "flagged_at",
    "answered_by",
    "answered_at",
    "dismissed_by",
    "dismissed_at",
    "seen_on",
    "remote_id",
    "url",
)
COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "posts": POST_COLUMNS,
    "snapshots": SNAPSHOT_COLUMNS,
    "comments": COMMENT_COLUMNS,
}

# A hand-made file may leave these out: a blank platform comes from the URL, a blank
# recorder is unknown, a blank source is "import", blank quotes are not known apart from shares.
OPTIONAL_SNAPSHOT_COLUMNS: Final = frozenset({"platform", "recorded_by", "source", "quotes"})
REQUIRED_SNAPSHOT_COLUMNS: Final = tuple(c for c in SNAPSHOT_COLUMNS if c not in OPTIONAL_SNAPSHOT_COLUMNS)

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
# The quote itself is escaped too, so that taking one leading quote off always restores
# exactly what was written, even for text that really starts with a quote.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "'")

_TEAM_ID = re.compile(r"T[A-Z0-9]{2,31}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,31}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")
PROGRESS_EVERY_ROWS: Final = 1_000

# The columns are PostgreSQL INTEGERs; a larger count would fail the whole row in the database.
_MAX_COUNT: Final = 2**31 - 1


@dataclass(frozen=True)
class RowError:
    """Why the row starting on ``line`` of the file was not loaded."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class HeaderError(ValueError):
    """The file's first line is not a snapshot header; the message says what is missing."""


def guard(cell: str) -> str:
    """``cell`` made safe to open in a spreadsheet: prefixed with ``'`` if it could run as a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def unguard(cell: str) -> str:
    """The text ``guard`` was given."""
    return cell.removeprefix("'")


def format_cell(value: object) -> str:
    """One exported value as CSV text: blank for None, ISO-8601 UTC with Z for times, text guarded."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
    if isinstance(value, int):
        return str(value)
    return guard(str(value))


def write_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str], out: IO[str]) -> int:
    """Write a header of ``columns`` and then ``rows`` to ``out``; return how many rows were written."""
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([format_cell(row.get(column)) for column in columns])
        count += 1
    return count


# A "\r" that isn't the start of "\r\n", after which a line ends.
_LONE_CR: Final = re.compile(r"(?<=\r)(?!\n)(?!$)")


class NotUtf8(ValueError):
    """The file's bytes are not UTF-8 text, first on ``line``."""

    def __init__(self, line: int) -> None:
        super().__init__(f"not UTF-8 text (line {line:,})")
        self.line = line


def utf8_lines(raw: Iterable[bytes]) -> Iterator[str]:
    """The lines of a file read as bytes (``open(path, "rb")``), decoded one at a time, a leading byte
    order mark dropped; ``NotUtf8`` names the first line that isn't UTF-8.

    One line at a time, so that reading a file takes the memory of its longest line, not of the file.
    Newlines are kept, as ``read_snapshot_csv`` needs.
    """
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise NotUtf8(number) from None
        # Bytes split at "\n" alone; a lone "\r" (old Mac files) ends a line too, as in universal newlines.
        yield from _LONE_CR.split(text)


def read_snapshot_csv(lines: Iterable[str], *, now: datetime) -> Iterator[tuple[int, SnapshotRow | RowError]]:
    """Check the header of a snapshots CSV, then return its rows, each with the line it starts on.

    ``lines`` must keep newlines inside quoted cells (open files with ``newline=""``), and are read
    as the rows are: the file is never held whole. Raise ``HeaderError`` at once if required columns
    are missing or a column is named twice. Blank rows are skipped. A snapshot recorded after ``now``
    is refused.
    """
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise HeaderError("the file is empty; the first line must name the columns") from None
    except csv.Error as error:
        raise HeaderError(f"the header is not CSV: {error}") from None
    header = [unguard(name).strip() for name in header]
    if header:
        header[0] = header[0].removeprefix("\ufeff")
    missing = [column for column in REQUIRED_SNAPSHOT_COLUMNS if column not in header]
    if missing:
        raise HeaderError(f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    # A row read by name would keep one of the two cells and drop the other without a word.
    for position, name in enumerate(header):
        if name and name in header[:position]:
            first = header.index(name) + 1
            raise HeaderError(f"column {name} is named twice (columns {first} and {position + 1}); keep one")
    return _snapshot_rows(reader, header, now)


def _snapshot_rows(
    reader: Iterator[list[str]], header: list[str], now: datetime
) -> Iterator[tuple[int, SnapshotRow | RowError]]:
    # A record starts on the line after the previous one ended; line_num counts physical lines.
    end_of_previous = _line_num(reader)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = end_of_previous + 1
            end_of_previous = _line_num(reader)
            yield line, RowError(line, f"not valid CSV: {error}")
            continue
        line, end_of_previous = end_of_previous + 1, _line_num(reader)
        if not any(cell.strip() for cell in cells):
            continue
        # Spreadsheets pad rows with empty trailing cells; anything else is a shifted row.
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            yield line, RowError(line, f"{len(cells)} cells, but the header names {len(header)} columns")
            continue
        yield line, parse_snapshot_row(dict(zip(header, cells, strict=False)), line, now=now)


def _line_num(reader: Iterator[list[str]]) -> int:
    line_num: int = getattr(reader, "line_num", 0)
    return line_num


def parse_snapshot_row(row: Mapping[str, str], line: int, *, now: datetime) -> SnapshotRow | RowError:
    """Check one CSV row of a snapshots file; return the snapshot, or why it can't be loaded.

    A snapshot is recorded after its post was shared and no later than ``now``. Never raises.
    Values may carry the ``'`` that ``guard`` adds and surrounding spaces.
    """
    missing = [column for column in REQUIRED_SNAPSHOT_COLUMNS if not isinstance(row.get(column), str)]
    if missing:
        return RowError(line, f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    cell = {column: unguard(value).strip() for column, value in row.items() if isinstance(value, str)}
    try:
        return _snapshot(cell, now)
    except _Invalid as invalid:
        return RowError(line, str(invalid))


class _Invalid(ValueError):
    pass


def _snapshot(cell: Mapping[str, str], now: datetime) -> SnapshotRow:
    team_id = _slack_id(cell, "team_id", _TEAM_ID, "a Slack team id (T…)")
    channel_id = _slack_id(cell, "channel_id", _CHANNEL_ID, "a Slack channel id (C…, G… or D…)")
    url = _required(cell, "post_url")
    link = parse_post_link(url)
    if link is None:
        raise _Invalid(f"post_url {_show(url)} is not a link to a post")
    platform = cell.get("platform", "").lower() or link.platform
    if platform not in PLATFORMS:
        raise _Invalid(f"platform {_show(platform)} is not one of {', '.join(PLATFORMS)}")
    owner = _slack_id(cell, "owner_user_id", _USER_ID, "a Slack user id (U… or W…)")
    shared_at = _timestamp(cell, "post_shared_at")
    recorded_at = _timestamp(cell, "recorded_at")
    if recorded_at < shared_at:
        raise _Invalid(
            f"recorded_at {_show(cell['recorded_at'])} is before post_shared_at "
            f"{_show(cell['post_shared_at'])}: a post has no engagement before it is shared"
        )
    if recorded_at > now:
        raise _Invalid(f"recorded_at {_show(cell['recorded_at'])} is in the future")
    recorded_by = None
    if cell.get("recorded_by"):
        recorded_by = _slack_id(cell, "recorded_by", _USER_ID, "a Slack user id (U… or W…)")
    source = cell.get("source") or None
    if source is not None and source not in SNAPSHOT_SOURCES:
        raise _Invalid(f"source {_show(source)} is not one of {', '.join(SNAPSHOT_SOURCES)}")
    if source == "fetched" and recorded_by is not None:
        raise _Invalid(
            f"recorded_by {_show(recorded_by)} is set on a fetched snapshot: numbers fetched from a network "
            "were typed by nobody; leave recorded_by blank or give another source"
        )
    quotes = _count(cell, "quotes") if cell.get("quotes") else None
    return SnapshotRow(
        team_id=team_id,
        channel_id=channel_id,
        url=link.url,
        canonical_url=link.canonical_url,
        platform=platform,
        owner_user_id=owner,
        post_shared_at=shared_at,
        recorded_at=recorded_at,
        comments_received=_count(cell, "comments_received"),
        replies_sent=_count(cell, "replies_sent"),
        shares=_count(cell, "shares"),
        likes=_count(cell, "likes"),
        recorded_by=recorded_by,
        source=source,
        quotes=quotes,
    )


def _required(cell: Mapping[str, str], column: str) -> str:
    value = cell[column]
    if not value:
        raise _Invalid(f"{column} is blank")
    return value


def _slack_id(cell: Mapping[str, str], column: str, pattern: re.Pattern[str], kind: str) -> str:
    value = _required(cell, column)
    if not pattern.fullmatch(value):
        raise _Invalid(f"{column} {_show(value)} is not {kind}")
    return value


def _timestamp(cell: Mapping[str, str], column: str) -> datetime:
    value = _required(cell, column)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid(
            f"{column} {_show(value)} is not an ISO-8601 timestamp (e.g. 2024-05-06T09:30:00Z)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # Reading it as UTC would shift every time of a file written in local time, silently.
        raise _Invalid(f"{column} {_show(value)} has no time zone: add Z for UTC or an offset like +02:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _Invalid(f"{column} {_show(value)} is out of range") from None


def _count(cell: Mapping[str, str], column: str) -> int:
    value = _required(cell, column)
    # isdigit alone would let "²" and other Unicode digits through to int().
    if not (value.isascii() and value.isdigit()):
        raise _Invalid(f"{column} {_show(value)} is not a whole number of 0 or more")
    count = int(value)
    if count > _MAX_COUNT:
        raise _Invalid(f"{column} {_show(value)} is too large (at most {_MAX_COUNT:,})")
    return count


def _show(value: str) -> str:
    # repr keeps the reason on one line whatever the cell holds.
    return repr(value if len(value) <= 60 else value[:60] + "…")


def database_reason(error: Exception) -> str:
    """The first line of what the database said about ``error`` (a SQLAlchemy DBAPIError)."""
    said = str(getattr(error, "orig", None) or error).strip()
    return said.split("\n", 1)[0] or type(error).__name__


def progress_line(rows: int) -> str:
    """What a long import prints now and then, so its user knows it is moving."""
    return f"… {rows:,} rows"


def summary_line(loaded: int, already: int, bad: int) -> str:
    """The last line of an import, e.g. ``loaded 120 snapshots, 3 already there, 0 bad rows``, or, when
    some rows were bad, ``loaded nothing: 2 bad rows …``: a file is loaded whole or not at all."""
    rows = "bad row" if bad == 1 else "bad rows"
    if bad:
        return f"loaded nothing: {bad:,} {rows}; correct them and import the file again"
    snapshots = "snapshot" if loaded == 1 else "snapshots"
    return f"loaded {loaded:,} {snapshots}, {already:,} already there, {bad:,} {rows}"
