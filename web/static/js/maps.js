/* gridlink maps: grid outlines from /map/grids.json drawn with the vendored Leaflet on a plain
   background (a tile layer only when GRIDLINK_MAP_TILES is set). One script for every map box
   (<div data-map="report|patrol|case|dashboard">); no inline scripts, styles set through the DOM. */
(function () {
  "use strict";
  if (!window.L) { return; }
  var L = window.L;
  var OUTLINE = { color: "#0b6e69", weight: 1, fillColor: "#0b6e69", fillOpacity: 0.06 };
  var grids = null; // the FeatureCollection, fetched once per page

  function words(box) {
    try { return JSON.parse(box.getAttribute("data-text") || "{}"); } catch (e) { return {}; }
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(url + " answered " + response.status); }
        return response.json();
      });
  }

  function loadGrids(box) {
    if (!grids) { grids = getJSON(box.getAttribute("data-grids-url")); }
    return grids;
  }

  function baseMap(box) {
    var tiles = box.getAttribute("data-tiles");
    var map = L.map(box, { zoomSnap: 0.25, attributionControl: !!tiles, scrollWheelZoom: box.getAttribute("data-map") !== "report" });
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
    return map;
  }

  // The odd-ring rule on [lon, lat] rings, as the server decides (workflows/gridindex.py).
  function inRing(ring, lat, lon) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var x1 = ring[i][0], y1 = ring[i][1], x2 = ring[j][0], y2 = ring[j][1];
      if ((y1 > lat) !== (y2 > lat) && lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1)) { inside = !inside; }
    }
    return inside;
  }

  function gridAt(collection, lat, lon) {
    for (var k = 0; k < collection.features.length; k++) {
      var feature = collection.features[k], inside = false;
      feature.geometry.coordinates.forEach(function (ring) { if (inRing(ring, lat, lon)) { inside = !inside; } });
      if (inside) { return feature; }
    }
    return null;
  }

  function failed(box, error) {
    if (window.console) { window.console.error("gridlink map:", error); }
    var note = document.createElement("p");
    note.className = "gl-map-failed";
    note.textContent = words(box).failed || String(error);
    box.replaceChildren(note);
  }

  // Leaflet writes tooltip strings as HTML: names from the database go in as text nodes instead.
  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) { el.className = className; }
    return el;
  }

  // --- picking a point: the residents' report and the grid worker's patrol form --------------
  function pointPicker(box) {
    var t = words(box);
    var lat = document.getElementById(box.getAttribute("data-lat") || "lat");
    var lon = document.getElementById(box.getAttribute("data-lon") || "lon");
    var status = document.getElementById(box.getAttribute("data-status"));
    var nearbyUrl = box.getAttribute("data-nearby-url");
    var map = baseMap(box), marker = null, nearbyLayer = L.layerGroup(), collection = null, pending = null;

    function say(message) { if (status) { status.textContent = message; } }

    function clear() {
      lat.value = ""; lon.value = "";
      if (marker) { map.removeLayer(marker); marker = null; }
      nearbyLayer.clearLayers();
      showNearby(null);
    }

    function choose(pointLat, pointLon, how) {
      if (!collection) { pending = [pointLat, pointLon, how]; return; } // shown once the grids are drawn
      var feature = gridAt(collection, pointLat, pointLon);
      if (!feature && !box.hasAttribute("data-any-point")) {
        clear();
        say(t.outside);
        return;
      }
      lat.value = pointLat.toFixed(6); lon.value = pointLon.toFixed(6);
      if (marker) { marker.setLatLng([pointLat, pointLon]); } else {
        marker = L.circleMarker([pointLat, pointLon], { radius: 8, color: "#b4232a", weight: 3, fillColor: "#fff", fillOpacity: 1, className: "gl-picked" }).addTo(map);
      }
      say((how === "position" ? t.position_found : t.point_chosen) + (feature ? " " + t.grid_is.replace("{name}", feature.properties.name) : ""));
      // from the whole street's outlines, come close enough to check the spot
      if (how !== "kept" && !box.hasAttribute("data-focus") && map.getZoom() < 16) { map.setView([pointLat, pointLon], 17); }
      if (nearbyUrl) { fetchNearby(pointLat, pointLon); }
    }

    function fetchNearby(pointLat, pointLon) {
      var url = nearbyUrl + "?lat=" + encodeURIComponent(pointLat.toFixed(6)) + "&lon=" + encodeURIComponent(pointLon.toFixed(6));
      getJSON(url).then(function (data) {
        nearbyLayer.clearLayers();
        data.reports.forEach(function (r) {
          L.circleMarker([r.lat, r.lon], { radius: 6, color: "#c2410c", weight: 2, fillColor: "#fb923c", fillOpacity: 0.8, className: "gl-nearby-dot" })
            .bindTooltip(text("span", categoryName(r) + " · " + (t.status[r.status] || r.status))).addTo(nearbyLayer);
        });
        showNearby(data.reports);
      }).catch(function () { showNearby(null); });
    }

    function categoryName(r) {
      return document.documentElement.lang.indexOf("zh") === 0 ? r.category_name : (r.category_name_en || r.category_name);
    }

    function age(days) {
      return days === 0 ? t.today : t.days_ago.replace("{n}", String(days));
    }

    function showNearby(reports) {
      var panel = document.getElementById(box.getAttribute("data-nearby-list") || "");
      if (!panel) { return; }
      var list = panel.querySelector("ul"), empty = panel.querySelector("[data-empty]");
      list.replaceChildren();
      panel.hidden = reports === null;
      if (!reports) { return; }
      empty.hidden = reports.length > 0;
      reports.forEach(function (r) {
        var item = document.createElement("li");
        item.setAttribute("data-testid", "nearby-report");
        item.appendChild(text("strong", categoryName(r)));
        item.appendChild(text("span", t.status[r.status] || r.status, "tag status-" + r.status));
        item.appendChild(text("span", age(r.age_days) + (r.grid_name ? " · " + r.grid_name : ""), "muted"));
        list.appendChild(item);
      });
    }

    map.on("click", function (event) { choose(event.latlng.lat, event.latlng.lng, "map"); });
    document.addEventListener("gridlink:position", function (event) {
      choose(event.detail.lat, event.detail.lon, "position");
    });
    var clearButton = document.getElementById(box.getAttribute("data-clear") || "");
    if (clearButton) { clearButton.addEventListener("click", function () { clear(); say(""); }); }

    loadGrids(box).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (feature) { return L.Util.extend({ className: "gl-grid gl-grid-" + feature.id }, OUTLINE); },
        onEachFeature: function (feature, shape) { shape.bindTooltip(text("span", feature.properties.name), { sticky: true }); }
      });
      layer.on("click", function (event) { choose(event.latlng.lat, event.latlng.lng, "map"); });
      var focus = null, code = box.getAttribute("data-focus");
      layer.eachLayer(function (shape) { if (code && shape.feature.id === code) { focus = shape; } });
      if (focus) { map.fitBounds(focus.getBounds().pad(0.5)); }
      else if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [8, 8] }); } else { map.setView([0, 0], 2); }
      layer.addTo(map);
      nearbyLayer.addTo(map);
      collection = data;
      if (pending) { choose(pending[0], pending[1], pending[2]); }
      else if (lat.value && lon.value) { choose(parseFloat(lat.value), parseFloat(lon.value), "kept"); }
      box.setAttribute("data-ready", "1");
    }).catch(function (error) { failed(box, error); });
  }

  // --- the case page: the reported point on its grid --------------------------------------------
  function casePoint(box) {
    var map = baseMap(box);
    var pointLat = parseFloat(box.getAttribute("data-lat")), pointLon = parseFloat(box.getAttribute("data-lon"));
    var code = box.getAttribute("data-grid");
    loadGrids(box).then(function (data) {
      var home = null;
      var layer = L.geoJSON(data, {
        style: function (feature) {
          var look = feature.id === code ? { color: "#0b6e69", weight: 3, fillColor: "#0b6e69", fillOpacity: 0.18 } : OUTLINE;
          return L.Util.extend({ className: "gl-grid gl-grid-" + feature.id + (feature.id === code ? " gl-home" : "") }, look);
        },
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(text("span", feature.properties.name), { sticky: true });
          if (feature.id === code) { home = shape; }
        }
      });
      var hasPoint = !isNaN(pointLat) && !isNaN(pointLon);
      // the view first: Leaflet draws vector layers only on a map that has one
      if (home) {
        var bounds = L.latLngBounds(home.getBounds().getSouthWest(), home.getBounds().getNorthEast());
        if (hasPoint) { bounds.extend([pointLat, pointLon]); }
        map.fitBounds(bounds.pad(0.6));
      } else if (hasPoint) {
        map.setView([pointLat, pointLon], 16);
      } else if (data.features.length) {
        map.fitBounds(layer.getBounds());
      } else {
        map.setView([0, 0], 2);
      }
      layer.addTo(map);
      if (hasPoint) {
        L.circleMarker([pointLat, pointLon], { radius: 8, color: "#b4232a", weight: 3, fillColor: "#fff", fillOpacity: 1, className: "gl-case-point" }).addTo(map);
      }
      box.setAttribute("data-ready", "1");
    }).catch(function (error) { failed(box, error); });
  }

  // --- the command centre: open and overdue cases per grid ("一张图") --------------------------
  var SCALE = ["#1b3a4b", "#fde68a", "#fbbf24", "#f97316", "#dc2626", "#7f1d1d"];

  function shade(open, max) {
    if (!open) { return 0; }
    return Math.min(5, 1 + Math.floor(4 * (open - 1) / Math.max(1, max - 1) + 0.0001));
  }

  function commandMap(box) {
    var t = words(box);
    var map = baseMap(box);
    var casesUrl = box.getAttribute("data-cases-url");
    var countsUrl = box.getAttribute("data-counts-url");
    var shapes = {}, labels = {};
    var layer = null, countLayer = L.layerGroup();

    function paint(counts) {
      var byCode = {};
      counts.grids.forEach(function (g) { byCode[g.code] = g; });
      Object.keys(shapes).forEach(function (code) {
        var shape = shapes[code], g = byCode[code];
        if (!g) { shape.setStyle({ fillOpacity: 0, opacity: 0.15 }); shape.unbindTooltip(); return; }
        var level = shade(g.open, counts.max_open);
        shape.setStyle({ fillColor: SCALE[level], fillOpacity: level ? 0.75 : 0.25, color: g.overdue ? "#ff4d4f" : "#5eead4", weight: g.overdue ? 2 : 0.6, opacity: 0.9 });
        var label = g.name + " · " + t.open + " " + g.open + " · " + t.overdue + " " + g.overdue;
        shape.bindTooltip(text("span", label), { sticky: true });
        var path = shape.getElement && shape.getElement();
        if (path) {
          path.setAttribute("data-open", String(g.open));
          path.setAttribute("data-overdue", String(g.overdue));
          path.setAttribute("aria-label", label);
        }
      });
      countLayer.clearLayers();
      counts.grids.forEach(function (g) {
        if (!g.open || !labels[g.code]) { return; }
        var level = shade(g.open, counts.max_open);
        L.marker(labels[g.code], { interactive: false, keyboard: false,
          icon: L.divIcon({ className: "gl-count" + (level >= 3 ? " hot" : ""), html: String(g.open), iconSize: [24, 18] }) })
          .addTo(countLayer);
      });
      var visible = Object.keys(shapes).filter(function (code) { return byCode[code]; }).map(function (code) { return shapes[code]; });
      if (visible.length && !box.hasAttribute("data-fitted")) {
        map.fitBounds(L.featureGroup(visible).getBounds(), { padding: [6, 6] });
        box.setAttribute("data-fitted", "1");
      }
      var top = document.getElementById(box.getAttribute("data-top-list") || "");
      if (top) {
        top.replaceChildren();
        counts.grids.filter(function (g) { return g.open > 0; })
          .sort(function (a, b) { return b.overdue - a.overdue || b.open - a.open; }).slice(0, 8)
          .forEach(function (g) {
            var item = document.createElement("li"), link = text("a", g.name);
            link.href = casesUrl + "?org_unit=" + encodeURIComponent(g.code) + "&status=open";
            item.appendChild(link);
            item.appendChild(text("span", t.open + " " + g.open + " · " + t.overdue + " " + g.overdue, "cc-dim"));
            top.appendChild(item);
          });
        if (!top.children.length) { top.appendChild(text("li", t.none, "cc-dim")); }
      }
      box.setAttribute("data-painted", "1");
    }

    function refresh() {
      getJSON(countsUrl).then(paint).catch(function () { /* keep the last colours; the next refresh tries again */ });
    }

    loadGrids(box).then(function (data) {
      layer = L.geoJSON(data, {
        style: function (feature) {
          return { color: "#5eead4", weight: 0.6, fillOpacity: 0.25, fillColor: SCALE[0], className: "gl-grid gl-grid-" + feature.id };
        },
        onEachFeature: function (feature, shape) {
          shapes[feature.id] = shape;
          if (feature.properties.label) { labels[feature.id] = feature.properties.label; }
          shape.on("click", function () {
            window.location.href = casesUrl + "?org_unit=" + encodeURIComponent(feature.id) + "&status=open";
          });
        }
      });
      if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [6, 6] }); } else { map.setView([0, 0], 2); }
      layer.addTo(map);
      countLayer.addTo(map);
      refresh();
      var seconds = parseInt(box.getAttribute("data-refresh") || "0", 10);
      if (seconds > 0) { window.setInterval(refresh, Math.max(15, seconds) * 1000); }
    }).catch(function (error) { failed(box, error); });
  }

  var KINDS = { report: pointPicker, patrol: pointPicker, "case": casePoint, dashboard: commandMap };
  document.querySelectorAll("[data-map]").forEach(function (box) {
    var start = KINDS[box.getAttribute("data-map")];
    if (start) { start(box); }
  });
})();
