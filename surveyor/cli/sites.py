"""``surveyor sites``: where a new tower or repeater would serve the most dead places."""

from __future__ import annotations

import json

import click

from surveyor.cli.options import check_operators, choice, config_option, db_option, open_survey, operator_option
from surveyor.cli.texts import _, language


@click.command(name="sites")
@click.option("--candidates", "candidates_path", type=click.Path(exists=True, dir_okay=False), default=None,
              metavar="FILE.geojson", help="Plots the village can offer (points or polygons; properties name, "
                                           "land, power, access, guard). Default: the village's high points.")
@click.option("--heights", default="15,30,42", show_default=True, metavar="M,M,...",
              help="Mast heights to try, in metres.")
@click.option("--top", "top_k", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Proposals per operator.")
@operator_option(multiple=True)
@click.option("--clutter", "clutter_m", type=click.FloatRange(0, 60), default=0.0, show_default=True, metavar="M",
              help="Trees and houses along the paths, in metres above the terrain.")
@click.option("--format", "fmt", type=choice(["table", "json", "geojson"]), default="table",
              show_default=True, help="Output format (on stdout).")
@db_option
@config_option
def command(candidates_path, heights, top_k, operators, clutter_m, fmt, db, config) -> None:
    """Propose where a new tower or repeater would serve the most dead cells and buildings.

    Per operator: the site, the mast height it needs, the cells (dead by evidence, predicted dead)
    and buildings it would newly serve, the distance to the nearest road, and the land, power and
    access a proposal needs (BAKTI: a 20 x 20 m plot with power). Written to the site_proposals
    layer. Needs `surveyor analyze` and an elevation model (`surveyor dem import`).
    """
    from surveyor.analyse.terrain.sites import propose_sites, to_geojson
    from surveyor.i18n import format_distance, format_number

    lang = language()
    from surveyor.config import load_settings

    try:
        mast = tuple(float(h) for h in heights.split(",") if h.strip())
    except ValueError:
        raise click.BadParameter(_("{value!r} is not a list of heights like 15,30,42.").format(value=heights),
                                 param_hint="--heights") from None
    if not mast or any(not 3 <= h <= 150 for h in mast):
        raise click.BadParameter(_("mast heights must be 3 to 150 m, e.g. 15,30,42."), param_hint="--heights")
    settings = load_settings(config, required=config is not None)
    with open_survey(db) as store:
        proposals, summary = propose_sites(store, settings, candidates_path=candidates_path, heights=mast,
                                           top_k=top_k, operators=check_operators(store, operators),
                                           clutter_m=clutter_m)
    if fmt == "geojson":
        click.echo(to_geojson(proposals))
        return
    if fmt == "json":
        click.echo(json.dumps({"proposals": json.loads(proposals.to_json(orient="records")), "summary": summary},
                              indent=1, default=str))
        return
    if len(proposals) == 0:
        click.echo(_("No proposal: no dead or predicted-dead cell that a candidate site would serve."), err=True)
        return
    for r in proposals.itertuples(index=False):
        road = format_distance(r.nearest_road_m, lang) if r.nearest_road_m == r.nearest_road_m \
            else _("unknown (no roads layer)")
        click.echo(_("{operator} #{rank}: {name} ({source}) at ({lat}, {lon}), ground {ground} m, mast {mast} m: "
                     "serves {cells} cells ({dead} dead, {predicted} predicted dead), {buildings} buildings; "
                     "nearest road {road}.").format(operator=r.operator, rank=r.rank, name=r.name, source=r.source,
                                       lat=f"{r.lat:.5f}", lon=f"{r.lon:.5f}", ground=format_number(r.ground_m, lang),
                                       mast=f"{r.mast_height_m:g}", cells=r.cells_served, dead=r.dead_cells_served,
                                       predicted=r.predicted_dead_cells_served, buildings=r.buildings_served,
                                       road=road))
        click.echo("    " + _("land: {land}; power: {power}; access: {access}; guard: {guard}").format(
            land=r.land, power=r.power, access=r.access, guard=r.guard))
    click.echo(_("Suggestions for the operators' radio planning from a calibrated terrain prediction, not a plan "
                 "and not evidence. Layer site_proposals written."), err=True)
