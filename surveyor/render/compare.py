"""Before and after: the map and the report section of a comparison of two survey rounds.

- :func:`render_compare_map`: one self-contained HTML file (works offline): per operator a layer of
  cells coloured by what changed (improved, worsened, unchanged, not enough evidence), each with
  both rounds' evidence and the test in its popup.
- :func:`render_compare_report`: the section "Before and after" as PDF or HTML: the two rounds,
  the cells per operator and change, a printed map per operator, the method in plain words (what
  the test is, what its level controls and what it does not) and the cells that changed, with
  coordinates and both rounds' counts, so a reviewer can redo every test.

The numbers are :class:`surveyor.analyse.compare.Comparison`'s; the words come from the
``district`` catalogues and the glossary.
"""

from __future__ import annotations

from pathlib import Path

from surveyor.config import Settings
from surveyor.render.district import (
    _local_date,
    _words,
    document,
    draw_polygons,
    esc,
    figure_for,
    geojson_features,
    leaflet_page,
    png_data_uri,
    popup_table,
    table_html,
    write_document,
)

__all__ = ["CHANGE_COLOURS", "render_compare_map", "render_compare_report"]

# Colours of the changes, in legend order (not enough evidence: pale, drawn hatched in print).
CHANGE_COLOURS = {"improved": "#2ca02c", "worsened": "#d62728", "unchanged": "#8c8c8c",
                  "not_enough_evidence": "#e3e3e3"}


def change_labels(lang: str) -> dict[str, str]:
    from surveyor.i18n.glossary import label

    _ = _words(lang)
    return {"improved": _("Improved"), "worsened": _("Worsened"), "unchanged": _("No change shown"),
            "not_enough_evidence": label("insufficient", lang)}


def _share(k, n, lang: str) -> str:
    from surveyor.i18n import format_number, format_percent

    if not n:
        return "-"
    return f"{format_number(k, lang)}/{format_number(n, lang)} ({format_percent(k / n, lang)})"


def _p(value, lang: str) -> str:
    from surveyor.i18n import format_number

    if value is None or value != value:
        return "-"
    if value < 0.0001:
        return "< " + format_number(0.0001, lang, 4)
    return format_number(value, lang, 4)


def _status(value, lang: str) -> str:
    from surveyor.i18n.glossary import BY_KEY

    return BY_KEY[value].label(lang) if value in BY_KEY else str(value)


def _period_text(rnd, lang: str, tz: str) -> str:
    _ = _words(lang)
    if rnd.period is not None:
        from surveyor.i18n import format_date

        return f"{format_date(rnd.period.first, lang, 'medium')} – {format_date(rnd.period.last, lang, 'medium')}"
    return _("every sample of") + " " + str(rnd.source)


def render_compare_map(comparison, settings: Settings, out, *, lang: str | None = None) -> Path:
    """Write the before-and-after map (one HTML file that works offline)."""
    from surveyor.files import write_text

    lang = lang or settings.language
    _ = _words(lang)
    labels = change_labels(lang)
    cells = comparison.cells

    def props(row) -> dict:
        change = row["change"]
        table = [(_("Before"), _share(row["before_negatives_effective"], row["before_samples_effective"], lang)
                  + " " + _("without usable 4G")),
                 (_("Status before"), _status(row["before_status"], lang)),
                 (_("After"), _share(row["after_negatives_effective"], row["after_samples_effective"], lang)
                  + " " + _("without usable 4G")),
                 (_("Status after"), _status(row["after_status"], lang)),
                 (_("p improved"), _p(row["p_improved"], lang)), (_("p worsened"), _p(row["p_worsened"], lang)),
                 (_("Cell"), f"{row['h3']} ({row['lat']:.6f}, {row['lon']:.6f})")]
        return {"c": CHANGE_COLOURS[change], "p": popup_table(table, f"{row['operator']}: {labels[change]}"),
                "alpha": 0.35 if change == "not_enough_evidence" else 0.65,
                "dash": "3" if change == "not_enough_evidence" else None}

    layers = []
    for i, op in enumerate(comparison.operators):
        mine = cells[cells["operator"] == op]
        layers.append({"name": op, "data": geojson_features(mine, props), "show": i == 0})
    legend = "<b>" + esc(_("Before and after")) + "</b><br>" + "<br>".join(
        f"<i style=\"background:{CHANGE_COLOURS[k]}\"></i>{esc(v)}" for k, v in labels.items())
    legend += "<br><span style=\"font-size:11px;color:#555\">" + esc(_level_sentence(comparison, lang)) + "</span>"
    tz = settings.timezone
    title = (f"<h1>{esc(_('Before and after'))}: {esc(comparison.area_name or settings.name)}</h1>"
             f"{esc(_('Before'))}: {esc(_period_text(comparison.before, lang, tz))}; "
             f"{esc(_('After'))}: {esc(_period_text(comparison.after, lang, tz))}")
    bounds = cells.total_bounds if len(cells) else (0, 0, 0, 0)
    page = leaflet_page(lang=lang, page_title=f"{_('Before and after')}: {comparison.area_name or settings.name}",
                        title_html=title, legend_html=legend, layers=layers, bounds=bounds)
    return write_text(out, page)


def _level_sentence(comparison, lang: str) -> str:
    from surveyor.i18n import format_percent

    _ = _words(lang)
    return _("Fisher's exact test, one-sided each way at {level}: a cell where nothing changed is called "
             "improved or worsened by chance at most {total} of the time.").format(
        level=format_percent(comparison.level, lang, 1), total=format_percent(1 - comparison.confidence, lang))


def render_compare_report(comparison, settings: Settings, out, *, lang: str | None = None) -> Path:
    """Write the section "Before and after" as a document (PDF, or HTML by suffix)."""
    return write_document(compare_section(comparison, settings, lang or settings.language, standalone=True),
                          Path(out))


def compare_section(comparison, settings: Settings, lang: str, *, standalone: bool = False) -> str:
    """The section "Before and after" as HTML (a whole document with ``standalone``)."""
    from surveyor.i18n import format_number, format_percent

    _ = _words(lang)
    labels = change_labels(lang)
    tz = settings.timezone
    c = comparison
    body = [f"<h1>{esc(_('Before and after'))}: {esc(c.area_name or settings.name)}</h1>"
            if standalone else f"<h2>{esc(_('Before and after'))}</h2>"]
    intro = _("Each cell of about 70 m and each operator, judged on the samples of each round with the same rules.")
    body.append(f"<p class=\"sub\">{esc(intro)}</p>")
    rounds = []
    for name, r in ((_("Before"), c.before), (_("After"), c.after)):
        rounds.append([name, _period_text(r, lang, tz), format_number(r.samples, lang),
                       format_number(r.effective_samples, lang), format_number(r.sessions, lang),
                       f"{_local_date(r.first, lang, tz)} – {_local_date(r.last, lang, tz)}"])
    body.append(table_html([_("Round"), _("Period"), _("Samples"), _("Effective samples"), _("Sessions"),
                            _("Walked")], rounds, {2, 3, 4}))
    counts = c.counts()
    false_calls = c.expected_false_calls()
    rows = [[op] + [format_number(counts[op][k], lang) for k in labels] + [format_number(false_calls[op], lang, 1)]
            for op in c.operators]
    body.append(f"<h3>{esc(_('Cells per operator'))}</h3>")
    body.append(table_html([_("Operator")] + list(labels.values()) + [_("Chance calls, at most")], rows,
                           set(range(1, len(labels) + 2))))
    last = _("The last column is that share of the cells tested: how many of the calls could be chance if nothing "
             "had changed anywhere.")
    body.append(f"<p class=\"note\">{esc(_level_sentence(c, lang))} {esc(last)}</p>")
    for op in c.operators:
        mine = c.cells[c.cells["operator"] == op]
        if not len(mine):
            continue
        fig, ax = figure_for(c.cells.total_bounds, 10.0)
        for change in ("not_enough_evidence", "unchanged", "worsened", "improved"):
            part = mine[mine["change"] == change]
            draw_polygons(ax, part.geometry, [CHANGE_COLOURS[change]] * len(part), width=0.3,
                          hatch="///" if change == "not_enough_evidence" else None)
        ax.set_title(op, fontsize=11)
        body.append(f"<h3>{esc(op)}</h3><img class=\"map\" src=\"{png_data_uri(fig)}\" alt=\"\">")
        body.append("<p class=\"key\">" + "".join(f"<i style=\"background:{CHANGE_COLOURS[k]}\"></i>{esc(v)}"
                                                  for k, v in labels.items()) + "</p>")
    body.append(f"<h3>{esc(_('How a change is decided'))}</h3>")
    body.append("<p>" + esc(_method_text(c, lang)) + "</p>")
    changed = c.cells[c.cells["change"].isin(["improved", "worsened"])]
    body.append(f"<h3>{esc(_('Cells that changed'))}</h3>")
    if len(changed):
        rows = []
        for r in changed.sort_values(["operator", "change", "lat"]).to_dict("records"):
            rows.append([r["operator"], labels[r["change"]], r["h3"], f"{r['lat']:.6f}, {r['lon']:.6f}",
                         _share(r["before_negatives_effective"], r["before_samples_effective"], lang),
                         _share(r["after_negatives_effective"], r["after_samples_effective"], lang),
                         _p(r["p_improved"] if r["change"] == "improved" else r["p_worsened"], lang)])
        body.append(table_html([_("Operator"), _("Change"), _("Cell"), _("Centre"),
                                _("Before: without usable 4G"), _("After: without usable 4G"), _("p")], rows, {6}))
    else:
        body.append(f"<p>{esc(_('No cell changed at this level.'))}</p>")
    body.append("<p class=\"note\">" + esc(_("Resolution {res}; confidence {conf}.").format(
        res=c.resolution, conf=format_percent(c.confidence, lang))) + "</p>")
    html_body = "\n".join(body)
    return document(lang, f"{_('Before and after')}: {c.area_name or settings.name}", html_body) if standalone \
        else html_body


def _method_text(c, lang: str) -> str:
    from surveyor.i18n import format_percent

    _ = _words(lang)
    return _("For each cell and operator, the effective samples of each round are counted with the rules of the "
             "survey, and a cell is compared only when both rounds have enough evidence there (enough effective "
             "samples from visits hours apart); otherwise it has not enough evidence. The two rounds' shares of "
             "samples without usable 4G go to Fisher's exact test (the exact test of two proportions, which any "
             "statistics package repeats from the counts in the table), one-sided in each direction at {level}: "
             "improved when the share fell, worsened when it rose, no change shown otherwise. No change shown is "
             "not a proof that nothing changed: a small change needs more samples to show. Each cell is tested on "
             "its own: where nothing changed, a cell is called improved or worsened by chance at most {total} of "
             "the time, so among many cells a few such calls are expected (the table says how many at most); a "
             "cell that changed from no usable 4G to usable 4G with enough samples shows far below that "
             "level.").format(level=format_percent(c.level, lang, 1), total=format_percent(1 - c.confidence, lang))
