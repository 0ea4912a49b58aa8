// Light, dark or the system's choice: loaded in <head> without defer so that the page is painted
// in its theme from the start. The choice is remembered in localStorage ("studio-theme"); the
// resolved theme is <html data-theme="light|dark">, which studio.css keys its colours on.
// window.studioTheme.plot() gives plotly the page's colours (graph.js, timeline.js, studio.js
// redraw their figures on the "studio:theme" event).
(function () {
  "use strict";

  var KEY = "studio-theme";
  var CHOICES = ["system", "light", "dark"];
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function choice() {
    var kept = null;
    try { kept = window.localStorage.getItem(KEY); } catch (e) { /* storage refused */ }
    return CHOICES.indexOf(kept) === -1 ? "system" : kept;
  }

  function resolved(chosen) {
    if (chosen === "light" || chosen === "dark") return chosen;
    return query && query.matches ? "dark" : "light";
  }

  function label() {
    var chosen = choice();
    document.querySelectorAll(".theme-toggle").forEach(function (button) {
      button.dataset.choice = chosen;
      var prefix = document.createElement("span");
      prefix.className = "theme-prefix";
      prefix.textContent = "Theme: ";
      button.replaceChildren(prefix, document.createTextNode(chosen));
      button.setAttribute("aria-label", "Theme: " + chosen + " (change)");
    });
  }

  function apply() {
    var theme = resolved(choice());
    var root = document.documentElement;
    var changed = root.dataset.theme !== theme;
    root.dataset.theme = theme;
    root.dataset.themeChoice = choice();
    if (document.body) label();
    if (changed && document.body) document.dispatchEvent(new CustomEvent("studio:theme", { detail: { theme: theme } }));
  }

  function css(name) {
    return window.getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  window.studioTheme = {
    // Layout colours for a plotly figure, read from the page's CSS custom properties.
    plot: function () {
      return { text: css("--text"), muted: css("--muted"), line: css("--line"), panel: css("--panel") };
    },
    // The figure's layout with the page's text and grid colours (a copy; the figure is kept).
    layout: function (layout) {
      var c = window.studioTheme.plot();
      var out = Object.assign({}, layout);
      out.font = Object.assign({}, layout.font, { color: c.text });
      if (layout.paper_bgcolor && layout.paper_bgcolor.indexOf("rgba(0,0,0,0)") !== 0) out.paper_bgcolor = c.panel;
      if (layout.plot_bgcolor && layout.plot_bgcolor.indexOf("rgba(0,0,0,0)") !== 0) out.plot_bgcolor = c.panel;
      ["xaxis", "yaxis"].forEach(function (axis) {
        var given = layout[axis] || {};
        out[axis] = Object.assign({}, given, { gridcolor: c.line, linecolor: c.line, zerolinecolor: c.line });
        if (given.tickfont) out[axis].tickfont = Object.assign({}, given.tickfont, { color: c.text });
      });
      if (layout.title && typeof layout.title === "object") {
        out.title = Object.assign({}, layout.title, { font: Object.assign({}, layout.title.font, { color: c.text }) });
      }
      return out;
    },
  };

  apply();
  if (query) {
    var follow = function () { if (choice() === "system") apply(); };
    if (query.addEventListener) query.addEventListener("change", follow); else query.addListener(follow);
  }
  document.addEventListener("DOMContentLoaded", label);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".theme-toggle");
    if (!button) return;
    var next = CHOICES[(CHOICES.indexOf(choice()) + 1) % CHOICES.length];
    try { window.localStorage.setItem(KEY, next); } catch (e) { /* storage refused */ }
    apply();
    label();
  });
  // Another tab changed the choice.
  window.addEventListener("storage", function (event) { if (event.key === KEY) apply(); });
})();
