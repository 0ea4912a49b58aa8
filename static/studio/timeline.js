// The run page's Timeline view: a Gantt of each step's time waiting, preparing and running
// (runs/timeline.py makes the plotly figure), switched with the graph in place, with the URL
// (?view=timeline) kept shareable, and asked for again every 2 s while the run goes on.
(function () {
  "use strict";
  if (window.studioTimeline) return;  // loaded once per page
  var POLL_MS = 2000;
  var chosen = null;  // the view the user chose: kept when htmx loads the page's main part again
  var timer = null;
  var generation = 0;  // an answer to an older request is not drawn
  var failures = 0;

  function viewInUrl() {
    return new URL(window.location.href).searchParams.get("view") === "timeline" ? "timeline" : "graph";
  }

  function keepInUrl(view, push) {
    var url = new URL(window.location.href);
    if (view === "timeline") url.searchParams.set("view", "timeline");
    else url.searchParams.delete("view");
    if (url.href === window.location.href) return;
    if (push) window.history.pushState({ studioView: view }, "", url.href);
    else window.history.replaceState(window.history.state, "", url.href);
  }

  function stop() {
    generation += 1;
    if (timer) window.clearTimeout(timer);
    timer = null;
  }

  function show(view) {
    var nav = document.querySelector(".view-switch");
    if (!nav) return;
    nav.dataset.view = view;
    nav.dataset.shown = "1";
    nav.querySelectorAll("a[data-view]").forEach(function (link) {
      var on = link.dataset.view === view;
      link.classList.toggle("active", on);
      link.setAttribute("aria-selected", on ? "true" : "false");
    });
    if (view === "timeline") {
      refresh();
    } else {
      stop();
      window.dispatchEvent(new Event("resize"));  // the graph was drawn while hidden
    }
  }

  function refresh() {
    var box = document.getElementById("timeline");
    if (!box || !window.Plotly) return;
    stop();
    var mine = generation;
    window.fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("timeline: HTTP " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (mine !== generation) return;
        failures = 0;
        draw(answer.figure);
        if (answer.live) timer = window.setTimeout(refresh, POLL_MS);
      })
      .catch(function () {
        failures += 1;
        if (mine === generation && failures < 5) timer = window.setTimeout(refresh, POLL_MS * failures);
      });
  }

  function selectStep(stepId) {
    if (typeof window.studioSelectStep === "function") {
      window.studioSelectStep(stepId);
      return;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("step", stepId);
    url.searchParams.set("view", "timeline");
    window.location.assign(url.href);
  }

  // The legend stays above the chart as its rows scroll: a swatch and a name per trace.
  function legend(figure) {
    var list = document.querySelector("#timeline .timeline-legend");
    if (!list) return;
    list.replaceChildren.apply(list, figure.data.map(function (trace) {
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.className = "swatch " + (trace.type === "scatter" ? "marker" : trace.width < 0.5 ? "thin" : "bar");
      swatch.style.backgroundColor = trace.marker.color;
      item.append(swatch, document.createTextNode(trace.name));
      return item;
    }));
  }

  var drawn = null;  // the last figure, drawn again when the theme changes

  function draw(figure) {
    var chart = document.getElementById("timeline-chart");
    if (!chart) return;
    drawn = figure;
    legend(figure);
    var theme = window.studioTheme;
    var data = !theme ? figure.data : figure.data.map(function (trace) {
      if (!trace.textfont) return trace;
      return Object.assign({}, trace, { textfont: Object.assign({}, trace.textfont, { color: theme.plot().muted }) });
    });
    window.Plotly.react(chart, data, theme ? theme.layout(figure.layout) : figure.layout, {
      displaylogo: false, responsive: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage", "autoScale2d", "zoomIn2d", "zoomOut2d"],
    });
    if (chart.dataset.bound) return;
    chart.dataset.bound = "1";
    chart.on("plotly_hover", function () { chart.style.cursor = "pointer"; });
    chart.on("plotly_unhover", function () { chart.style.cursor = ""; });
    chart.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (point && point.customdata) selectStep(point.customdata);
    });
  }

  // The switch: in place, a new history entry; a plain link without script.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".view-switch a[data-view]");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    chosen = link.dataset.view;
    keepInUrl(chosen, true);
    show(chosen);
  });
  window.addEventListener("popstate", function () {
    chosen = viewInUrl();
    show(chosen);
  });

  // htmx loads the page's main part again as the panel follows the run: the new switch
  // shows the view the user chose, and the address keeps saying so.
  function reapply() {
    var nav = document.querySelector(".view-switch");
    if (!nav || nav.dataset.shown || !chosen) return;
    show(chosen);
    if (chosen === "timeline") keepInUrl(chosen, false);
  }
  document.addEventListener("htmx:afterSwap", reapply);
  document.addEventListener("htmx:historyRestore", function () {
    chosen = viewInUrl();
    reapply();
  });
  ["htmx:pushedIntoHistory", "htmx:replacedInHistory"].forEach(function (name) {
    document.addEventListener(name, function () {
      var nav = document.querySelector(".view-switch");
      if ((chosen || (nav && nav.dataset.view)) === "timeline") keepInUrl("timeline", false);
    });
  });

  function start() {
    var nav = document.querySelector(".view-switch");
    if (!nav) return;
    chosen = nav.dataset.view === "timeline" ? "timeline" : "graph";
    nav.dataset.shown = "1";
    if (chosen === "timeline") refresh();
  }
  document.addEventListener("studio:theme", function () { if (drawn) draw(drawn); });
  window.studioTimeline = { refresh: refresh };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
