/* The command centre's big screen: charts (echarts) and a refresh from /dashboard/data.json without
   reloading the page. Every value is written with textContent (never as HTML). */
(function () {
  "use strict";
  var root = document.getElementById("command-centre");
  if (!root) { return; }
  var T = JSON.parse(document.getElementById("cc-text").textContent);
  var LEVELS = ["grid", "community", "workstation", "subcentre", "district"];
  var COLORS = ["#3fd0ff", "#38e08c", "#ffc94d", "#ff8a4c", "#ff5a5f"];
  var AXIS = { axisLine: { lineStyle: { color: "#2c4f86" } }, axisLabel: { color: "#a9bedf", fontSize: 14 },
               splitLine: { lineStyle: { color: "rgba(44,79,134,.35)" } } };
  var charts = {};
  var state = { data: null, timer: null, failures: 0 };

  function levelName(level) { return T["level_" + level] || level; }
  function pct(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }
  function late(hours) {
    return hours >= 48 ? (hours / 24).toFixed(1) + " " + T.days_unit : hours + " " + T.hours_unit;
  }
  function show(value) { return value === null || value === undefined ? "—" : String(value); }

  function lookup(data, path) {
    return path.split(".").reduce(function (obj, key) { return obj == null ? undefined : obj[key]; }, data);
  }

  function chart(id) {
    if (!window.echarts) { return null; }
    if (!charts[id]) {
      var el = document.getElementById(id);
      if (!el) { return null; }
      charts[id] = window.echarts.init(el, null, { renderer: "canvas" });
    }
    return charts[id];
  }

  function setText(el, text) {
    if (el.textContent !== text) {
      el.textContent = text;
      el.classList.remove("flash-updated");
      void el.offsetWidth;  // restart the animation
      el.classList.add("flash-updated");
    }
  }

  function renderFields(data) {
    var extra = {
      scope_name: data.scope ? data.scope.name : T.whole,
      period_label: T["period_" + data.period.key] || data.period.label,
      period_range: data.period.first_day + " — " + data.period.last_day,
      updated: data.generated_local
    };
    root.querySelectorAll("[data-k]").forEach(function (el) {
      var key = el.getAttribute("data-k");
      var value = key in extra ? extra[key] : lookup(data, key);
      setText(el, el.getAttribute("data-fmt") === "pct" ? pct(value) : show(value));
    });
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function emptyRow(body, span) {
    var tr = document.createElement("tr");
    var td = cell(tr, T.none, "cc-dim");
    td.colSpan = span;
    body.appendChild(tr);
  }

  function renderOverdue(rows) {
    var body = document.getElementById("overdue-rows");
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var first = cell(tr, "");
      var link = document.createElement("a");
      link.href = "/cases/" + encodeURIComponent(row.number);
      link.textContent = row.number;
      var title = document.createElement("div");
      title.className = "cc-dim small";
      title.textContent = row.title;
      first.appendChild(link);
      first.appendChild(title);
      cell(tr, row.category);
      cell(tr, row.org_unit);
      cell(tr, late(row.overdue_hours), "r hot");
      body.appendChild(tr);
    });
    if (!rows.length) { emptyRow(body, 4); }
  }

  function renderDepartments(rows) {
    var body = document.getElementById("department-rows");
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cell(tr, row.name);
      cell(tr, String(row.dispatched), "r");
      cell(tr, pct(row.handling_rate), "r");
      cell(tr, pct(row.handling_on_time_rate), "r");
      cell(tr, show(row.score), "r");
      var badge = document.createElement("span");
      badge.className = "grade grade-" + (row.grade || "none");
      badge.textContent = row.grade || "—";
      cell(tr, "").appendChild(badge);
      body.appendChild(tr);
    });
    if (!rows.length) { emptyRow(body, 6); }
  }

  function renderList(id, rows) {
    var list = document.getElementById(id);
    list.textContent = "";
    rows.forEach(function (row) {
      var li = document.createElement("li");
      var name = document.createElement("span");
      name.textContent = row.name;
      var score = document.createElement("b");
      score.textContent = show(row.score);
      li.appendChild(name);
      li.appendChild(score);
      list.appendChild(li);
    });
    if (!rows.length) {
      var li = document.createElement("li");
      li.className = "cc-dim";
      li.textContent = T.none;
      list.appendChild(li);
    }
  }

  function renderCharts(data) {
    var levels = chart("chart-levels");
    if (levels) {
      levels.setOption({
        animationDuration: 600, animationDurationUpdate: 300, grid: { left: 48, right: 16, top: 24, bottom: 32 },
        tooltip: { trigger: "axis" },
        xAxis: Object.assign({ type: "category", data: LEVELS.map(levelName) }, AXIS),
        yAxis: Object.assign({ type: "value", minInterval: 1 }, AXIS),
        series: [{ type: "bar", barWidth: "55%", label: { show: true, position: "top", color: "#fff", fontSize: 16 },
                   data: LEVELS.map(function (lv, i) {
                     return { value: data.live.by_level[lv] || 0, itemStyle: { color: COLORS[i], borderRadius: [4, 4, 0, 0] } };
                   }) }]
      });
    }
    var days = chart("chart-days");
    if (days) {
      days.setOption({
        animationDuration: 600, grid: { left: 52, right: 16, top: 36, bottom: 32 },
        tooltip: { trigger: "axis" },
        legend: { top: 0, textStyle: { color: "#cfe0fa", fontSize: 14 }, data: [T.received_series, T.closed_series] },
        xAxis: Object.assign({ type: "category", data: data.per_day.map(function (d) { return d.day.slice(5); }) }, AXIS),
        yAxis: Object.assign({ type: "value", minInterval: 1 }, AXIS),
        series: [
          { name: T.received_series, type: "line", smooth: false, symbolSize: 6, lineStyle: { width: 3, color: "#3fd0ff" },
            itemStyle: { color: "#3fd0ff" }, areaStyle: { color: "rgba(63,208,255,.15)" },
            data: data.per_day.map(function (d) { return d.received; }) },
          { name: T.closed_series, type: "bar", barWidth: "45%", itemStyle: { color: "#38e08c" },
            data: data.per_day.map(function (d) { return d.closed; }) }
        ]
      });
    }
    var closed = chart("chart-closed-levels");
    if (closed) {
      closed.setOption({
        animationDuration: 600, tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        title: { text: pct(data.metrics.closed_share_by_level.grid), subtext: T.grid_share, left: "center", top: "38%",
                 textStyle: { color: "#ffc94d", fontSize: 26, fontWeight: 700 }, subtextStyle: { color: "#a9bedf", fontSize: 13 } },
        series: [{ type: "pie", radius: ["48%", "72%"], center: ["50%", "50%"], avoidLabelOverlap: true,
                   label: { color: "#dce7f7", fontSize: 14, formatter: "{b}\n{d}%" },
                   itemStyle: { borderColor: "#0b1a38", borderWidth: 2 },
                   data: LEVELS.map(function (lv, i) {
                     return { name: levelName(lv), value: data.metrics.closed_by_level[lv] || 0, itemStyle: { color: COLORS[i] } };
                   }).filter(function (d) { return d.value > 0; }) }]
      }, true);
    }
    var cats = chart("chart-categories");
    if (cats) {
      var top = data.top_categories.slice().reverse();
      cats.setOption({
        animationDuration: 600, animationDurationUpdate: 300, grid: { left: 150, right: 40, top: 4, bottom: 4 },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: Object.assign({ type: "value", minInterval: 1 }, AXIS, { axisLabel: { show: false } }),
        yAxis: Object.assign({ type: "category", data: top.map(function (c) { return c.name; }) }, AXIS,
                             { axisLabel: { color: "#cfe0fa", fontSize: 13, interval: 0 } }),
        series: [{ type: "bar", barWidth: "60%", label: { show: true, position: "right", color: "#fff", fontSize: 14 },
                   itemStyle: { color: "#ffc94d", borderRadius: [0, 4, 4, 0] },
                   data: top.map(function (c) { return c.received; }) }]
      });
    }
  }

  function render(data) {
    state.data = data;
    renderFields(data);
    renderOverdue(data.overdue);
    renderDepartments(data.departments);
    renderList("red-rows", data.red_black.red);
    renderList("black-rows", data.red_black.black);
    renderCharts(data);
    root.setAttribute("data-generated", data.generated_at);
  }

  function url() {
    var params = new URLSearchParams();
    if (root.dataset.unit) { params.set("unit", root.dataset.unit); }
    params.set("period", root.dataset.period || "month");
    return root.dataset.endpoint + "?" + params.toString();
  }

  function refresh() {
    return fetch(url(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) { state.failures = 0; root.classList.remove("stale"); render(data); return data; })
      .catch(function () { state.failures += 1; root.classList.add("stale"); });
  }

  function schedule() {
    var seconds = Math.max(2, parseInt(root.dataset.refresh, 10) || 15);
    state.timer = window.setInterval(function () {
      if (!document.hidden) { refresh(); }
    }, seconds * 1000);
  }

  render(JSON.parse(document.getElementById("cc-initial").textContent));
  schedule();
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });
  window.gridlinkDashboard = { refresh: refresh, state: state };
})();
