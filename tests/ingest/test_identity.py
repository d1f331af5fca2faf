"""sample_id is part of every stored database: the same sample must get the same id in every
version, or merging a file again after an upgrade would add it twice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveyor.ingest.identity import sample_ids

# Ids computed by the version that first stored samples; a change here breaks idempotent merges.
KNOWN_IDS = [5892386455181747798, 7427650351659246223, 721908978698195254, 7425908336594156924]


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
