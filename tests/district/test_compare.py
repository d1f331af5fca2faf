"""``surveyor compare``: two rounds of the simulated village, before and after a new tower, whose truth
is known cell by cell; periods of one database or two databases; both stores; refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from district.rounds_survey import AFTER, BEFORE, build_rounds, truth_of_cells
from surveyor.analyse.compare import change_tests, compare_rounds, parse_period
from surveyor.config import load_settings
from surveyor.store import open_store


@pytest.fixture(scope="module")
def rounds_folder(tmp_path_factory):
    return build_rounds(tmp_path_factory.mktemp("rounds") / "survey", split=True)


@pytest.fixture(scope="module")
def compared(rounds_folder):
    folder, rounds = rounds_folder
    settings = load_settings(folder / "survey.toml")
    with open_store(str(folder / "survey.gpkg")) as store:
        comparison = compare_rounds(store, store, settings, before_period=parse_period(BEFORE, settings.timezone),
                                    after_period=parse_period(AFTER, settings.timezone))
    return comparison, truth_of_cells(comparison, rounds)


def test_fisher_p_values_are_scipys_fisher_exact():
    from scipy.stats import fisher_exact

    rng = np.random.default_rng(4)
    n1, n2 = rng.integers(1, 40, 200), rng.integers(1, 40, 200)
    k1, k2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
    up, down = change_tests(k1, n1, k2, n2)
    for i in range(200):
        table = [[k1[i], n1[i] - k1[i]], [k2[i], n2[i] - k2[i]]]
        assert up[i] == pytest.approx(fisher_exact(table, alternative="greater").pvalue, rel=1e-9, abs=1e-12)
        assert down[i] == pytest.approx(fisher_exact(table, alternative="less").pvalue, rel=1e-9, abs=1e-12)


def test_every_cell_the_new_tower_fixed_is_found_improved(compared):
    _comparison, truth = compared
    fixed = truth[(truth["before_negative"] > 0.9) & (truth["after_negative"] < 0.1)]
    assert len(fixed) >= 3 and set(fixed["operator"]) == {"Telkomsel"}
    assert (fixed["change"] == "improved").all(), fixed[["h3", "change", "p_improved"]]


def test_cells_whose_truth_did_not_change_are_rarely_called_changed(compared):
    comparison, truth = compared
    # .eq(False), not ~: cells the truth does not cover are NaN after the left merge, and left out
    same = truth[truth["truth_changed"].eq(False)]
    tested = same[same["change"] != "not_enough_evidence"]
    assert len(tested) > 100
    called = tested["change"].isin(["improved", "worsened"]).sum()
    assert called <= 0.05 * len(tested), tested[tested["change"] != "unchanged"][["h3", "operator", "change"]]
    # and no cell at all got worse: nothing did
    assert (comparison.cells["change"] != "worsened").all()


def test_two_databases_compare_as_two_periods_of_one(rounds_folder, compared):
    folder, _ = rounds_folder
    settings = load_settings(folder / "survey.toml")
    with open_store(str(folder / "before.gpkg")) as a, open_store(str(folder / "after.gpkg")) as b:
        two = compare_rounds(a, b, settings)
    one = compared[0]
    assert two.counts() == one.counts()
    assert list(two.cells["change"]) == list(one.cells["change"])


@pytest.mark.postgis
def test_postgis_rounds_compare_as_the_geopackage(rounds_folder, compared, pg_url):
    from surveyor.store.sync import push

    folder, _ = rounds_folder
    push(str(folder / "survey.gpkg"), pg_url)
    settings = load_settings(folder / "survey.toml")
    with open_store(pg_url) as store:
        pg = compare_rounds(store, store, settings, before_period=parse_period(BEFORE, settings.timezone),
                            after_period=parse_period(AFTER, settings.timezone))
    gp = compared[0]
    assert pg.counts() == gp.counts()
    cols = ["h3", "operator", "change", "before_samples_effective", "before_negatives_effective",
            "after_samples_effective", "after_negatives_effective"]
    assert pg.cells[cols].equals(gp.cells[cols])
    assert np.allclose(pg.cells["p_improved"], gp.cells["p_improved"], equal_nan=True)


def test_the_command_writes_the_report_and_the_map(rounds_folder, tmp_path, invoke):
    import subprocess

    folder, _ = rounds_folder
    db = str(folder / "survey.gpkg")
    out, map_out = tmp_path / "compare.pdf", tmp_path / "compare.html"
    r = invoke("compare", "--db", db, "--before", BEFORE, "--after", AFTER, "--out", str(out), "--map", str(map_out),
               "--lang", "id", "--json", "--config", str(folder / "survey.toml"))
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["cells"]["Telkomsel"]["improved"] >= 3 and summary["outputs"] == [str(out), str(map_out)]
    assert summary["level_per_direction"] == pytest.approx(0.025)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "Sebelum dan sesudah" in text and "Membaik" in text and "Uji eksak Fisher" in text
    page = map_out.read_text(encoding="utf-8")
    data = json.loads(page.split('id="svy-data">', 1)[1].split("</script>", 1)[0])
    assert [layer["name"] for layer in data["layers"]] == ["Telkomsel", "Indosat"]
    improved = [f for f in data["layers"][0]["data"]["features"] if "Membaik" in f["properties"]["p"]]
    assert len(improved) == summary["cells"]["Telkomsel"]["improved"]
    # the outputs are never overwritten without --overwrite
    again = invoke("compare", "--db", db, "--before", BEFORE, "--after", AFTER, "--out", str(out), "--map",
                   str(map_out), "--config", str(folder / "survey.toml"))
    assert again.exit_code == 1 and "exists already" in again.output


def test_an_after_period_without_samples_is_refused(rounds_folder, tmp_path, invoke):
    folder, _ = rounds_folder
    r = invoke("compare", "--db", str(folder / "survey.gpkg"), "--before", BEFORE, "--after",
               "2026-09-01..2026-09-30", "--out", str(tmp_path / "c.pdf"), "--map", str(tmp_path / "c.html"),
               "--config", str(folder / "survey.toml"))
    assert r.exit_code == 1
    assert "after round has no samples between 2026-09-01 and 2026-09-30" in r.output
    assert "2026-07-06" in r.output and "2026-11-15" in r.output  # where the samples are
    assert not (tmp_path / "c.pdf").exists() and not (tmp_path / "c.html").exists()


def test_a_period_is_checked(rounds_folder, tmp_path, invoke):
    folder, _ = rounds_folder
    for bad in ("2026-07-31..2026-07-01", "2026-02-30..2026-03-01"):
        r = invoke("compare", "--db", str(folder / "survey.gpkg"), "--before", bad, "--after", AFTER,
                   "--config", str(folder / "survey.toml"), "--out", str(tmp_path / "c.pdf"))
        assert r.exit_code == 2, r.output


def test_rounds_analysed_with_other_rules_are_refused_with_the_difference_named(rounds_folder, tmp_path, invoke):
    folder, _ = rounds_folder
    after = tmp_path / "after.gpkg"
    shutil.copy(folder / "after.gpkg", after)
    r = invoke("analyze", "--db", str(after), "--resolution", "9", "--config", str(folder / "survey.toml"))
    assert r.exit_code == 0, r.output
    r = invoke("compare", "--before", str(folder / "before.gpkg"), "--after", str(after), "--out",
               str(tmp_path / "c.pdf"), "--config", str(folder / "survey.toml"))
    assert r.exit_code == 2
    assert "H3 resolution 9 there, 10 here" in r.output and str(after) in r.output
    # another rule: the effective-sample distance
    toml = tmp_path / "survey.toml"
    toml.write_text((folder / "survey.toml").read_text(encoding="utf-8").replace(
        "effective_min_distance_m = 20", "effective_min_distance_m = 30"), encoding="utf-8")
    assert "effective_min_distance_m = 30" in toml.read_text(encoding="utf-8")
    shutil.copy(folder / "after.gpkg", after)
    r = invoke("analyze", "--db", str(after), "--config", str(folder / "survey.toml"))
    assert r.exit_code == 0, r.output
    r = invoke("compare", "--before", str(folder / "before.gpkg"), "--after", str(after), "--out",
               str(tmp_path / "c.pdf"), "--config", str(toml))
    assert r.exit_code == 2 and "effective_min_distance_m 20" in r.output and "30 here" in r.output
