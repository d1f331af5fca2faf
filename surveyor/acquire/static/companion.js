/* The field companion page of `surveyor log --web`.
 *
 * Asks the logger (its own origin, nothing else) for what changed since the last sequence number
 * it saw, at most once a second and only while the page is visible; after the phone slept it asks
 * again at once and gets everything it missed (or the whole state when the logger thinned its
 * track or was restarted). Text from files (target names) only ever goes into textContent.
 */
(function () {
  'use strict';
  var CFG = window.SURVEYOR_COMPANION;
  var CLASSES = {};
  CFG.classes.forEach(function (c) { CLASSES[c.key] = c; });

  var S = {
    seq: -1, gen: '', points: [], byId: {}, op: null, ops: [], follow: true, timer: null,
    inflight: false, lastPoll: 0, failures: 0, lastOk: 0, fix: null, targets: [], visited: {},
    runs: [], scanNext: 0, scanPrev: -1, centred: false
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  // -- the map -----------------------------------------------------------------------------------
  var map = L.map('map', {attributionControl: false, zoomControl: true, zoomSnap: 0.5}).setView([0, 0], 2);
  L.control.scale({imperial: false, maxWidth: 110, position: 'bottomright'}).addTo(map);
  map.createPane('casing').style.zIndex = 410;
  map.createPane('track').style.zIndex = 420;
  map.createPane('targets').style.zIndex = 430;
  map.createPane('me').style.zIndex = 440;

  var North = L.Control.extend({
    options: {position: 'topright'},
    onAdd: function () { return el('div', 'north', 'N \u2191'); }
  });
  new North().addTo(map);

  var Legend = L.Control.extend({
    options: {position: 'bottomleft'},
    onAdd: function () {
      var box = el('div', 'legend');
      box.title = 'Tap to fold';
      L.DomEvent.disableClickPropagation(box);
      box.addEventListener('click', function () { box.classList.toggle('folded'); });
      CFG.classes.forEach(function (c) {
        var row = el('div');
        var chip = el('i');
        chip.style.background = c.colour;
        row.appendChild(chip);
        row.appendChild(el('span', null, c.label));
        row.title = c.means;
        box.appendChild(row);
      });
      return box;
    }
  });
  new Legend().addTo(map);

  var meAccuracy = L.circle([0, 0], {radius: 1, pane: 'me', color: '#000', weight: 1, fillColor: '#000',
                                     fillOpacity: 0.08, interactive: false});
  var meMarker = L.circleMarker([0, 0], {radius: 11, pane: 'me', color: '#000', weight: 5, fillColor: '#fff',
                                         fillOpacity: 1, interactive: false});
  var nearestLine = L.polyline([], {pane: 'targets', color: '#CC79A7', weight: 4, dashArray: '8 8',
                                    interactive: false});
  var targetLayer = L.layerGroup().addTo(map);
  var targetMarkers = [];

  map.on('dragstart', function () { setFollow(false); });
  // The panel above the map grows and shrinks with its rows; Leaflet must know its new size.
  if (window.ResizeObserver) {
    new ResizeObserver(function () { map.invalidateSize({pan: false}); if (S.follow && S.fix) { map.panTo([S.fix.lat, S.fix.lon], {animate: false}); } })
      .observe($('map'));
  }

  function setFollow(on) {
    S.follow = on;
    $('follow').setAttribute('aria-pressed', on ? 'true' : 'false');
    if (on && S.fix) { map.setView([S.fix.lat, S.fix.lon], Math.max(map.getZoom(), 16), {animate: false}); }
  }
  $('follow').addEventListener('click', function () { setFollow(!S.follow); });
  $('whole').addEventListener('click', function () {
    var b = L.latLngBounds([]);
    S.points.forEach(function (p) { b.extend([p[1], p[2]]); });
    if (S.fix) { b.extend([S.fix.lat, S.fix.lon]); }
    if (b.isValid()) { setFollow(false); map.fitBounds(b, {padding: [20, 20], maxZoom: 18}); }
  });

  // -- the track: runs of one colour, each a dark casing under a coloured line -------------------
  function classOf(p) {
    var c = p[3];
    return (S.op !== null && c[S.op]) || c['*'] || null;
  }
  function ll(i) { return [S.points[i][1], S.points[i][2]]; }

  function removeRun(run) {
    if (run.casing) { map.removeLayer(run.casing); map.removeLayer(run.line); }
  }
  function clearTrack() {
    S.runs.forEach(removeRun);
    S.runs = []; S.scanNext = 0; S.scanPrev = -1;
  }
  function invalidateFrom(k) {
    // Points from index k changed (only the last one, in practice): redraw the runs using them.
    while (S.runs.length && S.runs[S.runs.length - 1].end >= k) { removeRun(S.runs.pop()); }
    var last = S.runs[S.runs.length - 1];
    S.scanNext = last ? last.end : 0;
    S.scanPrev = -1;
  }
  function extendTrack() {
    var touched = [];
    for (var i = S.scanNext; i < S.points.length; i++) {
      var c = classOf(S.points[i]);
      if (!c) { continue; }
      var prev = S.scanPrev;
      S.scanPrev = i;
      if (prev < 0 || S.points[i][4]) { continue; }  // the first point of a line
      var last = S.runs[S.runs.length - 1];
      if (last && last.end === prev && last.cls === c) {
        last.lls.push(ll(i)); last.end = i;
        if (touched.indexOf(last) < 0) { touched.push(last); }
      } else {
        var run = {start: prev, end: i, cls: c, lls: [ll(prev), ll(i)], casing: null, line: null};
        S.runs.push(run); touched.push(run);
      }
    }
    S.scanNext = S.points.length;
    touched.forEach(function (run) {
      if (run.casing) { run.casing.setLatLngs(run.lls); run.line.setLatLngs(run.lls); return; }
      var colour = (CLASSES[run.cls] || CLASSES.unknown).colour;
      run.casing = L.polyline(run.lls, {pane: 'casing', color: '#111', weight: 12, opacity: 1,
                                        lineCap: 'round', lineJoin: 'round', interactive: false,
                                        className: 'track-casing'}).addTo(map);
      run.line = L.polyline(run.lls, {pane: 'track', color: colour, weight: 7, opacity: 1, lineCap: 'round',
                                      lineJoin: 'round', interactive: false,
                                      className: 'track-line track-' + run.cls}).addTo(map);
    });
  }

  function takePoints(s) {
    if (s.full) {
      S.points = s.track; S.byId = {};
      S.points.forEach(function (p, i) { S.byId[p[0]] = i; });
      clearTrack();
      extendTrack();
      return;
    }
    var first = Infinity;
    s.track.forEach(function (p) {
      var i = S.byId[p[0]];
      if (i === undefined) { i = S.points.length; S.points.push(p); S.byId[p[0]] = i; }
      else { S.points[i] = p; }
      if (i < first) { first = i; }
    });
    if (first < S.scanNext) { invalidateFrom(first); }
    extendTrack();
  }

  // -- operators ---------------------------------------------------------------------------------
  function seenOperators(s) {
    var found = {};
    S.ops.forEach(function (o) { found[o] = true; });
    s.signals.forEach(function (g) { if (g.operator) { found[g.operator] = true; } });
    if (s.full) { s.track.forEach(function (p) { Object.keys(p[3]).forEach(function (o) { if (o !== '*') { found[o] = true; } }); }); }
    var ops = Object.keys(found).sort();
    S.ops = ops;
    if (S.op === null || ops.indexOf(S.op) < 0) { S.op = ops.length ? ops[0] : null; redrawTrack(); }
  }
  function redrawTrack() { clearTrack(); extendTrack(); }
  function chooseOperator(op) {
    if (op === S.op) { return; }
    S.op = op;
    redrawTrack();
    [].forEach.call(document.querySelectorAll('.sig[data-operator]'), function (row) {
      row.classList.toggle('on-map', row.dataset.operator === S.op && S.ops.length > 1);
    });
  }

  // -- targets -----------------------------------------------------------------------------------
  function drawTargets(list) {
    targetLayer.clearLayers();
    targetMarkers = list.map(function (t, i) {
      var m = L.circleMarker([t[1], t[2]], {pane: 'targets', radius: 10, color: '#CC79A7', weight: 5,
                                            fillColor: '#fff', fillOpacity: 1, className: 'target'});
      m.bindTooltip(el('span', null, t[0]), {direction: 'top'});
      m.addTo(targetLayer);
      return m;
    });
    S.targets = list;
    styleTargets();
  }
  function styleTargets() {
    targetMarkers.forEach(function (m, i) {
      var v = !!S.visited[i];
      m.setStyle({fillColor: v ? '#CC79A7' : '#fff', radius: v ? 7 : 10});
      var e = m.getElement && m.getElement();
      if (e) { e.classList.toggle('target-visited', v); }
    });
  }

  // -- the panel ---------------------------------------------------------------------------------
  function fmtDistance(m) {
    if (m < 1000) { return (m < 100 ? Math.round(m) : Math.round(m / 10) * 10) + ' m'; }
    return (m / 1000).toFixed(m < 10000 ? 1 : 0) + ' km';
  }
  function fmtAge(s) {
    if (s === null || s === undefined) { return ''; }
    if (s < 90) { return Math.round(s) + ' s ago'; }
    if (s < 5400) { return Math.round(s / 60) + ' min ago'; }
    return Math.round(s / 3600) + ' h ago';
  }

  function drawSignals(list, counts) {
    var box = $('signals');
    box.textContent = '';
    if (!list.length) {
      box.appendChild(el('div', 'sig', counts.speed ? 'Speed tests only (no signal source)' : 'Waiting for the first sample…'));
      return;
    }
    list.forEach(function (g) {
      var c = CLASSES[g.class] || CLASSES.unknown;
      var row = el('div', 'sig' + (g.age_s > 15 ? ' old' : ''));
      row.dataset.cls = g.class || '';
      if (g.operator) {
        // Tapping an operator's row colours the track by that operator's signal.
        row.dataset.operator = g.operator;
        row.setAttribute('role', 'button');
        row.classList.toggle('on-map', g.operator === S.op && S.ops.length > 1);
        row.addEventListener('click', function () { chooseOperator(g.operator); });
      }
      var chip = el('div', 'chip'); chip.style.background = c.colour; row.appendChild(chip);
      var who = el('div', 'who');
      var failing = !g.operator && g.service === 'unknown';
      who.appendChild(el('div', 'op', g.operator || (failing ? 'Signal source' : 'All SIMs')));
      who.appendChild(el('div', 'cls', failing ? 'not answering' : c.label + (g.age_s > 15 ? ' · ' + fmtAge(g.age_s) : '')));
      if (g.operator && S.ops.length > 1) { who.appendChild(el('div', 'map-note', g.operator === S.op ? 'track on map' : 'tap: show track')); }
      row.appendChild(who);
      var val = el('div', 'val');
      val.appendChild(el('div', 'dbm', g.value || (g.class === 'nosignal' ? 'none' : '–')));
      val.appendChild(el('div', 'tech', g.tech && g.tech !== 'NONE' ? g.tech : (g.service === 'no_service' ? 'no service' : '')));
      row.appendChild(val);
      box.appendChild(row);
    });
  }

  function drawPosition(fix) {
    var pos = $('pos');
    if (!fix || !fix.current) {
      pos.className = 'nofix';
      pos.textContent = 'NO GPS FIX' + (fix ? ' · last ' + fmtAge(fix.age_s) : '');
    } else {
      pos.className = '';
      pos.textContent = 'GPS ' + fix.lat.toFixed(5) + ', ' + fix.lon.toFixed(5) +
        (fix.accuracy_m !== null && fix.accuracy_m !== undefined ? ' ±' + Math.round(fix.accuracy_m) + ' m' : '');
    }
    if (!fix) { return; }
    var here = [fix.lat, fix.lon];
    meMarker.setLatLng(here).addTo(map);
    meMarker.setStyle({dashArray: fix.current ? null : '4 4', color: fix.current ? '#000' : '#777'});
    meAccuracy.setLatLng(here).setRadius(fix.accuracy_m || 1).addTo(map);
    if (!S.centred) { S.centred = true; map.setView(here, 17, {animate: false}); }
    else if (S.follow) { map.panTo(here, {animate: false}); }
  }

  function drawNearest(s) {
    var box = $('target');
    var n = s.nearest;
    if (!s.targets_total && !S.targetsError) { box.hidden = true; map.removeLayer(nearestLine); return; }
    box.hidden = false;
    box.classList.toggle('error', !!S.targetsError);
    var rot = $('arrow-rot');
    if (S.targetsError) {
      $('target-dist').textContent = 'Targets not loaded';
      $('target-name').textContent = S.targetsError;
      rot.style.visibility = 'hidden';
      return;
    }
    if (!n) {
      rot.style.visibility = 'hidden';
      map.removeLayer(nearestLine);
      $('target-dist').textContent = s.targets_visited >= s.targets_total ? 'All ' + s.targets_total + ' targets visited'
                                                                          : 'Targets: waiting for GPS';
      $('target-name').textContent = s.targets_visited + ' of ' + s.targets_total + ' visited';
      return;
    }
    rot.style.visibility = 'visible';
    rot.setAttribute('transform', 'rotate(' + n.bearing_deg + ')');
    var dist = $('target-dist');
    dist.textContent = fmtDistance(n.distance_m) + ' ' + n.direction;
    dist.dataset.distanceM = n.distance_m;
    dist.dataset.bearingDeg = n.bearing_deg;
    $('target-name').textContent = 'Next target: ' + n.name + ' · ' + s.targets_visited + '/' + s.targets_total + ' visited';
    if (s.fix) { nearestLine.setLatLngs([[s.fix.lat, s.fix.lon], [n.lat, n.lon]]).addTo(map); }
  }

  function drawCounts(c) {
    $('counts').textContent = c.signal + ' samples · ' + c.speed + ' speed test' + (c.speed === 1 ? '' : 's') +
      (c.speed_failed ? ' (' + c.speed_failed + ' failed)' : '');
  }

  function drawSpeed(sp) {
    var box = $('speed');
    if (!sp) { box.textContent = ''; return; }
    if (sp.test === 'failed') { box.textContent = 'Last speed test FAILED · ' + fmtAge(sp.age_s); return; }
    var t = 'Last speed test ' + (sp.download_mbps !== null ? sp.download_mbps.toFixed(1) + '\u2193 ' : '') +
      (sp.upload_mbps !== null && sp.upload_mbps !== undefined ? sp.upload_mbps.toFixed(1) + '\u2191 ' : '') +
      'Mbit/s' + (sp.passed ? '' : ' (too slow)') + ' · ' + fmtAge(sp.age_s);
    box.textContent = t;
  }

  function setLive(ok) {
    var live = $('live');
    if (ok) {
      live.className = '';
      live.textContent = 'LIVE ' + new Date().toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit',
                                                                       hour12: false});
    } else {
      live.className = 'stale';
      live.textContent = 'NOT UPDATING' + (S.lastOk ? ' · ' + fmtAge((Date.now() - S.lastOk) / 1000) : '') +
        ' · is surveyor log running?';
    }
  }

  function apply(s) {
    if (s.full) {
      S.targetsError = s.targets_error || null;
      drawTargets(s.targets || []);
      S.visited = {};
    }
    if (s.visited) {
      S.visited = {};
      s.visited.forEach(function (i) { S.visited[i] = true; });
      styleTargets();
    }
    seenOperators(s);
    takePoints(s);
    S.seq = s.seq; S.gen = s.gen; S.fix = s.fix;
    drawSignals(s.signals, s.counts);
    drawPosition(s.fix);
    drawNearest(s);
    drawCounts(s.counts);
    drawSpeed(s.speed);
    if (!S.centred && S.points.length) {
      S.centred = true;
      var b = L.latLngBounds(S.points.map(function (p) { return [p[1], p[2]]; }));
      map.fitBounds(b, {padding: [20, 20], maxZoom: 17});
    }
    document.body.dataset.seq = s.seq;
  }

  // -- polling: at most once a second, only while visible, at once when the page comes back ----
  function schedule(delay) {
    clearTimeout(S.timer);
    S.timer = null;
    if (document.hidden) { return; }
    S.timer = setTimeout(poll, Math.max(0, delay));
  }
  function poll() {
    if (document.hidden || S.inflight) { return; }
    var wait = CFG.poll_ms - (Date.now() - S.lastPoll);
    if (wait > 0) { schedule(wait); return; }
    S.inflight = true;
    S.lastPoll = Date.now();
    var ctl = window.AbortController ? new AbortController() : null;
    var guard = setTimeout(function () { if (ctl) { ctl.abort(); } }, 8000);
    fetch('/api/state?since=' + S.seq + '&gen=' + encodeURIComponent(S.gen),
          {cache: 'no-store', signal: ctl ? ctl.signal : undefined})
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (s) { apply(s); S.failures = 0; S.lastOk = Date.now(); setLive(true); })
      .catch(function () { S.failures += 1; setLive(false); })
      .then(function () {
        clearTimeout(guard);
        S.inflight = false;
        schedule(S.failures ? Math.min(5000, CFG.poll_ms * (1 + S.failures)) : CFG.poll_ms);
      });
  }
  // poll() itself keeps a second between requests, however often these fire.
  function wake() { if (!document.hidden) { poll(); } }
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { clearTimeout(S.timer); S.timer = null; } else { wake(); }
  });
  document.addEventListener('resume', wake);   // a frozen tab (Chrome on Android) thawed
  window.addEventListener('pageshow', wake);   // back from the back-forward cache
  window.addEventListener('online', wake);
  window.addEventListener('focus', wake);
  poll();
})();
