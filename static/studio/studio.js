// Draws plotly figures that pages embed as JSON, and keeps them and the log tail live.
(function () {
  "use strict";

  function drawGraph() {
    var holder = document.getElementById("pipeline-graph");
    var source = holder && document.getElementById(holder.dataset.source);
    if (!holder || !source || !window.Plotly) return;
    var figure = JSON.parse(source.textContent);
    window.Plotly.react(holder, figure.data, figure.layout, {
      displaylogo: false, responsive: true, scrollZoom: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage", "autoScale2d"],
    });
    if (!holder.dataset.bound) {
      holder.dataset.bound = "1";
      holder.on("plotly_hover", function () { holder.style.cursor = "pointer"; });
      holder.on("plotly_unhover", function () { holder.style.cursor = ""; });
      holder.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        if (point && point.customdata) {
          var url = new URL(window.location.href);
          url.searchParams.set("step", point.customdata);
          window.location.assign(url.toString());
        }
      });
    }
  }

  function logAtBottom(log) {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }

  var stick = true;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var log = document.getElementById("log-text");
    if (log && log.contains(event.detail.target)) stick = logAtBottom(log);
  });
  document.addEventListener("htmx:afterSettle", function () {
    drawGraph();
    var log = document.getElementById("log-text");
    if (log && stick) log.scrollTop = log.scrollHeight;
  });
  window.addEventListener("load", function () {
    drawGraph();
    var log = document.getElementById("log-text");
    if (log) log.scrollTop = log.scrollHeight;
  });
})();
