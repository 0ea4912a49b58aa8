// Draws the metric charts that pages embed as JSON, and keeps them and the log tail live
// (the pipeline graph is graph.js's).
(function () {
  "use strict";

  // The run page: show a step in the step panel, on the tab shown now, without a page load;
  // the address names the step (shareable, and the back button returns to the step before).
  window.studioSelectStep = function (stepId) {
    var url = new URL(window.location.href);
    var tab = url.searchParams.get("tab"), view = url.searchParams.get("view");
    url.search = "";
    url.hash = "";
    url.searchParams.set("step", stepId);
    if (tab) url.searchParams.set("tab", tab);
    if (view) url.searchParams.set("view", view);
    if (!document.getElementById("step-panel") || !window.htmx) {
      window.location.assign(url.toString());
      return;
    }
    window.htmx.ajax("GET", url.toString(), { target: "#step-panel", swap: "outerHTML settle:0ms", push: "true" });
  };

  // The step table marks the step the panel shows at once, not at the next live refresh.
  function markSelectedStep() {
    var panel = document.getElementById("step-panel");
    if (!panel) return;
    document.querySelectorAll("table.steps tbody tr[data-step]").forEach(function (row) {
      var on = row.dataset.step === panel.dataset.step;
      row.classList.toggle("selected", on);
      if (on) row.setAttribute("aria-selected", "true"); else row.removeAttribute("aria-selected");
    });
  }

  function drawCharts(root) {
    if (!window.Plotly) return;
    (root || document).querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      var layout = window.studioTheme ? window.studioTheme.layout(figure.layout) : figure.layout;
      window.Plotly.react(el, figure.data, layout, { displaylogo: false, responsive: true });
    });
  }

  document.addEventListener("studio:theme", function () { drawCharts(); });

  function logAtBottom(log) {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }

  // <time class="local" datetime="..."> shows the instant in the viewer's own time zone, as
  // 2026-12-07 15:04 CET (the {% when %} template tag; its title keeps the time in UTC).
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function zoneName(when) {
    var parts = new Intl.DateTimeFormat("en-GB", { timeZoneName: "short" }).formatToParts(when);
    var zone = parts.filter(function (p) { return p.type === "timeZoneName"; })[0];
    return zone ? zone.value : "";
  }
  function localTimes(root) {
    (root || document).querySelectorAll("time.local").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = when.getFullYear() + "-" + two(when.getMonth() + 1) + "-" + two(when.getDate()) +
        " " + two(when.getHours()) + ":" + two(when.getMinutes()) + " " + zoneName(when);
    });
  }

  // The run page's step table: filtered by name and status, again after each live refresh.
  // The filter outlives the panel following the run (the page's main part is loaded again).
  function filterKey() { return "step-filter:" + window.location.pathname; }
  function filterSteps(remember) {
    var name = document.getElementById("step-filter-name");
    var status = document.getElementById("step-filter-status");
    if (!name || !status) return;
    if (remember === true) {
      window.sessionStorage.setItem(filterKey(), JSON.stringify([name.value, status.value]));
    } else if (!name.value && !status.value) {
      var kept = JSON.parse(window.sessionStorage.getItem(filterKey()) || "null");
      if (kept) { name.value = kept[0]; status.value = kept[1]; }
    }
    var words = name.value.trim().toLowerCase();
    var shown = 0, rows = document.querySelectorAll("table.steps tbody tr");
    rows.forEach(function (row) {
      var match = (!words || row.dataset.name.indexOf(words) !== -1) &&
        (!status.value || row.dataset.status === status.value);
      row.hidden = !match;
      if (match) shown += 1;
    });
    var count = document.getElementById("step-filter-count");
    if (count) count.textContent = (words || status.value) ? shown + " of " + rows.length + " steps" : "";
  }
  document.addEventListener("input", function (event) {
    if (event.target.id === "step-filter-name" || event.target.id === "step-filter-status") filterSteps(true);
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "step-filter-status") filterSteps(true);
  });
  document.addEventListener("htmx:afterSettle", filterSteps);
  window.addEventListener("load", filterSteps);

  // Phones: the Menu button shows and hides the folded sidebar.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".menu-toggle");
    if (!button) return;
    var open = document.body.classList.toggle("nav-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Keyboard: "/" focuses the page's search (the run page's step filter, else the top bar's
  // search) unless one is typing; Esc closes what is open (the phone menu, search results).
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function closePanels() {
    var closed = false;
    var dropdown = document.getElementById("search-dropdown");
    if (dropdown && dropdown.children.length) { dropdown.replaceChildren(); closed = true; }
    if (document.body.classList.contains("nav-open")) {
      document.body.classList.remove("nav-open");
      var menu = document.querySelector(".menu-toggle");
      if (menu) { menu.setAttribute("aria-expanded", "false"); menu.focus(); }
      closed = true;
    }
    return closed;
  }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (closePanels()) event.preventDefault();
      return;
    }
    if (event.key !== "/" || typing(event.target)) return;
    var box = ["step-filter-name", "global-search"].map(function (id) { return document.getElementById(id); })
      .filter(function (el) { return el && el.offsetParent; })[0];
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
  // A click elsewhere closes the search results.
  document.addEventListener("click", function (event) {
    var dropdown = document.getElementById("search-dropdown");
    if (dropdown && dropdown.children.length && !event.target.closest(".global-search")) dropdown.replaceChildren();
  });

  var stick = true;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var log = document.getElementById("log-text");
    if (log && log.contains(event.detail.target)) stick = logAtBottom(log);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var log = document.getElementById("log-text");
    if (event.detail.elt && event.detail.elt.id === "step-panel") {
      // Another step or tab: only the panel is new (the graph stays as it is).
      markSelectedStep();
      localTimes(event.detail.elt);
      drawCharts(event.detail.elt);
      if (log && !new URL(window.location.href).searchParams.has("offset")) log.scrollTop = log.scrollHeight;
      return;
    }
    localTimes();
    drawCharts();
    if (log && stick) log.scrollTop = log.scrollHeight;
  });
  // Back or forward to a run page address: htmx loads the page again (the step panel keeps
  // no history snapshot) and swaps it in; its figures are drawn anew.
  document.addEventListener("htmx:historyRestore", function () {
    localTimes();
    drawCharts();
    filterSteps();
  });
  // Live lists: a polled fragment sends back the ETag of what it shows, and a 304 (nothing
  // changed) leaves it as it is. Boxes ticked in it stay ticked when it is drawn again.
  var ticked = null;
  document.addEventListener("htmx:configRequest", function (event) {
    var tag = event.detail.elt.dataset && event.detail.elt.dataset.etag;
    if (tag) event.detail.headers["If-None-Match"] = tag;
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 304) {
      event.detail.shouldSwap = false;
      return;
    }
    var target = event.detail.target;
    if (target && target.id && target.dataset.etag) {
      ticked = { id: target.id, boxes: Array.prototype.map.call(
        target.querySelectorAll("input[type=checkbox]:checked"),
        function (box) { return box.name + "=" + box.value; }) };
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!ticked) return;
    var fragment = document.getElementById(ticked.id), boxes = ticked.boxes;
    ticked = null;
    if (!fragment) return;
    fragment.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (boxes.indexOf(box.name + "=" + box.value) !== -1) box.checked = true;
    });
  });

  // The duration of a run that goes on counts up between refreshes (as htmx/duration.html shows it).
  function shownDuration(seconds) {
    if (seconds < 0.1) return "< 0.1 s";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    if (seconds < 3600) return Math.round(seconds / 60) + " min";
    return Math.round(seconds / 3600) + " h";
  }
  window.setInterval(function () {
    document.querySelectorAll(".ticking[data-since]").forEach(function (el) {
      var since = new Date(el.dataset.since);
      if (!isNaN(since)) el.textContent = shownDuration(Math.max(0, (Date.now() - since) / 1000));
    });
  }, 1000);

  window.addEventListener("load", function () {
    localTimes();
    drawCharts();
    var log = document.getElementById("log-text");
    // Opened at a search match (?offset=): keep the top in view; else follow the tail.
    if (log && !new URL(window.location.href).searchParams.has("offset")) log.scrollTop = log.scrollHeight;
  });
})();
