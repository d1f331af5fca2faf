/* Draws a surveyor coverage map with Leaflet from the data in <script id="svy-data">.
   Every text in the data is already HTML-escaped by surveyor; nothing here builds markup from it
   except the popup, tooltip, legend, title and layer-control labels, which go into innerHTML.

   The page: a header (title naming the operator shown, the operator switch, the legend button),
   the map, and the legend beside it (desktop) or below it (phone, folded at start). The map's
   controls sit in its corners; an open popup is moved clear of them (keepClear). */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('svy-data').textContent);
  var texts = data.texts;
  var body = document.body;
  var legendButton = document.getElementById('svy-legend-btn');
  var legendBox = document.getElementById('svy-legend');
  var title = document.getElementById('svy-h1');
  var statusLine = document.getElementById('svy-status');

  // Text of an escaped string, for attributes (a detached element never runs anything).
  function plain(escaped) {
    var d = document.createElement('div');
    d.innerHTML = escaped;
    return d.textContent;
  }

  function setLegend(open) {
    body.classList.toggle('svy-legend-closed', !open);
    legendButton.setAttribute('aria-expanded', open ? 'true' : 'false');
    legendButton.textContent = plain(open ? texts.hide_legend : texts.legend);
  }
  // A phone screen is too small for an open legend beside the map: the reader opens it.
  setLegend(window.innerWidth >= 700 && window.innerHeight >= 500);

  var map = L.map('svy-map', {zoomControl: false, attributionControl: false, zoomSnap: 0.25});
  window.svyMap = map;
  function pane(name, z) { map.createPane(name).style.zIndex = z; }
  pane('svy-relief', 250);   // above online tiles (200), under everything else
  pane('svy-ground', 300);   // water, houses, roads
  pane('svy-pred', 410);     // the prediction, over the measured classes (400)
  pane('svy-zones', 420);    // dead-zone outlines, boundaries
  pane('svy-points', 450);   // facilities, sites, towers, samples, the reader's position
  // The view first: layers (and renderers) are added to a map only once it has one.
  map.fitBounds(data.bounds, {padding: [8, 8]});
  var ground = L.canvas({pane: 'svy-ground', padding: 0.3});
  var hatched = L.svg({pane: 'svy-pred'});
  hatched.addTo(map);

  // Hatch patterns of the prediction: thin diagonal lines in the predicted class's colour.
  (function () {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = hatched._container;
    var defs = document.createElementNS(ns, 'defs');
    Object.keys(data.hatch).forEach(function (key) {
      var p = document.createElementNS(ns, 'pattern');
      p.setAttribute('id', 'svy-hatch-' + key);
      p.setAttribute('patternUnits', 'userSpaceOnUse');
      p.setAttribute('width', '7');
      p.setAttribute('height', '7');
      p.setAttribute('patternTransform', 'rotate(45)');
      var line = document.createElementNS(ns, 'line');
      line.setAttribute('x1', '0'); line.setAttribute('y1', '0');
      line.setAttribute('x2', '0'); line.setAttribute('y2', '7');
      line.setAttribute('stroke', data.hatch[key]);
      line.setAttribute('stroke-width', '2.5');
      p.appendChild(line);
      defs.appendChild(p);
    });
    svg.insertBefore(defs, svg.firstChild);
  }());

  // Packed lines: integer steps of 1/scale degree, the first from data.origin.
  function decode(flat) {
    var x = data.origin[0], y = data.origin[1], s = data.scale, out = [];
    for (var i = 0; i < flat.length; i += 2) {
      x += flat[i]; y += flat[i + 1];
      out.push([y / s, x / s]);
    }
    return out;
  }

  function popupOptions() {
    return {maxWidth: Math.min(320, window.innerWidth - 90), minWidth: 160, autoPan: false};
  }

  function onEach(feature, layer) {
    var p = feature.properties || {};
    if (p.p) { layer.bindPopup(p.p, popupOptions()); }
    if (p.t) { layer.bindTooltip(p.t, {permanent: true, direction: 'center', className: 'svy-label'}); }
    if (p.d) { layer.bindTooltip(p.d, {permanent: true, direction: 'center', className: 'svy-dusun'}); }
  }

  function build(spec) {
    var style = L.extend({}, spec.style || {});
    if (spec.type === 'geojson') {
      if (spec.pattern) { style.fillColor = 'url(#svy-hatch-' + style.fillColor + ')'; }
      var opts = {interactive: spec.interactive !== false, onEachFeature: onEach};
      if (spec.pane) { opts.pane = spec.pane; }
      if (spec.pattern) { opts.renderer = hatched; }
      if (spec.marker) {
        var marker = L.extend({pane: spec.pane || 'svy-points'}, spec.marker);
        opts.pointToLayer = function (feature, latlng) { return L.circleMarker(latlng, marker); };
      } else {
        opts.style = function () { return style; };
      }
      return L.geoJSON(spec.data, opts);
    }
    if (spec.type === 'lines') {
      return L.polyline(spec.coords.map(decode), L.extend(style, {pane: spec.pane, renderer: ground,
                                                                  interactive: false}));
    }
    if (spec.type === 'polygons') {
      return L.polygon(spec.coords.map(function (c) { return [decode(c)]; }),
                       L.extend(style, {pane: spec.pane, renderer: ground, interactive: false}));
    }
    if (spec.type === 'points') {
      var m = L.extend({pane: spec.pane, renderer: ground, interactive: false}, spec.marker);
      return L.layerGroup(spec.coords.map(function (c) {
        return L.circleMarker(decode(c)[0], m);
      }));
    }
    if (spec.type === 'labels') {
      return L.layerGroup(spec.labels.map(function (l) {
        return L.tooltip({permanent: true, direction: 'center', interactive: false,
                          className: 'svy-place' + (l[3] ? ' svy-place-big' : '')})
          .setLatLng([l[0], l[1]]).setContent(l[2]);
      }));
    }
    if (spec.type === 'image') {
      return L.imageOverlay(spec.url, spec.bounds, {pane: spec.pane, interactive: false});
    }
    return L.layerGroup();
  }

  // Base layers: the offline village map (the survey's own layers), or online tiles on request.
  var bases = {};
  var offline = L.layerGroup();
  bases[data.offline] = offline;
  var baseShown = offline;
  data.tiles.forEach(function (t) {
    var layer = L.tileLayer(t.url, {attribution: t.attribution, maxZoom: t.max_zoom});
    bases[t.name] = layer;
    if (t.show) { baseShown = layer; }
  });
  baseShown.addTo(map);

  // Overlays: what the operator switch swaps (containers), then the ground shared by all.
  var overlays = {};
  var containers = {};
  data.overlays.forEach(function (o) {
    containers[o.key] = L.layerGroup();
    overlays[o.name] = containers[o.key];
    if (o.show) { containers[o.key].addTo(map); }
  });
  data.base.forEach(function (g) {
    var group = L.layerGroup(g.layers.map(build));
    overlays[g.name] = group;
    if (g.show) { group.addTo(map); }
  });

  var built = [];
  var current = -1;
  function showOperator(i) {
    if (i === current) { return; }
    map.closePopup();
    Object.keys(containers).forEach(function (k) { containers[k].clearLayers(); });
    var op = data.operators[i];
    if (!built[i]) {
      built[i] = {};
      Object.keys(op.layers).forEach(function (k) { built[i][k] = op.layers[k].map(build); });
    }
    Object.keys(built[i]).forEach(function (k) {
      if (containers[k]) { built[i][k].forEach(function (l) { containers[k].addLayer(l); }); }
    });
    title.innerHTML = op.title;
    legendBox.innerHTML = op.legend;
    document.body.setAttribute('data-operator', plain(op.name));
    current = i;
  }
  [].forEach.call(document.querySelectorAll('input[name="svy-op"]'), function (input) {
    input.addEventListener('change', function () { if (input.checked) { showOperator(+input.value); } });
  });

  L.control.zoom({position: 'topleft'}).addTo(map);
  var Locate = L.Control.extend({
    options: {position: 'topleft'},
    onAdd: function () {
      var c = L.DomUtil.create('div', 'leaflet-bar leaflet-control svy-locate');
      var a = L.DomUtil.create('a', '', c);
      a.href = '#';
      a.setAttribute('role', 'button');
      a.title = plain(texts.locate);
      a.setAttribute('aria-label', plain(texts.locate));
      a.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">' +
        '<circle cx="12" cy="12" r="6" fill="none" stroke="currentColor" stroke-width="2"/>' +
        '<circle cx="12" cy="12" r="2.2" fill="currentColor"/>' +
        '<path d="M12 1v5M12 18v5M1 12h5M18 12h5" stroke="currentColor" stroke-width="2"/></svg>';
      L.DomEvent.disableClickPropagation(c);
      L.DomEvent.on(a, 'click', function (e) { L.DomEvent.preventDefault(e); locate(); });
      return c;
    }
  });
  new Locate().addTo(map);
  var layersControl = L.control.layers(bases, overlays, {collapsed: true, position: 'topright'}).addTo(map);
  // The open layer list ends above the controls of the bottom corners (it scrolls when longer).
  var expand = layersControl.expand;
  layersControl.expand = function () {
    expand.call(this);
    var list = this._section;
    var bottom = map.getContainer().getBoundingClientRect().bottom;
    [].forEach.call(map.getContainer().querySelectorAll('.leaflet-bottom .leaflet-control'), function (c) {
      var r = c.getBoundingClientRect();
      if (r.height) { bottom = Math.min(bottom, r.top); }
    });
    var room = Math.max(60, Math.floor(bottom - list.getBoundingClientRect().top - 14));
    if (list.scrollHeight > room) {
      L.DomUtil.addClass(list, 'leaflet-control-layers-scrollbar');
      list.style.height = room + 'px';
    }
    return this;
  };
  L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);
  var credits = L.control.attribution({position: 'bottomright',
                                       prefix: '<a href="https://leafletjs.com">Leaflet</a>'}).addTo(map);
  if (data.credits) { credits.addAttribution(data.credits); }

  // "Where am I": the browser's geolocation, drawn on this page only; the position goes nowhere.
  var me = L.layerGroup().addTo(map);
  var statusTimer = null;
  function status(text, keep) {
    clearTimeout(statusTimer);
    statusLine.hidden = !text;
    statusLine.innerHTML = text || '';
    if (text && !keep) { statusTimer = setTimeout(function () { status(''); }, 8000); }
  }
  function locate() {
    status(texts.locating, true);
    map.locate({setView: true, maxZoom: 17, enableHighAccuracy: true, timeout: 20000});
  }
  map.on('locationfound', function (e) {
    me.clearLayers();
    L.circle(e.latlng, {radius: e.accuracy, pane: 'svy-points', color: '#1565c0', weight: 1,
                        fillOpacity: 0.12, interactive: false}).addTo(me);
    L.circleMarker(e.latlng, {radius: 7, pane: 'svy-points', color: '#ffffff', weight: 3,
                              fillColor: '#1565c0', fillOpacity: 1, className: 'svy-me'}).addTo(me);
    status(texts.located.replace('{accuracy}', String(Math.round(e.accuracy))));
  });
  map.on('locationerror', function () { status(texts.no_location); });

  // An open popup never lies under a control: the controls sit in the map's top and bottom bands,
  // so the popup is kept between them (made scrollable when taller) and inside the map.
  function keepClear() {
    var popup = map._popup;
    if (!popup || !map.hasLayer(popup)) { return; }
    var el = popup.getElement();
    if (!el) { return; }
    var m = map.getContainer().getBoundingClientRect();
    var top = m.top, bottom = m.bottom, gap = 6;
    [].forEach.call(map.getContainer().querySelectorAll('.leaflet-control'), function (c) {
      var r = c.getBoundingClientRect();
      if (!r.width || !r.height) { return; }
      if (c.closest('.leaflet-top')) { top = Math.max(top, r.bottom); }
      if (c.closest('.leaflet-bottom')) { bottom = Math.min(bottom, r.top); }
    });
    top += gap; bottom -= gap;
    var content = el.querySelector('.leaflet-popup-content');
    var p = el.getBoundingClientRect();
    if (p.height > bottom - top && content) {
      content.style.maxHeight = Math.max(60, (bottom - top) - (p.height - content.offsetHeight) - 4) + 'px';
      content.style.overflowY = 'auto';
      p = el.getBoundingClientRect();
    }
    var dx = 0, dy = 0;
    if (p.top < top) { dy = p.top - top; } else if (p.bottom > bottom) { dy = p.bottom - bottom; }
    if (p.left < m.left + gap) { dx = p.left - m.left - gap; } else if (p.right > m.right - gap) {
      dx = p.right - m.right + gap;
    }
    if (dx || dy) { map.panBy([dx, dy], {animate: false}); }
  }
  map.on('popupopen', function () { keepClear(); });

  function resized() {
    map.invalidateSize({pan: false});
    keepClear();
  }
  if (window.ResizeObserver) {
    new ResizeObserver(resized).observe(map.getContainer());
  } else {
    window.addEventListener('resize', resized);
  }
  legendButton.addEventListener('click', function () {
    setLegend(body.classList.contains('svy-legend-closed'));
    resized();
  });

  showOperator(0);
}());
