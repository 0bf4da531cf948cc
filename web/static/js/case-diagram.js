/* The case's process in the bpmn-js navigated viewer: completed elements green, current tasks
   orange with their deadline as an overlay. One tab per BPMN file of the process version. */
(function () {
  "use strict";
  var dataNode = document.getElementById("diagram-data");
  var container = document.getElementById("diagram");
  if (!dataNode || !container || !window.BpmnJS) { return; }
  var state = JSON.parse(dataNode.textContent);
  var text = JSON.parse(document.getElementById("diagram-text").textContent);
  var tabs = document.getElementById("diagram-tabs");
  var viewer = new window.BpmnJS({ container: container });
  var visited = {};
  state.visited.forEach(function (id) { visited[id] = true; });

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localTime(iso) {
    // China Standard Time (UTC+8), whatever the browser's zone.
    var d = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function addDeadline(overlays, elementId, task) {
    if (!task || !task.due_at) { return; }
    var badge = document.createElement("div");
    badge.className = "gl-deadline" + (task.overdue ? " overdue" : "");
    badge.textContent = (task.overdue ? text.overdue : text.due) + " " + localTime(task.due_at);
    overlays.add(elementId, { position: { top: -24, left: 0 }, html: badge });
  }

  function decorate() {
    var registry = viewer.get("elementRegistry");
    var canvas = viewer.get("canvas");
    var overlays = viewer.get("overlays");
    var focus = [];
    registry.getAll().forEach(function (element) {
      if (element.type === "label") { return; }
      var bo = element.businessObject || {};
      if (visited[element.id]) { canvas.addMarker(element.id, "gl-done"); }
      // A flow between two completed elements was taken.
      if (bo.sourceRef && bo.targetRef && visited[bo.sourceRef.id] && visited[bo.targetRef.id]) {
        canvas.addMarker(element.id, "gl-done");
      }
      // A call activity whose called process has a current task is where the case now is.
      if (element.type === "bpmn:CallActivity" && busyProcesses[bo.calledElement]) {
        canvas.addMarker(element.id, "gl-current");
        addDeadline(overlays, element.id, busyProcesses[bo.calledElement]);
        focus.push(element);
      }
    });
    state.current.forEach(function (task) {
      var element = registry.get(task.element_id);
      if (!element) { return; }
      canvas.addMarker(task.element_id, "gl-current");
      focus.unshift(element);
      addDeadline(overlays, task.element_id, task);
    });
    var first = focus[0];
    canvas.zoom("fit-viewport");
    if (first) {
      var box = canvas.viewbox();
      if (box.scale < 0.55) {
        canvas.zoom(0.8, { x: first.x + first.width / 2, y: first.y + first.height / 2 });
        var vb = canvas.viewbox();
        canvas.viewbox({ x: first.x + first.width / 2 - vb.width / 2, y: first.y + first.height / 2 - vb.height / 2,
                         width: vb.width, height: vb.height });
      }
    }
  }

  function show(index) {
    Array.prototype.forEach.call(tabs.children, function (b, i) { b.classList.toggle("active", i === index); });
    viewer.importXML(state.files[index].xml).then(decorate).catch(function () {
      container.textContent = text.failed;
    });
  }

  function hasCurrent(xml) {
    return state.current.some(function (t) { return xml.indexOf('id="' + t.element_id + '"') >= 0; });
  }

  // Process id -> its current task due first (for the call activities that run it).
  var busyProcesses = {};
  state.files.forEach(function (file) {
    var tasks = state.current.filter(function (t) { return file.xml.indexOf('id="' + t.element_id + '"') >= 0; });
    if (!tasks.length) { return; }
    var soonest = tasks.filter(function (t) { return t.due_at; })
      .sort(function (a, b) { return a.due_at < b.due_at ? -1 : 1; })[0] || tasks[0];
    var pattern = /<(?:bpmn2?:)?process\b[^>]*\bid="([^"]+)"/g;
    var match;
    while ((match = pattern.exec(file.xml)) !== null) { busyProcesses[match[1]] = soonest; }
  });

  // The name the diagram gives its process (e.g. 工单处置闭环), shown on its tab instead of the file's code.
  function processName(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    var found = doc.getElementsByTagNameNS("http://www.omg.org/spec/BPMN/20100524/MODEL", "process")[0];
    return found ? (found.getAttribute("name") || "").trim() : "";
  }

  var start = 0;
  state.files.forEach(function (file, index) {
    var button = document.createElement("button");
    button.type = "button";
    var code = file.name.replace(/\.bpmn$/, "");
    button.textContent = (processName(file.xml) || code) + (hasCurrent(file.xml) ? " •" : "");
    button.title = code;
    button.addEventListener("click", function () { show(index); });
    tabs.appendChild(button);
  });
  show(start);  // the case's own process; the call activity holding the current task is marked
})();
