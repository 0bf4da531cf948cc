/* gridlink: small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // A page answering a POST (a refused form, shown with what was typed and the errors): turn its
  // history entry into a plain GET of the same address, so reload and the back button never ask to
  // send the form again (post/redirect/get for the pages that must keep the typed values).
  if (document.body.hasAttribute("data-post-answer") && window.history.replaceState) {
    window.history.replaceState(window.history.state, "", window.location.href);
  }

  // "Go back" links: the previous page when there is one (the link's own address otherwise).
  document.querySelectorAll("a[data-history-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
    });
  });

  // Task forms: show only the fields of the chosen decision.
  function syncDecision(form) {
    var chosen = form.querySelector("input[name=decision]:checked, select[name=decision]");
    var value = chosen ? chosen.value : "";
    form.querySelectorAll("[data-decision]").forEach(function (part) {
      var wanted = part.getAttribute("data-decision").split(" ");
      var show = wanted.indexOf(value) >= 0;
      part.hidden = !show;
      part.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
    });
  }
  document.querySelectorAll("form[data-decisions]").forEach(function (form) {
    form.addEventListener("change", function (event) {
      if (event.target.name === "decision") { syncDecision(form); }
    });
    syncDecision(form);
  });

  // Repeated groups (meeting actions): add one more row from the template.
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    button.addEventListener("click", function () {
      var list = document.getElementById(button.getAttribute("data-add-row"));
      var template = document.getElementById(button.getAttribute("data-template"));
      if (!list || !template) { return; }
      var index = list.querySelectorAll("[data-row]").length;
      var html = template.innerHTML.replace(/__INDEX__/g, String(index)).replace(/__NUMBER__/g, String(index + 1));
      list.insertAdjacentHTML("beforeend", html);
    });
  });

  // Parts shown only while a checkbox is ticked (the self-close result on the patrol form).
  document.querySelectorAll("[data-show-if]").forEach(function (part) {
    var box = document.getElementById(part.getAttribute("data-show-if"));
    if (!box) { return; }
    var sync = function () { part.hidden = !box.checked; };
    box.addEventListener("change", sync);
    sync();
  });

  // Confirm irreversible actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Residents' report and patrol: fill the position from the phone (the server finds the grid from it).
  var locate = document.getElementById("locate");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      var status = document.getElementById("locate-status");
      var lat = document.getElementById("lat"), lon = document.getElementById("lon");
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        status.textContent = locate.getAttribute("data-found");
        // a map on the page (js/maps.js) checks the point against the grids and shows reports nearby
        document.dispatchEvent(new CustomEvent("gridlink:position",
          { detail: { lat: pos.coords.latitude, lon: pos.coords.longitude } }));
      }, function () {
        // no position: no stale point may stay behind to block the grid or address typed instead
        lat.value = ""; lon.value = "";
        status.textContent = locate.getAttribute("data-failed");
      }, { timeout: 10000 });
    });
  }

  // Photo inputs: show the file names chosen.
  document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
    input.addEventListener("change", function () {
      var out = document.getElementById(input.getAttribute("data-preview"));
      if (!out) { return; }
      out.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
    });
  });
})();
