"""Write (or check) the bundled, SIMULATED Lipursari sample survey in this folder.

    python samples/generate.py            # regenerate journals/, gnettrack/ and README.md
    python samples/generate.py --check    # exit 1 if the committed files differ from what the seed gives

Everything written here is simulated by :mod:`surveyor.testing.simulate` with a fixed seed: invented
volunteers walking invented paths through a signal field made up to look like Lipursari's hills.
It is not a measurement. Output is byte-for-byte deterministic for the seed.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(HERE.parent))

# Imported after the path is set (an import statement here would sit below code).
simulate = importlib.import_module("surveyor.testing.simulate")

SEED = 20260706
# The logger's --interval for the journal volunteers: 8 s keeps the bundle near 4 MB and loses no
# evidence, since effective samples are at least 10 s and 20 m apart anyway (docs/method.md).
INTERVAL_S = (6.0, 10.0)
MANAGED = ("journals", "gnettrack", "README.md")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build(seed: int = SEED) -> dict[str, bytes]:
    """Every managed file of the sample survey: relative path -> exact bytes."""
    survey = simulate.simulate_survey(seed=seed, interval_s=INTERVAL_S)
    files: dict[str, bytes] = {}
    rows = []
    for info in survey.sessions:
        samples = survey.session_samples(info.session)
        local = info.start_utc.astimezone(simulate.WIB)
        if info.app == "gnettrack":
            op = info.operators[0]
            name = "gnettrack/" + simulate.gnettrack_filename(info, op).replace("Walk__", "SimulatedWalk__", 1)
            text = simulate.gnettrack_csv(samples, seed=seed + len(rows))
            n = text.count("\n") - 1
            fmt = "G-NetTrack Pro CSV"
        else:
            first = info.volunteer.split()[0].lower()
            name = f"journals/{local:%Y-%m-%d_%H%M}_{first}_{_slug(info.route)}.jsonl"
            text = simulate.journal_text(samples)
            n = len(samples)
            fmt = "journal (JSON Lines)"
        files[name] = text.encode("utf-8")
        kinds = {k: sum(1 for s in samples if s.get("kind") == k) for k in ("signal", "speed", "manual")}
        rows.append((name, fmt, info, n, kinds, local))
    files["README.md"] = _readme(survey, rows, files, seed).encode("utf-8")
    return files


def _area_ha(truth, geom) -> float:
    xy = shapely.transform(geom, lambda a: np.column_stack(truth.to_xy(a[:, 1], a[:, 0])))
    return xy.area / 10_000.0


def _readme(survey, rows, files, seed) -> str:
    truth = survey.truth
    total = sum(r[3] for r in rows)
    data_bytes = sum(len(b) for b in files.values())
    days = sorted({r[5].date() for r in rows})
    lines = [
        "# Lipursari sample survey (SIMULATED)",
        "",
        "**This is simulated data, not measurements.** No phone recorded these samples. They were",
        "made by `surveyor.testing.simulate` (the seeded village simulator in this repository) so that",
        "`surveyor demo`, the documentation and the tests have a realistic survey of Desa Lipursari",
        "(Kec. Leksono, Kab. Wonosobo) whose true dead areas are known. The village boundary is real",
        "(`surveyor/data/lipursari.geojson`); the radio sites, hills, hamlet names, paths, volunteers,",
        "devices and every measured value are invented. Do not cite this data as evidence about",
        "Lipursari's real coverage. Every journal session's first sample carries the note",
        f"\"{simulate.SIMULATED_NOTE}\", and the G-NetTrack log's name starts with `SimulatedWalk`.",
        "",
        "## How it was made",
        "",
        f"- Seed `{seed}`; regenerate with `python samples/generate.py`, verify with",
        "  `python samples/generate.py --check` (the output is byte-for-byte deterministic).",
        "- Truth: per operator, median LTE RSRP from virtual sites 5-7 km away (Telkomsel from the",
        "  north-east and east, Indosat from the south-west and west) with log-distance path loss",
        f"  (exponent {simulate.PATH_LOSS_EXPONENT}), Gaussian terrain shadows of 28-38 dB (valleys hidden",
        "  behind hills, different per operator, plus one river valley both miss) and a smooth 3 dB",
        "  clutter field. No usable 4G in the truth means median RSRP under -115 dBm.",
        "- Phones: measured RSRP is the truth plus a per-walk offset (1.5 dB), slow fading along the walk",
        "  (4 dB) and per-sample noise (3 dB), 8-14 dB less indoors. Under about",
        f"  {simulate.LTE_FLOOR_DBM:.0f} dBm the phone falls back to 2G (GSM/EDGE), under",
        f"  {simulate.GSM_FLOOR_DBM:.0f} dBm it has no service (`tech: NONE`, `service: no_service`).",
        "- Walks: 3-5 km/h along invented footpaths between invented hamlets, with stops (some",
        "  indoors), GPS accuracy mostly 3-15 m with bursts worse than 50 m, and a GPS cold start",
        "  (`no_fix`) at the start of some walks. Speed tests about every 4 minutes on the data SIM",
        "  (speedtest-cli style: Mbit/s, failed tests with the error text where there is no data).",
        "- Journal phones log every 6-10 s (`surveyor log --interval`), which keeps this folder small",
        "  and loses no evidence: effective samples are at least 10 s and 20 m apart anyway.",
        "  The G-NetTrack Pro phone logs every second, as the app does.",
        "",
        "## Volunteers (fictional)",
        "",
        "| volunteer | device | phone | SIM(s) | app |",
        "|---|---|---|---|---|",
    ]
    for v in survey.volunteers:
        app = "G-NetTrack Pro" if v.app == "gnettrack" else "surveyor log (Termux)"
        extra = ", also notes bars by hand" if v.manual else ""
        lines.append(f"| {v.name} | `{v.device}` | {v.device_model} | {' + '.join(v.operators)} | {app}{extra} |")
    lines += [
        "",
        f"## Files ({len(rows)} walks, {total} rows, {data_bytes / 1e6:.2f} MB with this README)",
        "",
        f"Walks on {len(days)} different days between {days[0]} and {days[-1]}; local times are WIB (UTC+7).",
        "Journals (`journals/*.jsonl`) hold times in UTC with `Z`; the G-NetTrack log holds local",
        "WIB time without a zone, as the app writes it (merge it with `--tz Asia/Jakarta`, the default",
        "time zone in `survey.toml`).",
        "",
        "| file | format | volunteer | operators | route | start (WIB) | rows | signal / speed / manual |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, fmt, info, n, kinds, local in rows:
        lines.append(f"| `{name}` | {fmt} | {info.volunteer} | {' + '.join(info.operators)} | {info.route} | "
                     f"{local:%Y-%m-%d %H:%M} | {n} | {kinds['signal']} / {kinds['speed']} / {kinds['manual']} |")
    lines += [
        "",
        "In the G-NetTrack log, 2G rows carry the GSM RSSI in the RSRP column (as the app does) and",
        "no-service moments are rows with `-` in every radio column (how the app writes those is not",
        "known from a public file; this is an assumption). `Operatorname` is `IND TELKOMSEL`, or the",
        "PLMN code `51010` for a few seconds after service returns.",
        "",
        "## Where the truth has no usable 4G",
        "",
        "Dead areas of the truth inside the village (median RSRP under -115 dBm, including the",
        "2G-only and no-service cores), from a 20 m raster:",
        "",
        "| operator | centre (lat, lon) | area (ha) | cause in the simulation |",
        "|---|---|---|---|",
    ]
    for op in truth.operators:
        dead = survey.dead_area(op)
        parts = sorted(getattr(dead, "geoms", [dead]), key=lambda g: (-round(g.area, 12), g.centroid.x))
        for part in parts:
            ha = _area_ha(truth, part)
            if ha < 0.5:
                continue
            c = part.centroid
            cx, cy = truth.to_xy(c.y, c.x)
            causes = [sh for sh in truth.shadows if sh.operator in (None, op)]
            near = min(causes, key=lambda sh: np.hypot(sh.east_m - cx, sh.north_m - cy))
            lines.append(f"| {op} | {c.y:.5f}, {c.x:.5f} | {ha:.1f} | {near.name} |")
    once = survey.walked_once
    lines += [
        "",
        "Areas left for the analysis to get right:",
        "",
        f"- Walked once only: the Jalan Pucung spur in the north-west (about {_area_ha(truth, once):.1f} ha",
        "  within 60 m of it), walked by one Telkomsel volunteer in one session: its cells must come out",
        "  *insufficient*, never dead or covered (and *not surveyed* for Indosat).",
    ]
    if survey.never_walked is not None:
        c = survey.never_walked.centroid
        lines.append(f"- Never walked: the south-eastern fields around ({c.y:.4f}, {c.x:.4f}), about "
                     f"{_area_ha(truth, survey.never_walked):.0f} ha: *not surveyed*.")
    lines += [
        "",
        "## Use",
        "",
        "```",
        "surveyor merge samples/journals samples/gnettrack",
        "surveyor analyze && surveyor map",
        "```",
        "",
        "or simply `surveyor demo`. From Python, `surveyor.testing.simulate.simulate_survey(seed=...)` gives the",
        "same samples plus the truth (`truth_rsrp_dbm`, `truth_negative`, `dead_area`) for tests.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="verify the committed files match the generator; write nothing")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: this one)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed (default {SEED})")
    args = parser.parse_args(argv)
    files = build(args.seed)
    out: Path = args.out
    existing = {p.relative_to(out).as_posix() for d in MANAGED[:2] for p in (out / d).glob("*") if p.is_file()}
    if args.check:
        problems = []
        for rel, data in sorted(files.items()):
            path = out / rel
            if not path.exists():
                problems.append(f"missing: {rel}")
            elif path.read_bytes() != data:
                problems.append(f"differs: {rel}")
        problems += [f"not from the generator: {rel}" for rel in sorted(existing - set(files))]
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("The sample survey is out of date: run `python samples/generate.py`.", file=sys.stderr)
            return 1
        print(f"ok: {len(files)} files match seed {args.seed}", file=sys.stderr)
        return 0
    for rel in sorted(existing - set(files)):
        (out / rel).unlink()
    for rel, data in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
