/* gridlink modeller: bpmn-js + properties panel (with SpiffWorkflow entries) + dmn-js + JSON forms.
 *
 * One bundle of files (BPMN, DMN, JSON form schemas) is edited at a time; each file opens in its
 * editor, one modeler instance per kind, re-imported on every switch. The server validates and
 * deploys; its problems are shown on their elements (marker plus message overlay).
 */
(function () {
  "use strict";

  var SPIFF = "spiffworkflow";
  var boot = JSON.parse(document.getElementById("modeller-bundle").textContent);
  var descriptor = JSON.parse(document.getElementById("spiff-descriptor").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var urls = boot.urls;
  var h = htm.bind(preact.h);
  var messages = boot.messages || {};

  // A translated message from the page, with %(name)s placeholders filled in.
  function t(key, values) {
    return (messages[key] || key).replace(/%\((\w+)\)s/g, function (_, name) {
      return values && values[name] !== undefined ? String(values[name]) : "";
    });
  }

  var state = {
    files: Object.assign({}, boot.bundle.files || {}),
    current: null,
    draftId: boot.bundle.draft_id || null,
    processId: boot.bundle.process_id || null,
    baseVersion: boot.bundle.version || null,
    problems: [],
    importWarnings: {},
    busy: false,
    loading: false,
    dirty: false
  };

  // Unsaved changes: any editor command, JSON typing or import; cleared by saving or deploying.
  function setDirty(value) {
    if (state.loading && value) { return; }
    state.dirty = value;
    document.getElementById("dirty-mark").hidden = !value;
  }

  // ----- SpiffWorkflow properties-panel provider ------------------------------------------
  var KNOWN = {
    "bpmn:UserTask": ["formJsonSchemaFilename", "task_kind", "level", "level_var", "assignee"],
    "bpmn:ManualTask": ["task_kind", "level", "level_var", "assignee"],
    "bpmn:BoundaryEvent": ["timer_kind", "level", "stage"],
    "bpmn:IntermediateCatchEvent": ["timer_kind", "stage"],
    "bpmn:EndEvent": ["outcome"]
  };
  var TASKS = ["bpmn:Task", "bpmn:UserTask", "bpmn:ManualTask", "bpmn:ScriptTask", "bpmn:BusinessRuleTask",
               "bpmn:ServiceTask", "bpmn:CallActivity", "bpmn:SubProcess", "bpmn:SendTask", "bpmn:ReceiveTask"];

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }
  function isAny(bo, types) { return types.some(function (t) { return is(bo, t); }); }

  function extensions(bo, type) {
    var ext = bo.extensionElements;
    return ext ? (ext.get("values") || []).filter(function (v) { return is(v, type); }) : [];
  }

  function SpiffProvider(propertiesPanel, injector) {
    this._injector = injector;
    propertiesPanel.registerProvider(400, this);
  }
  SpiffProvider.$inject = ["propertiesPanel", "injector"];

  SpiffProvider.prototype.getGroups = function (element) {
    var self = this;
    return function (groups) {
      var entries = self.entries(element);
      if (entries.length) {
        groups.push({ id: "gridlink-spiff", label: t("panel_group"), entries: entries });
      }
      return groups;
    };
  };

  SpiffProvider.prototype.entries = function (element) {
    var bo = element.businessObject;
    var svc = {
      modeling: this._injector.get("modeling"),
      moddle: this._injector.get("moddle"),
      injector: this._injector
    };
    var out = [];
    function add(id, label, get, set, multiline) {
      out.push({ id: id, component: TextEntry, element: element, label: label, getValue: get, setValue: set,
                 multiline: !!multiline, isEdited: function () { return !!get(); } });
    }
    if (is(bo, "bpmn:ScriptTask")) {
      add("gl-script", t("panel_script"), function () { return bo.get("script") || ""; },
          function (v) { svc.modeling.updateProperties(element, { scriptFormat: bo.get("scriptFormat") || "python", script: v || undefined }); }, true);
    }
    if (isAny(bo, TASKS)) {
      add("gl-prescript", t("panel_prescript"), bodyGetter(bo, SPIFF + ":PreScript"),
          bodySetter(svc, element, SPIFF + ":PreScript"), true);
      add("gl-postscript", t("panel_postscript"), bodyGetter(bo, SPIFF + ":PostScript"),
          bodySetter(svc, element, SPIFF + ":PostScript"), true);
    }
    if (is(bo, "bpmn:BusinessRuleTask")) {
      add("gl-decision", t("panel_decision"), bodyGetter(bo, SPIFF + ":CalledDecisionId"),
          bodySetter(svc, element, SPIFF + ":CalledDecisionId"), false);
    }
    if (is(bo, "bpmn:CallActivity")) {
      add("gl-called", t("panel_called"), function () { return bo.get("calledElement") || ""; },
          function (v) { svc.modeling.updateProperties(element, { calledElement: v || undefined }); }, false);
    }
    if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef && isAny(bo.sourceRef, ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"])) {
      add("gl-condition", t("panel_condition"), function () {
        return bo.conditionExpression ? (bo.conditionExpression.get("body") || "") : "";
      }, function (v) {
        var expr = v ? svc.moddle.create("bpmn:FormalExpression", { body: v }) : undefined;
        svc.modeling.updateProperties(element, { conditionExpression: expr });
      }, true);
    }
    if (isAny(bo, TASKS) || isAny(bo, ["bpmn:BoundaryEvent", "bpmn:IntermediateCatchEvent", "bpmn:EndEvent", "bpmn:StartEvent"])) {
      var names = [];
      Object.keys(KNOWN).forEach(function (type) { if (is(bo, type)) { names = names.concat(KNOWN[type]); } });
      propertyList(bo).forEach(function (p) { if (names.indexOf(p.get("name")) < 0) { names.push(p.get("name")); } });
      names.forEach(function (name) {
        add("gl-prop-" + name, t("panel_property", { name: name }), function () { var p = findProperty(bo, name); return p ? (p.get("value") || "") : ""; },
            function (v) { setProperty(svc, element, name, v); }, false);
      });
      add("gl-prop-new", t("panel_add_property"), function () { return ""; }, function (v) {
        var at = (v || "").indexOf("=");
        if (at > 0) { setProperty(svc, element, v.slice(0, at).trim(), v.slice(at + 1).trim()); }
      }, false);
    }
    return out;
  };

  function bodyGetter(bo, type) {
    return function () { var found = extensions(bo, type)[0]; return found ? (found.get("value") || "") : ""; };
  }

  function ensureExtensionElements(svc, element) {
    var bo = element.businessObject;
    var ext = bo.get("extensionElements");
    if (!ext) {
      ext = svc.moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      svc.modeling.updateProperties(element, { extensionElements: ext });
    }
    return ext;
  }

  function bodySetter(svc, element, type) {
    return function (value) {
      var bo = element.businessObject;
      var found = extensions(bo, type)[0];
      if (found && value) {
        svc.modeling.updateModdleProperties(element, found, { value: value });
      } else if (found) {
        var ext = bo.extensionElements;
        svc.modeling.updateModdleProperties(element, ext, {
          values: ext.get("values").filter(function (v) { return v !== found; }) });
      } else if (value) {
        var parent = ensureExtensionElements(svc, element);
        var created = svc.moddle.create(type, { value: value });
        created.$parent = parent;
        svc.modeling.updateModdleProperties(element, parent, { values: parent.get("values").concat([created]) });
      }
    };
  }

  function propertyList(bo) {
    var holder = extensions(bo, SPIFF + ":Properties")[0];
    return holder ? (holder.get("properties") || []) : [];
  }

  function findProperty(bo, name) {
    return propertyList(bo).filter(function (p) { return p.get("name") === name; })[0];
  }

  function setProperty(svc, element, name, value) {
    if (!name) { return; }
    var bo = element.businessObject;
    var existing = findProperty(bo, name);
    var holder = extensions(bo, SPIFF + ":Properties")[0];
    if (existing && value) {
      svc.modeling.updateModdleProperties(element, existing, { value: value });
    } else if (existing) {
      svc.modeling.updateModdleProperties(element, holder, {
        properties: holder.get("properties").filter(function (p) { return p !== existing; }) });
    } else if (value) {
      if (!holder) {
        var parent = ensureExtensionElements(svc, element);
        holder = svc.moddle.create(SPIFF + ":Properties", { properties: [] });
        holder.$parent = parent;
        svc.modeling.updateModdleProperties(element, parent, { values: parent.get("values").concat([holder]) });
      }
      var property = svc.moddle.create(SPIFF + ":Property", { name: name, value: value });
      property.$parent = holder;
      svc.modeling.updateModdleProperties(element, holder, { properties: holder.get("properties").concat([property]) });
    }
  }

  // An entry rendered by the panel's own preact. No hooks: the DOM value is written only when
  // the model value differs from what was last written, so a re-render never eats typing.
  function TextEntry(props) {
    var value = props.getValue();
    function sync(el) {
      if (el && el.__glModel !== value) { el.value = value; el.__glModel = value; }
    }
    function commit(event) {
      var next = event.target.value;
      if (next !== props.getValue()) { event.target.__glModel = next; props.setValue(next); }
    }
    var input = props.multiline
      ? h`<textarea id=${"bio-properties-panel-" + props.id} name=${props.id} class="bio-properties-panel-input gl-code"
            rows="4" spellcheck="false" ref=${sync} onChange=${commit}></textarea>`
      : h`<input id=${"bio-properties-panel-" + props.id} name=${props.id} type="text" spellcheck="false"
            class="bio-properties-panel-input" ref=${sync} onChange=${commit} />`;
    return h`<div class="bio-properties-panel-entry" data-entry-id=${props.id}>
      <label for=${"bio-properties-panel-" + props.id} class="bio-properties-panel-label">${props.label}</label>
      ${input}</div>`;
  }

  // ----- the editors' own wording in the page's language ------------------------------------
  // bpmn-js, its properties panel and dmn-js word every label through a `translate` service;
  // this one looks the English template up in translate-zh.js when the page is Chinese.
  var lang = (document.documentElement.lang || "en").slice(0, 2);
  var dictionary = (window.GridlinkModellerTranslations || {})[lang] || {};

  function translate(template, replacements) {
    var text = Object.prototype.hasOwnProperty.call(dictionary, template) ? dictionary[template] : template;
    return text.replace(/{([^}]+)}/g, function (whole, key) {
      return replacements && replacements[key] !== undefined ? String(replacements[key]) : whole;
    });
  }
  var translateModule = { translate: ["value", translate] };
  var dmnViewer = { additionalModules: [translateModule] };

  // ----- editors ----------------------------------------------------------------------------
  var P = window.BpmnJSPropertiesPanel;
  var bpmnModeler = new BpmnJS({
    container: "#bpmn-canvas",
    propertiesPanel: { parent: "#bpmn-properties" },
    additionalModules: [translateModule, P.BpmnPropertiesPanelModule, P.BpmnPropertiesProviderModule,
                        { __init__: ["glSpiffProvider"], glSpiffProvider: ["type", SpiffProvider] }],
    moddleExtensions: { spiffworkflow: descriptor }
  });
  var dmnModeler = new DmnJS({ container: "#dmn-canvas", drd: dmnViewer, decisionTable: dmnViewer,
                               literalExpression: dmnViewer, boxedExpression: dmnViewer });
  bpmnModeler.on("commandStack.changed", function () { setDirty(true); });
  dmnModeler.on("views.changed", function () {
    var viewer = dmnModeler.getActiveViewer();
    if (viewer && !viewer.__glWatched) {
      viewer.__glWatched = true;
      viewer.on("commandStack.changed", function () { setDirty(true); });
    }
  });

  function kindOf(name) {
    var lower = (name || "").toLowerCase();
    if (lower.slice(-5) === ".bpmn") { return "bpmn"; }
    if (lower.slice(-4) === ".dmn") { return "dmn"; }
    if (lower.slice(-5) === ".json") { return "json"; }
    return null;
  }

  function show(kind) {
    document.getElementById("bpmn-editor").hidden = kind !== "bpmn";
    document.getElementById("dmn-editor").hidden = kind !== "dmn";
    document.getElementById("json-editor").hidden = kind !== "json";
  }

  // Write the open editor's content back into state.files.
  function syncCurrent() {
    var name = state.current;
    if (!name) { return Promise.resolve(); }
    var kind = kindOf(name);
    if (kind === "json") {
      state.files[name] = document.getElementById("json-text").value;
      return Promise.resolve();
    }
    var modeler = kind === "bpmn" ? bpmnModeler : dmnModeler;
    return modeler.saveXML({ format: true }).then(function (result) { state.files[name] = result.xml; });
  }

  function openFile(name) {
    return syncCurrent().then(function () { return load(name); });
  }

  function load(name) {
    state.loading = true;
    state.current = name;
    var kind = kindOf(name);
    renderTabs();
    show(kind);
    var text = state.files[name];
    if (kind === "json") {
      document.getElementById("json-text").value = text;
      document.getElementById("json-name").textContent = name;
      state.loading = false;
      return Promise.resolve({ warnings: [] });
    }
    var modeler = kind === "bpmn" ? bpmnModeler : dmnModeler;
    return modeler.importXML(text).then(function (result) {
      var warnings = (result.warnings || []).map(function (w) { return w.message || String(w); });
      state.importWarnings[name] = warnings;
      if (kind === "bpmn") {
        bpmnModeler.get("canvas").zoom("fit-viewport", "auto");
      } else {
        var table = dmnModeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
        if (table) { return dmnModeler.open(table).then(function () { return warnings; }); }
      }
      return warnings;
    }).then(function (warnings) {
      state.loading = false;
      renderWarnings(name, warnings || []);
      markProblems();
      return { warnings: warnings || [] };
    }).catch(function (err) {
      state.loading = false;
      state.importWarnings[name] = [String(err.message || err)];
      renderWarnings(name, state.importWarnings[name]);
      status("error", t("open_failed", { name: name, error: String(err.message || err) }));
      return { warnings: state.importWarnings[name], error: String(err.message || err) };
    });
  }

  // ----- tabs, status, problems -------------------------------------------------------------
  function renderTabs() {
    var tabs = document.getElementById("file-tabs");
    tabs.innerHTML = "";
    Object.keys(state.files).sort(function (a, b) {
      return order(a) - order(b) || a.localeCompare(b);
    }).forEach(function (name) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = name;
      button.setAttribute("data-file", name);
      var count = state.problems.filter(function (p) { return p.file === name; }).length;
      if (count) { button.classList.add("has-problems"); button.title = count + " problem(s)"; }
      if (name === state.current) { button.classList.add("active"); }
      button.addEventListener("click", function () { openFile(name); });
      tabs.appendChild(button);
    });
  }

  function order(name) {
    if (name === boot.bundle.main) { return 0; }
    return { bpmn: 1, dmn: 2, json: 3 }[kindOf(name)] || 4;
  }

  function status(kind, text) {
    var box = document.getElementById("modeller-status");
    box.className = "flash flash-" + kind;
    box.textContent = text;
    box.hidden = false;
  }

  function renderWarnings(name, warnings) {
    var box = document.getElementById("import-warnings");
    box.hidden = !warnings.length;
    box.textContent = warnings.length ? t("warnings", { name: name, n: warnings.length, list: warnings.join(" | ") }) : "";
  }

  function clearMarks() {
    var canvas = bpmnModeler.get("canvas");
    bpmnModeler.get("overlays").remove({ type: "gl-error" });
    bpmnModeler.get("elementRegistry").getAll().forEach(function (el) { canvas.removeMarker(el.id, "gl-error"); });
    document.querySelectorAll("#dmn-canvas .gl-error-cell").forEach(function (el) { el.classList.remove("gl-error-cell"); });
  }

  // Put each problem of the open file on its element; a flow that could not be drawn (its target
  // is missing) is shown on its source element.
  function markProblems() {
    clearMarks();
    var name = state.current;
    var mine = state.problems.filter(function (p) { return p.file === name && p.element_id; });
    if (kindOf(name) === "bpmn") {
      var registry = bpmnModeler.get("elementRegistry");
      var byShape = {};
      mine.forEach(function (p) {
        var target = registry.get(p.element_id) || drawnOwnerOf(p.element_id);
        if (!target) { return; }
        (byShape[target.id] = byShape[target.id] || []).push(p);
      });
      Object.keys(byShape).forEach(function (id) {
        bpmnModeler.get("canvas").addMarker(id, "gl-error");
        var html = document.createElement("div");
        html.className = "gl-error-note";
        html.setAttribute("data-element", id);
        byShape[id].forEach(function (p) {
          var line = document.createElement("div");
          line.textContent = (p.element_id !== id ? p.element_id + ": " : "") + p.message;
          html.appendChild(line);
        });
        bpmnModeler.get("overlays").add(id, "gl-error", { position: { bottom: -6, left: 0 }, html: html });
      });
    } else if (kindOf(name) === "dmn") {
      mine.forEach(function (p) {
        document.querySelectorAll('#dmn-canvas [data-element-id="' + cssEscape(p.element_id) + '"]').forEach(function (el) {
          el.classList.add("gl-error-cell");
          el.title = p.message;
        });
      });
    }
  }

  function cssEscape(value) { return window.CSS && CSS.escape ? CSS.escape(value) : value; }

  // The drawn element a problem belongs to: the element itself, else the nearest drawn ancestor of
  // the semantic object (a timer definition -> its event), or the source of a flow that could not
  // be drawn (its target is missing).
  function drawnOwnerOf(id) {
    var registry = bpmnModeler.get("elementRegistry");
    var found = null;
    (function walk(node) {
      if (!node || found || typeof node !== "object") { return; }
      if (node.id === id) { found = node; return; }
      ["rootElements", "flowElements", "eventDefinitions", "artifacts", "laneSets", "lanes", "participants"]
        .forEach(function (key) { (node[key] || []).forEach(walk); });
    })(bpmnModeler.getDefinitions());
    if (!found) { return null; }
    if (is(found, "bpmn:SequenceFlow") && found.sourceRef && !registry.get(found.id)) {
      return registry.get(found.sourceRef.id) || null;
    }
    for (var node = found; node; node = node.$parent) {
      if (node.id && registry.get(node.id)) { return registry.get(node.id); }
    }
    return null;
  }

  function renderProblems() {
    var list = document.getElementById("problem-list");
    list.innerHTML = "";
    state.problems.forEach(function (p) {
      var item = document.createElement("li");
      item.setAttribute("data-element", p.element_id || "");
      item.setAttribute("data-file", p.file || "");
      var where = [p.file, p.element_id, p.line ? "line " + p.line : null].filter(Boolean).join(" · ");
      item.textContent = (where ? where + ": " : "") + p.message;
      item.addEventListener("click", function () {
        var go = p.file && p.file !== state.current && state.files[p.file] ? openFile(p.file) : Promise.resolve();
        go.then(function () {
          var el = p.element_id && kindOf(state.current) === "bpmn" && bpmnModeler.get("elementRegistry").get(p.element_id);
          if (el) { bpmnModeler.get("selection").select(el); bpmnModeler.get("canvas").scrollToElement(el); }
        });
      });
      list.appendChild(item);
    });
    document.getElementById("problems").hidden = !state.problems.length;
    renderTabs();
  }

  // ----- server calls -----------------------------------------------------------------------
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function errorText(answer) {
    var e = answer.data && answer.data.error;
    return e ? e.message : t("server", { status: answer.status });
  }

  function withBusy(label, work) {
    if (state.busy) { return Promise.resolve(); }
    state.busy = true;
    document.body.classList.add("gl-busy");
    status("info", label);
    return work().finally(function () { state.busy = false; document.body.classList.remove("gl-busy"); });
  }

  function validate() {
    return withBusy(t("validating"), function () {
      return syncCurrent().then(function () { return post(urls.validate, { files: state.files }); }).then(function (answer) {
        if (!answer.ok) { status("error", errorText(answer)); return answer; }
        state.problems = answer.data.problems || [];
        renderProblems();
        markProblems();
        if (state.problems.length) {
          status("error", t("invalid", { n: state.problems.length }));
        } else {
          status("success", t("valid"));
        }
        return answer;
      });
    });
  }

  function saveDraft() {
    return withBusy(t("saving"), function () {
      return syncCurrent().then(function () {
        return post(urls.drafts, { files: state.files, draft_id: state.draftId, process_id: state.processId,
                                   base_version: state.baseVersion, title: document.getElementById("draft-title").value });
      }).then(function (answer) {
        if (!answer.ok) { status("error", errorText(answer)); return answer; }
        state.draftId = answer.data.draft.id;
        setDirty(false);
        history.replaceState(null, "", urls.modeller + "?draft=" + state.draftId);
        status("success", t("saved", { id: state.draftId, time: new Date().toLocaleTimeString() }));
        return answer;
      });
    });
  }

  function deploy() {
    return withBusy(t("deploying"), function () {
      return syncCurrent().then(function () {
        return post(urls.deploy, { files: state.files, draft_id: state.draftId });
      }).then(function (answer) {
        if (answer.status === 422 && answer.data.problems) {
          state.problems = answer.data.problems;
          renderProblems();
          markProblems();
          status("error", t("not_deployed", { n: state.problems.length }));
          return answer;
        }
        if (!answer.ok) { status("error", errorText(answer)); return answer; }
        state.problems = [];
        renderProblems();
        markProblems();
        setDirty(false);
        var created = answer.data.versions.filter(function (v) { return v.created; });
        var box = document.getElementById("deployed");
        box.hidden = false;
        box.innerHTML = "";
        if (!created.length) {
          status("warning", t("unchanged"));
        } else {
          status("success", t("deployed", { versions: created.map(function (v) { return v.process_id + " v" + v.version; }).join(", ") }));
          created.forEach(function (v) {
            var a = document.createElement("a");
            a.href = urls.process.replace("__ID__", encodeURIComponent(v.process_id));
            a.textContent = v.process_id + " v" + v.version;
            a.setAttribute("data-deployed", v.process_id + ":" + v.version);
            box.appendChild(a);
            box.appendChild(document.createTextNode(" "));
          });
          state.draftId = null;
          var mine = created.filter(function (v) { return v.process_id === state.processId; })[0];
          if (mine) { state.baseVersion = mine.version; }
        }
        return answer;
      });
    });
  }

  function importFiles(fileList) {
    var reads = Array.prototype.map.call(fileList, function (file) {
      return file.text().then(function (text) { return { name: file.name, text: text }; });
    });
    return Promise.all(reads).then(function (items) {
      var bad = items.filter(function (i) { return !kindOf(i.name); });
      if (bad.length) { status("error", t("bad_files", { names: bad.map(function (i) { return i.name; }).join(", ") })); }
      var good = items.filter(function (i) { return kindOf(i.name); });
      return syncCurrent().then(function () {
        good.forEach(function (i) { state.files[i.name] = i.text; });
        if (good.length) { setDirty(true); }
        if (good.length) {
          var first = good.filter(function (i) { return kindOf(i.name) !== "json"; })[0] || good[0];
          if (!state.processId && kindOf(first.name) === "bpmn") {
            var match = /<(?:\w+:)?process\b[^>]*\bid="([^"]+)"/.exec(first.text);
            state.processId = match ? match[1] : null;
          }
          return load(first.name).then(function (result) {
            status(result.warnings.length ? "warning" : "success", t("imported", { names: good.map(function (i) { return i.name; }).join(", ") }));
            return result;
          });
        }
      });
    });
  }

  function download() {
    return syncCurrent().then(function () {
      var name = state.current;
      var blob = new Blob([state.files[name]], { type: kindOf(name) === "json" ? "application/json" : "application/xml" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  function newDiagram() {
    var id = "process_" + Math.random().toString(36).slice(2, 8);
    var name = id + ".bpmn";
    state.files[name] = '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
      'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ' +
      'id="' + id + '_definitions" targetNamespace="http://gridlink.example/bpmn">\n' +
      '  <bpmn:process id="' + id + '" isExecutable="true"><bpmn:startEvent id="start" /></bpmn:process>\n' +
      '  <bpmndi:BPMNDiagram id="' + id + '_diagram"><bpmndi:BPMNPlane id="' + id + '_plane" bpmnElement="' + id + '">' +
      '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36" /></bpmndi:BPMNShape>' +
      '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';
    state.processId = state.processId || id;
    return syncCurrent().then(function () { return load(name); }).then(function (result) {
      setDirty(true);
      return result;
    });
  }

  // ----- wiring -------------------------------------------------------------------------------
  document.getElementById("btn-validate").addEventListener("click", validate);
  document.getElementById("btn-save").addEventListener("click", saveDraft);
  document.getElementById("btn-deploy").addEventListener("click", deploy);
  document.getElementById("btn-download").addEventListener("click", download);
  document.getElementById("btn-new").addEventListener("click", newDiagram);
  document.getElementById("file-input").addEventListener("change", function (event) {
    importFiles(event.target.files).then(function () { event.target.value = ""; });
  });
  document.getElementById("json-text").addEventListener("input", function () { setDirty(true); });
  window.addEventListener("beforeunload", function (event) {
    if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
  });

  var first = boot.bundle.main || Object.keys(state.files).sort(function (a, b) { return order(a) - order(b); })[0];
  var ready = first ? load(first) : newDiagram().then(function (result) { setDirty(false); return result; });

  // A small API for tests and power users (the browser console).
  window.gridlinkModeller = {
    ready: ready,
    state: state,
    bpmn: bpmnModeler,
    dmn: dmnModeler,
    open: openFile,
    validate: validate,
    saveDraft: saveDraft,
    deploy: deploy,
    importFiles: importFiles,
    exportAll: function () {
      var names = Object.keys(state.files).filter(function (n) { return kindOf(n) !== "json"; });
      var start = state.current;
      var chain = Promise.resolve();
      var out = {};
      names.forEach(function (name) {
        chain = chain.then(function () { return openFile(name); }).then(function (r) {
          return syncCurrent().then(function () { out[name] = { xml: state.files[name], warnings: r.warnings }; });
        });
      });
      return chain.then(function () { return start ? openFile(start) : null; }).then(function () { return out; });
    }
  };
})();
