"""Frames for Great Expectations by way of Arrow: the dtypes and values DuckDB's `.df()` gives,
and the same findings."""

import datetime as dt

import duckdb
import pandas as pd
import pytest

from checks.expectations import gx
from checks.expectations.gx import frame_of, frame_problems
from checks.expectations.suites import Expect

EVERY_TYPE = """SELECT * FROM (VALUES
    (true, 1, 'a', 2::TINYINT, 3::BIGINT, 4::UBIGINT, 1.50::DECIMAL(18,2), DATE '2026-05-31',
        TIMESTAMP '2026-05-31 10:00:01', 0.5::DOUBLE),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) t(flag, count, text, tiny, big, unsigned, money, day, moment, ratio)"""


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_a_frame_has_the_dtypes_and_values_of_duckdbs_own(con):
    for sql in (EVERY_TYPE, f"SELECT * FROM ({EVERY_TYPE}) WHERE flag"):  # with and without NULLs
        expected, frame = con.sql(sql).df(), frame_of(con.sql(sql))
        assert list(frame.columns) == list(expected.columns)
        for column in expected.columns:
            if pd.api.types.is_datetime64_any_dtype(expected[column].dtype):
                assert pd.api.types.is_datetime64_any_dtype(frame[column].dtype), column
                assert (
                    frame[column].astype("datetime64[ns]").equals(expected[column].astype("datetime64[ns]"))
                )
                continue
            assert frame[column].dtype == expected[column].dtype, column
            assert frame[column].equals(expected[column]), column


def test_money_comes_as_the_same_doubles_and_an_empty_text_column_as_none(con):
    # Arrow's own DECIMAL cast misses the nearest double of some values: GX's examples would say
    # -5210.7300000000005. A text column with no value says None in them, not nan.
    sql = """SELECT amount::DECIMAL(18,2) AS amount, NULL::VARCHAR AS note
        FROM (VALUES (-5210.73), (-949307532.80), (0.07), (-120.07), (NULL)) t(amount)"""
    expected, frame = con.sql(sql).df(), frame_of(con.sql(sql))
    assert frame["amount"].equals(expected["amount"])
    assert frame["note"].tolist() == expected["note"].tolist() == [None] * 5
    between = [(0, Expect("ExpectColumnValuesToBeBetween", {"column": "amount", "min_value": 0}))]
    found = frame_problems(frame, "money", between)
    assert found == frame_problems(expected, "money", between)
    assert found == [(0, 3, ["-5210.73", "-949307532.8", "-120.07"])]


def test_nullable_integer_and_boolean_columns_keep_pandas_nullable_types(con):
    frame = frame_of(con.sql(EVERY_TYPE))
    assert str(frame["flag"].dtype) == "boolean"
    assert [str(frame[c].dtype) for c in ("count", "tiny", "big", "unsigned")] == [
        "Int32",
        "Int8",
        "Int64",
        "UInt64",
    ]
    assert frame["money"].isna().tolist() == [False, True]


def test_great_expectations_finds_the_same_in_either_frame(con):
    con.execute(
        """CREATE TABLE cases AS SELECT
            'R-' || (i % 900) AS rma_number,
            CASE WHEN i % 97 = 0 THEN 'fax' ELSE 'direct' END AS channel,
            CASE WHEN i % 101 = 0 THEN NULL ELSE TIMESTAMP '2026-01-01' + INTERVAL (i) MINUTE END
                AS updated_at,
            CASE WHEN i % 89 = 0 THEN -1.25 ELSE 10.00 END::DECIMAL(18,2) AS amount,
            DATE '2026-01-01' + (i % 400)::INTEGER AS day,
            CASE WHEN i % 83 = 0 THEN NULL ELSE i % 7 = 0 END AS flagged
        FROM range(2000) r(i) ORDER BY i"""
    )
    expectations = list(
        enumerate(
            [
                Expect(
                    "ExpectColumnValuesToBeInSet",
                    {"column": "channel", "value_set": ["direct", "distributor"]},
                ),
                Expect("ExpectColumnValuesToNotBeNull", {"column": "updated_at"}),
                Expect("ExpectColumnValuesToBeUnique", {"column": "rma_number"}),
                Expect("ExpectColumnValuesToBeBetween", {"column": "amount", "min_value": 0}),
                Expect(
                    "ExpectColumnValuesToBeBetween",
                    {
                        "column": "day",
                        "min_value": dt.datetime(2026, 1, 1),
                        "max_value": dt.datetime(2026, 12, 31),
                    },
                ),
                Expect("ExpectColumnValuesToBeInSet", {"column": "flagged", "value_set": [False]}),
            ]
        )
    )
    sql = "SELECT * FROM cases ORDER BY rma_number, updated_at"
    expected = frame_problems(con.sql(sql).df(), "cases", expectations)
    # counted by hand: i % 97 == 0; i % 101 == 0; every key twice or more; i % 89 == 0; 35 days of
    # every 400 past 2026-12-31; i % 7 == 0 but not i % 83 == 0 (NULL is not judged)
    assert [(index, count) for index, count, _ in expected] == [
        (0, 21),
        (1, 20),
        (2, 2000),
        (3, 23),
        (4, 175),
        (5, 282),
    ]
    assert frame_problems(frame_of(con.sql(sql)), "cases", expectations) == expected


def test_a_big_frame_is_validated_a_group_of_columns_at_a_time_with_the_same_findings(con, monkeypatch):
    con.execute(
        """CREATE TABLE versions AS SELECT 'R-' || (i % 700) AS rma_number,
            TIMESTAMP '2026-01-01' + INTERVAL (i % 1300) MINUTE AS updated_at,
            CASE WHEN i % 13 = 0 THEN 'fax' ELSE 'direct' END AS channel,
            CASE WHEN i % 11 = 0 THEN NULL ELSE 'SN-' || i END AS serial_number
        FROM range(3000) r(i)"""
    )
    expectations = list(
        enumerate(
            [
                Expect("ExpectColumnValuesToNotBeNull", {"column": "serial_number"}),
                Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["rma_number", "updated_at"]}),
                Expect("ExpectColumnValuesToBeInSet", {"column": "channel", "value_set": ["direct"]}),
                Expect("ExpectColumnValuesToNotBeNull", {"column": "no_such_column"}),
                Expect("ExpectColumnValuesToNotBeNull", {"column": "channel"}),
                # of the table: a frame of just these columns would match
                Expect("ExpectTableColumnsToMatchOrderedList", {"column_list": ["rma_number", "channel"]}),
            ]
        )
    )
    sql = "SELECT * FROM versions ORDER BY rma_number, updated_at, serial_number"
    monkeypatch.setattr(gx, "SPLIT_FROM_ROWS", 10**9)
    whole = frame_problems(frame_of(con.sql(sql)), "versions", expectations)
    monkeypatch.setattr(gx, "SPLIT_FROM_ROWS", 1)
    assert frame_problems(frame_of(con.sql(sql)), "versions", expectations) == whole
    # 3000 // 11 + 1 NULLs; 700 x 1300 keys repeat from 9100 rows only; 3000 // 13 + 1 faxes; a
    # column the frame lacks fails on the whole frame, as before; the table has four columns
    assert [(index, count) for index, count, _ in whole] == [(0, 273), (2, 231), (3, 0), (5, 0)]
