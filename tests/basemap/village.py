"""A small hand-made village in OpenStreetMap form (our own fixture, always available), written
as OSM XML, as an Overpass ``out body; >; out skel qt;`` answer and as an ``out geom`` answer.

Near Lipursari (lon 109.85, lat -7.44). It holds one element of each rule of the basemap, with
the layer each should land in, so the tests can say what must come out without the real files.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import quoteattr

LON0, LAT0 = 109.850, -7.440
STEP = 0.001  # about 110 m


def _p(i: float, j: float) -> tuple[float, float]:
    return (round(LON0 + i * STEP, 7), round(LAT0 + j * STEP, 7))


class Village:
    def __init__(self) -> None:
        self.nodes: dict[int, tuple[float, float, dict]] = {}
        self.ways: dict[int, tuple[list[int], dict]] = {}
        self.relations: dict[int, tuple[dict, list[tuple[int, str]]]] = {}
        self._next = 1

    def node(self, i: float, j: float, **tags) -> int:
        nid = self._next
        self._next += 1
        self.nodes[nid] = (*_p(i, j), tags)
        return nid

    def way(self, wid: int, points, closed: bool = False, **tags) -> int:
        refs = [self.node(i, j) for i, j in points]
        if closed:
            refs.append(refs[0])
        self.ways[wid] = (refs, tags)
        return wid

    def relation(self, rid: int, members, **tags) -> int:
        self.relations[rid] = (tags, members)
        return rid

    # -- writers --------------------------------------------------------------------------------
    def xml(self, bounds: bool = True) -> str:
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<osm version="0.6" generator="surveyor tests" timestamp="2026-01-01T00:00:00Z">']
        if bounds:
            lons = [n[0] for n in self.nodes.values()]
            lats = [n[1] for n in self.nodes.values()]
            out.append(f'  <bounds minlat="{min(lats)}" minlon="{min(lons)}" maxlat="{max(lats)}" '
                       f'maxlon="{max(lons)}"/>')

        def tags(t):
            return [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in t.items()]

        for nid, (lon, lat, t) in self.nodes.items():
            if t:
                out += [f'  <node id="{nid}" lat="{lat}" lon="{lon}" version="1">', *tags(t), "  </node>"]
            else:
                out.append(f'  <node id="{nid}" lat="{lat}" lon="{lon}" version="1"/>')
        for wid, (refs, t) in self.ways.items():
            out += [f'  <way id="{wid}" version="1">', *[f'    <nd ref="{r}"/>' for r in refs], *tags(t), "  </way>"]
        for rid, (t, members) in self.relations.items():
            out += [f'  <relation id="{rid}" version="1">',
                    *[f'    <member type="way" ref="{m}" role="{role}"/>' for m, role in members], *tags(t),
                    "  </relation>"]
        out.append("</osm>")
        return "\n".join(out) + "\n"

    def overpass(self) -> str:
        """``out body; >; out skel qt;``: tagged elements, then the untagged ways and nodes."""
        els = []
        for nid, (lon, lat, t) in self.nodes.items():
            els.append({"type": "node", "id": nid, "lat": lat, "lon": lon, **({"tags": t} if t else {})})
        for wid, (refs, t) in self.ways.items():
            els.append({"type": "way", "id": wid, "nodes": refs, **({"tags": t} if t else {})})
        for rid, (t, members) in self.relations.items():
            els.append({"type": "relation", "id": rid, "members": [{"type": "way", "ref": m, "role": r}
                                                                  for m, r in members], "tags": t})
        return json.dumps({"version": 0.6, "generator": "Overpass API (test)",
                           "osm3s": {"timestamp_osm_base": "2026-01-01T00:00:00Z"}, "elements": els})

    def overpass_geom(self) -> str:
        """``out geom``: ways and relation members carry their coordinates; no bare nodes."""
        els = []
        for nid, (lon, lat, t) in self.nodes.items():
            if t:
                els.append({"type": "node", "id": nid, "lat": lat, "lon": lon, "tags": t})

        def geom(refs):
            return [{"lat": self.nodes[r][1], "lon": self.nodes[r][0]} for r in refs]

        members_of = {m for _, ms in self.relations.values() for m, _ in ms}
        for wid, (refs, t) in self.ways.items():
            if t or wid not in members_of:
                els.append({"type": "way", "id": wid, "nodes": refs, "geometry": geom(refs), "tags": t})
        for rid, (t, members) in self.relations.items():
            els.append({"type": "relation", "id": rid, "tags": t,
                        "members": [{"type": "way", "ref": m, "role": r, "geometry": geom(self.ways[m][0])}
                                    for m, r in members]})
        return json.dumps({"version": 0.6, "elements": els})


def village() -> tuple[Village, dict[str, dict[tuple[str, int], str]]]:
    """The village and what each layer must hold: (osm_type, osm_id) -> class/building/kind/place."""
    v = Village()
    want: dict[str, dict] = {k: {} for k in ("roads", "buildings", "water", "places", "facilities")}
    # Roads: one of each class, and two that are not roads.
    v.way(101, [(0, 0), (10, 0)], highway="secondary", name="Jalan Raya Leksono")
    v.way(102, [(0, 2), (10, 2)], highway="residential", name="Jalan Krajan")
    v.way(103, [(0, 4), (10, 4)], highway="track")
    v.way(104, [(0, 6), (5, 8), (10, 6)], highway="footway")
    v.way(105, [(0, 9), (10, 9)], highway="proposed")
    v.way(106, [(1, 1)], highway="service")  # one node only: cut by an extract, left out
    want["roads"].update({("way", 101): "major", ("way", 102): "minor", ("way", 103): "track",
                          ("way", 104): "path"})
    # Buildings: a house, a building with a courtyard (multipolygon with an inner ring), a
    # building=no, and a school building that is also a facility.
    v.way(201, [(1, 1), (1.2, 1), (1.2, 1.2), (1, 1.2)], closed=True, building="house")
    v.way(202, [(3, 1), (4, 1), (4, 1.8), (3, 1.8)], closed=True)
    v.way(203, [(3.3, 1.3), (3.6, 1.3), (3.6, 1.5), (3.3, 1.5)], closed=True)
    v.relation(204, [(202, "outer"), (203, "inner")], type="multipolygon", building="yes", name="Pendopo")
    v.way(205, [(5, 1), (5.2, 1), (5.2, 1.2), (5, 1.2)], closed=True, building="no")
    v.way(206, [(6, 1), (6.5, 1), (6.5, 1.5), (6, 1.5)], closed=True, building="school", amenity="school",
          name="SD Negeri 1 Lipursari")
    want["buildings"].update({("way", 201): "house", ("relation", 204): "yes", ("way", 206): "school"})
    # Water: a river line, a ditch, a pond, a riverbank relation of two halves of one ring, a dam.
    v.way(301, [(0, -1), (10, -1.5)], waterway="river", name="Kali Begaluh")
    v.way(302, [(2, 3), (2, 5)], waterway="ditch")
    v.way(303, [(8, 3), (8.5, 3), (8.5, 3.5), (8, 3.5)], closed=True, natural="water", water="pond")
    v.way(304, [(0, -2), (5, -2), (5, -2.5)])
    v.ways[305] = ([v.ways[304][0][-1], v.node(0, -2.5), v.ways[304][0][0]], {})
    v.relation(306, [(304, "outer"), (305, "outer")], type="multipolygon", waterway="riverbank")
    v.way(307, [(9, -1), (9, -2)], waterway="dam")
    want["water"].update({("way", 301): "river", ("way", 302): "ditch", ("way", 303): "water",
                          ("relation", 306): "riverbank"})
    # Places: a hamlet, an isolated dwelling, a village area, a hamlet without a name.
    hamlet = v.node(2, 3, place="hamlet", name="Krajan")
    dwelling = v.node(9, 8, place="isolated_dwelling", name="Gunung Malang")
    v.node(7, 7, place="hamlet")
    v.way(401, [(0, 0.5), (10, 0.5), (10, 8.5), (0, 8.5)], closed=True, place="village", name="Lipursari")
    want["places"].update({("node", hamlet): "hamlet", ("node", dwelling): "isolated_dwelling",
                           ("way", 401): "village"})
    # Facilities: puskesmas (amenity=clinic), pustu (healthcare=centre only), a mosque, the kantor
    # desa (office=government + admin_level), a townhall, a shop (not a facility).
    pusk = v.node(4, 4, amenity="clinic", healthcare="clinic", name="Puskesmas Leksono")
    pustu = v.node(4.5, 4, healthcare="centre", name="Pustu Lipursari")
    mosque = v.node(5, 5, amenity="place_of_worship", religion="muslim", name="Masjid Al-Ikhlas")
    office = v.node(5.5, 5, office="government", admin_level="7", name="Kantor Desa Lipursari")
    hall = v.node(6, 5, amenity="townhall", name="Balai Desa")
    v.node(6.5, 5, shop="convenience")
    want["facilities"].update({("node", pusk): "clinic", ("node", pustu): "clinic", ("node", mosque): "worship",
                               ("node", office): "village_office", ("node", hall): "village_office",
                               ("way", 206): "school"})
    return v, want


def bounds(v: Village) -> tuple[float, float, float, float]:
    lons = [n[0] for n in v.nodes.values()]
    lats = [n[1] for n in v.nodes.values()]
    return min(lons), min(lats), max(lons), max(lats)
