/* Draws a surveyor coverage map with Leaflet from the data in <script id="svy-data">.
   Every text in the data is already HTML-escaped by surveyor; nothing here builds markup from it
   except the popup, tooltip and layer-control labels, which Leaflet puts into innerHTML. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('svy-data').textContent);
  var map = L.map('svy-map', {preferCanvas: false});
  window.svyMap = map;

  function onEach(feature, layer) {
    var p = feature.properties || {};
    if (p.p) { layer.bindPopup(p.p, {maxWidth: 320}); }
    if (p.t) { layer.bindTooltip(p.t, {permanent: true, direction: 'center', className: 'svy-label'}); }
  }

  function geoLayer(spec) {
    var options = {interactive: spec.interactive !== false, onEachFeature: onEach};
    if (spec.marker) {
      options.pointToLayer = function (feature, latlng) { return L.circleMarker(latlng, spec.marker); };
    } else {
      options.style = function () { return spec.style; };
    }
    return L.geoJSON(spec.data, options);
  }

  var bases = {};
  data.tiles.forEach(function (t, i) {
    var layer = L.tileLayer(t.url, {attribution: t.attribution, maxZoom: t.max_zoom});
    bases[t.name] = layer;
    if (i === 0) { layer.addTo(map); }
  });
  var overlays = {};
  data.groups.forEach(function (g) {
    var group = L.featureGroup(g.layers.map(geoLayer));
    overlays[g.name] = group;
    if (g.show) { group.addTo(map); }
  });
  L.control.layers(bases, overlays, {collapsed: true}).addTo(map);
  L.control.scale({imperial: false}).addTo(map);
  map.fitBounds(data.bounds);

  // A phone screen is too small for an open legend; the reader opens it.
  if (window.innerWidth < 600) {
    var legend = document.getElementById('svy-legend');
    if (legend) { legend.removeAttribute('open'); }
  }
}());
