"""sample_id is part of every stored database: the same sample must get the same id in every
version, or merging a file again after an upgrade would add it twice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveyor.ingest.identity import sample_ids

# Ids computed by the version that first stored samples (rows with a device) and by the version
# that made samples without a device identical by content (rows 1 and 3); a change here breaks
# idempotent merges.
KNOWN_IDS = [5892386455181747798, 1426740029625175761, 721908978698195254, 3182122283830492540]


def _frame(text_dtype) -> pd.DataFrame:
    df = pd.DataFrame({
        "time": pd.to_datetime(["2026-07-14T01:00:00Z", "2026-07-14T01:00:01Z", "2026-07-14T01:00:01Z", None],
                               utc=True),
        "lat": [-7.437, -7.4371, np.nan, -7.43],
        "lon": [109.858, 109.8581, np.nan, 109.85],
        "operator": ["Telkomsel", "Indosat", None, "Telkomsel"],
        "kind": ["signal", "signal", "speedtest", "signal"],
        "tech": ["LTE", "UMTS", None, "NR"],
        "service": ["in_service", "in_service", "no_service", "in_service"],
        "rsrp_dbm": [-95.0, np.nan, np.nan, -101.5],
        "device": ["dev-A", None, "dev-B", None],
        "no_fix": [False, False, True, None],
    })
    text = ["operator", "kind", "tech", "service", "device"]
    return df.astype({c: text_dtype for c in text})


@pytest.mark.parametrize("text_dtype", ["object", "str"])
def test_sample_ids_are_stable_across_versions_and_text_types(text_dtype):
    assert sample_ids(_frame(text_dtype), "abc123").tolist() == KNOWN_IDS


def test_a_missing_column_and_an_empty_one_give_the_same_id():
    df = _frame("object")
    assert sample_ids(df.drop(columns=["tech"]), "k").tolist() == sample_ids(df.assign(tech=None), "k").tolist()


def test_samples_without_a_device_are_identified_by_content_not_by_file():
    df = _frame("object").iloc[[1, 3]].reset_index(drop=True)
    assert sample_ids(df, "file-a").tolist() == sample_ids(df, "file-b").tolist()
    # A re-saved copy: times with milliseconds cut, positions with float noise, values as text.
    copy = df.assign(time=df["time"] + pd.Timedelta(milliseconds=400), lat=df["lat"] + 3e-9,
                     rsrp_dbm=df["rsrp_dbm"].astype(str).replace("nan", None))
    assert sample_ids(copy).tolist() == sample_ids(df).tolist()
    # A different value or a position metres away is another sample.
    assert sample_ids(df.assign(rsrp_dbm=df["rsrp_dbm"] - 1)).tolist()[1] != sample_ids(df).tolist()[1]
    assert sample_ids(df.assign(lat=df["lat"] + 5e-5)).tolist()[0] != sample_ids(df).tolist()[0]


def test_a_sample_id_column_is_kept_as_the_identity():
    df = _frame("object").assign(sample_id=pd.array([11, None, 13, 2**62], dtype="Int64"))
    ids = sample_ids(df)
    assert ids[0] == 11 and ids[2] == 13 and ids[3] == 2**62
    assert ids[1] == sample_ids(df.drop(columns="sample_id"))[1]
