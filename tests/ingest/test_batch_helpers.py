"""The per-batch helpers a large merge leans on: G-NetTrack's text and number columns, and the ids
seen so far in a file. They work on distinct values and bit tables for speed; these pin what they
must still mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from surveyor.ingest.gnettrack import _hex, _numbers, _text
from surveyor.ingest.merge import _SeenIds
from surveyor.ingest.normalize import choose, techs, text_from_codes


def _raw(*values: bytes | None) -> pa.Array:
    # As the CSV reader hands them over: text that is not checked for UTF-8.
    return pa.array(list(values), type=pa.binary()).view(pa.string())


def test_text_columns_clean_spaces_missing_tokens_and_broken_bytes():
    col = _text(_raw(b" IM3", b"IM3", b"-", b"", None, b"Indosat\xff", b"IM3 "))
    assert [None if pd.isna(v) else v for v in col] == ["IM3", "IM3", None, None, None, "Indosat\ufffd", "IM3"]
    # Spellings that differ only in spaces are one value for the normalisers.
    assert pd.factorize(col)[1].tolist() == ["IM3", "Indosat\ufffd"]


def test_hex_area_codes_per_distinct_value():
    area = _hex(_text(_raw(b"1B2", b"zz", b"-", b" 2A", b"1B2")))
    np.testing.assert_array_equal(area, [434.0, np.nan, np.nan, 42.0, 434.0])


def test_numbers_with_spaces_missing_tokens_text_and_android_unavailable():
    values, broken = _numbers(_raw(b"-95", b" -101 ", b"-", b"", b"nan", b"abc", b"2147483647", b"3.5"))
    np.testing.assert_array_equal(values, [-95.0, -101.0, np.nan, np.nan, np.nan, np.nan, np.nan, 3.5])
    assert broken.tolist() == [False, False, False, False, False, True, False, False]
    values, broken = _numbers(_raw(b"1,5", b" 2 "), decimal_comma=True)
    np.testing.assert_array_equal(values, [1.5, 2.0])
    assert not broken.any()


def test_text_from_codes_choose_and_techs():
    assert [None if pd.isna(v) else v for v in text_from_codes(["a", "b"], np.array([1, -1, 0]))] == ["b", None, "a"]
    assert [None if pd.isna(v) else v for v in choose(np.array([True, False]), "gps", None)] == ["gps", None]
    t = techs(pd.Series(["LTE", "HSPA+", None, "5G", "EDGE"], index=[5, 6, 7, 8, 9]))
    assert t.index.tolist() == [5, 6, 7, 8, 9]
    assert [None if pd.isna(v) else v for v in t] == ["LTE", "UMTS", None, "NR", "GSM"]


def test_seen_ids_sharing_low_bits_are_still_told_apart():
    seen = _SeenIds()
    low = 0x123456
    a, b = (5 << 40) | low, (9 << 40) | low  # same low bits, different ids
    seen.add(np.array([a], dtype=np.int64))
    assert seen.known(np.array([a, b, low], dtype=np.int64)).tolist() == [True, False, False]


def test_seen_ids_across_many_batches():
    rng = np.random.default_rng(5)
    seen = _SeenIds()
    batches = [rng.integers(0, 2**63 - 1, 5000, dtype=np.int64) for _ in range(12)]
    for i, ids in enumerate(batches):
        assert not seen.known(ids).any()
        seen.add(ids)
        earlier = np.concatenate(batches[: i + 1])
        assert seen.known(earlier).all()
    assert len(seen.runs) < 12  # runs are merged as they grow
