"""closed_statements: a closed quarter's files in a table of their own, one view over them all."""

import os

import duckdb
import pytest

from core.warehouse import (
    closed_files_table,
    drop_waiting_files,
    move_waiting_files,
    prepare,
    replace_closed_files_table,
    store_waiting_files,
    transaction,
)


def _close(con, quarter: str, files: dict[str, bytes]) -> None:
    with transaction(con):
        table = replace_closed_files_table(con, quarter)
        for name, content in files.items():
            con.execute(f"INSERT INTO {table} VALUES (?, ?, 'D', ?, 'digest')", [quarter, name, content])


def _stored(con) -> list[tuple]:
    return con.execute("SELECT quarter, file_name, content FROM closed_statements ORDER BY ALL").fetchall()


def _content_blocks(con, table: str) -> list[tuple]:
    return con.execute(
        "SELECT block_id, block_offset FROM pragma_storage_info(?) WHERE column_name = 'content' "
        "AND segment_type = 'BLOB' ORDER BY ALL",
        [table],
    ).fetchall()


def test_a_new_warehouse_has_an_empty_view(tmp_path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        assert _stored(con) == []


def test_each_close_has_its_own_table_and_a_second_close_replaces_only_its_own(tmp_path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close(con, "2026-Q2", {"A.xlsx": b"q2 a", "B.xlsx": b"q2 b"})
        _close(con, "2026-Q3", {"A.xlsx": b"q3 a"})
        _close(con, "2026-Q3", {"B.xlsx": b"q3 b"})
        assert _stored(con) == [
            ("2026-Q2", "A.xlsx", b"q2 a"),
            ("2026-Q2", "B.xlsx", b"q2 b"),
            ("2026-Q3", "B.xlsx", b"q3 b"),
        ]


def test_a_close_that_fails_leaves_the_earlier_files(tmp_path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close(con, "2026-Q2", {"A.xlsx": b"first"})
        with pytest.raises(RuntimeError), transaction(con):
            replace_closed_files_table(con, "2026-Q2")
            raise RuntimeError("the disk filled")
        assert _stored(con) == [("2026-Q2", "A.xlsx", b"first")]


def test_a_later_close_leaves_the_earlier_quarters_bytes_where_they_are_on_disk(tmp_path):
    # In one shared table DuckDB rewrote the earlier closes' bytes at every close's checkpoint.
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close(con, "2026-Q2", {f"{n}.xlsx": bytes([n]) * 300_000 for n in range(20)})
        con.execute("CHECKPOINT")
        before = _content_blocks(con, "closed_statements_2026_q2")
        _close(con, "2026-Q3", {f"{n}.xlsx": bytes([n]) * 300_000 for n in range(20)})
        con.execute("CHECKPOINT")
        assert before and _content_blocks(con, "closed_statements_2026_q2") == before


def test_an_earlier_versions_single_table_is_split_by_quarter_in_stored_order(tmp_path):
    path = str(tmp_path / "wh.duckdb")
    with duckdb.connect(path) as con:
        con.execute(
            """CREATE TABLE closed_statements (quarter VARCHAR, file_name VARCHAR, distributor_id VARCHAR,
            content BLOB, sha256 VARCHAR, PRIMARY KEY (quarter, file_name))"""
        )
        con.execute(
            """INSERT INTO closed_statements VALUES ('2026-Q3', 'B.xlsx', 'B', 'q3 b', 'x'),
            ('2026-Q2', 'Z.xlsx', 'Z', 'q2 z', 'y'), ('2026-Q3', 'A.csv', 'A', 'q3 a', 'z')"""
        )
    for _ in range(2):  # the second connection finds the view
        with duckdb.connect(path) as con:
            prepare(con)
            assert _stored(con) == [
                ("2026-Q2", "Z.xlsx", b"q2 z"),
                ("2026-Q3", "A.csv", b"q3 a"),
                ("2026-Q3", "B.xlsx", b"q3 b"),
            ]
            in_stored_order = con.execute("SELECT file_name FROM closed_statements_2026_q3").fetchall()
            assert in_stored_order == [("B.xlsx",), ("A.csv",)]
            kinds = con.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_name LIKE 'closed_statements%' ORDER BY ALL"
            ).fetchall()
            assert kinds == [
                ("closed_statements", "VIEW"),
                ("closed_statements_2026_q2", "BASE TABLE"),
                ("closed_statements_2026_q3", "BASE TABLE"),
            ]


@pytest.mark.parametrize("text", ["2026-Q5", "2026-q3", "2026-Q3; DROP TABLE x", ""])
def test_a_table_name_is_made_only_of_a_quarter(text):
    with pytest.raises(ValueError, match="not a quarter"):
        closed_files_table(text)


def _close_in_parts(con, quarter: str, names: list[str], on_each=None) -> None:
    """A close as freeze_statements makes it: parts committed one by one, then moved in place."""

    def rows():
        for name in names:
            if on_each:
                on_each(name)
            yield quarter, name, "D", name.encode() * 4, "digest"

    parts = store_waiting_files(con, rows())
    with transaction(con):
        move_waiting_files(con, quarter, parts)


def _tables(con, pattern: str) -> list[str]:
    found = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE ? ORDER BY 1", [pattern]
    )
    return [name for (name,) in found.fetchall()]


def test_a_close_stores_its_files_in_parts_each_committed_before_the_next_file_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 50)  # two 28-byte files a part
    names = [f"{n:02d}.xlsx" for n in range(24)]
    seen_by_another_connection = []
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        other = con.cursor()

        def look(name):
            seen_by_another_connection.append(
                sum(
                    other.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in _tables(other, "closing%")
                )
            )

        _close_in_parts(con, "2026-Q3", names, on_each=look)
        assert seen_by_another_connection == [2 * (n // 2) for n in range(24)]
        assert len(_tables(con, "closed_statements_2026_q3%")) == 12 and _tables(con, "closing%") == []
        # In part order (part 10 after part 9): the order they were stored in.
        assert [f for (f,) in con.execute("SELECT file_name FROM closed_statements").fetchall()] == names
        assert con.execute(
            "SELECT content FROM closed_statements WHERE file_name = '23.xlsx'"
        ).fetchone() == (b"23.xlsx" * 4,)


def test_a_second_close_in_fewer_parts_replaces_every_part_of_the_first(tmp_path, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 8)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close(con, "2026-Q2", {"A.xlsx": b"q2 a"})
        _close_in_parts(con, "2026-Q3", [f"{n}.xlsx" for n in range(6)])
        _close_in_parts(con, "2026-Q3", ["B.xlsx"])
        assert _tables(con, "closed_statements_%") == [
            "closed_statements_2026_q2",
            "closed_statements_2026_q3",
        ]
        assert [row[:2] for row in _stored(con)] == [("2026-Q2", "A.xlsx"), ("2026-Q3", "B.xlsx")]


def test_a_close_without_files_has_an_empty_table(tmp_path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close_in_parts(con, "2026-Q3", [])
        assert _tables(con, "closed_statements_%") == ["closed_statements_2026_q3"] and _stored(con) == []


def test_two_files_of_one_name_in_different_parts_are_refused_and_the_earlier_close_stays(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 8)
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close(con, "2026-Q3", {"A.xlsx": b"first"})
        with pytest.raises(ValueError, match=r"two files named B\.xlsx"):
            _close_in_parts(con, "2026-Q3", ["B.xlsx", "C.xlsx", "B.xlsx"])
        assert _stored(con) == [("2026-Q3", "A.xlsx", b"first")]


def test_the_parts_a_failed_close_left_are_dropped_and_the_closed_files_stay(tmp_path, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 8)

    def failing():
        yield "2026-Q3", "A.xlsx", "D", b"12345678", "digest"
        raise OSError("the disk filled")

    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        _close(con, "2026-Q2", {"A.xlsx": b"q2 a"})
        with pytest.raises(OSError):
            store_waiting_files(con, failing())
        assert _tables(con, "closing%") == ["closing_statements_1"]  # committed: a kill leaves it too
        drop_waiting_files(con)
        assert _tables(con, "closing%") == [] and _stored(con) == [("2026-Q2", "A.xlsx", b"q2 a")]


def test_dropping_a_failed_closes_parts_frees_their_space_for_the_next_close(tmp_path, monkeypatch):
    monkeypatch.setattr("core.warehouse.CLOSED_FILES_PART_BYTES", 6_000_000)

    def failing():
        for n in range(4):  # 24 MB: past DuckDB's WAL limit, so on disk
            yield "2026-Q3", f"{n}.xlsx", "D", os.urandom(6_000_000), "digest"
        raise OSError("the disk filled")

    def blocks(con) -> int:
        return con.execute("SELECT total_blocks - free_blocks FROM pragma_database_size()").fetchone()[0]

    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        prepare(con)
        with pytest.raises(OSError):
            store_waiting_files(con, failing())
        held = blocks(con)
        drop_waiting_files(con)
        assert held > 80 and blocks(con) < held / 10  # 256 KiB blocks
