// The pipeline graph: drawn from the figure the page embeds as JSON (runs/charts.py), redrawn on
// each live refresh keeping the user's view, with labels sized to the zoom, find a step, zoom to
// fit and, for large graphs, a minimap of the whole graph. Only scatter traces and layout shapes.
(function () {
  "use strict";

  var STEP = 26, DATA = 18, ARROW = 11;
  var LARGE = 40;  // nodes from which the minimap is shown
  var state = {
    holder: null, figure: null, json: "", ranges: null, look: null, frame: null, found: [], at: -1, drawing: false,
  };

  function traceOf(figure, meta) {
    for (var i = 0; i < figure.data.length; i++) if (figure.data[i].meta === meta) return figure.data[i];
    return null;
  }

  // Trace text arrives with &, < and > as entities (runs/charts.py plotly_text).
  function plain(text) { return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"); }
  function escaped(text) { return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function shorten(text, chars) {
    var whole = plain(text);
    if (whole.length <= chars) return text;
    return escaped(whole.slice(0, Math.max(1, chars - 1))) + "\u2026";
  }
  // A name on at most two lines of ``chars``, broken between words where it can be.
  function wrapped(text, chars) {
    var whole = plain(text);
    if (whole.length <= chars) return text;
    var cut = whole.lastIndexOf(" ", chars);
    if (cut < chars / 3) return shorten(text, chars);  // no word ends early enough: one line
    var rest = whole.slice(cut).trim();
    return escaped(whole.slice(0, cut).trim()) + "<br>" + shorten(escaped(rest), chars);
  }

  function height(figure) {
    // A phone keeps room for the page around the graph.
    return Math.round(Math.min(figure.layout.height, Math.max(280, window.innerHeight * 0.62)));
  }

  function plotSize(holder, figure) {
    var m = figure.layout.margin;
    return { w: Math.max(1, holder.clientWidth - m.l - m.r), h: Math.max(1, height(figure) - m.t - m.b) };
  }

  // Pixels per unit: one unit across is a layer, one unit down a slot in a layer.
  function scaleOf(holder, figure, ranges) {
    var size = plotSize(holder, figure);
    return { x: size.w / (ranges.x[1] - ranges.x[0]), y: size.h / (ranges.y[1] - ranges.y[0]) };
  }

  // How the graph is drawn at a scale: markers shrink when nodes come close, labels are shortened
  // to the room a layer has, and hidden when rows are too close to read (hover names the step).
  function lookOf(scale) {
    return {
      k: Math.round(Math.max(0.2, Math.min(1, scale.y * 0.5 / STEP, scale.x * 0.3 / STEP)) * 20) / 20,
      labels: scale.y >= 40 && scale.x >= 50,
      chars: Math.max(4, Math.floor(scale.x / 6.6)),
      edgeLabels: scale.y >= 60 && scale.x >= 90,
      edgeChars: Math.floor(scale.x * 0.7 / 5.5),
    };
  }

  // Only the labels of points in view, and a margin around it, are drawn (plotly lays out every
  // text it is given); a pan that stays within the margin at the same look needs no redraw.
  // The others get a space, not "": plotly drops the text element of an empty label and does
  // not make it again when the label comes back.
  function windowOf(ranges) {
    var mx = (ranges.x[1] - ranges.x[0]) * 0.5, my = (ranges.y[1] - ranges.y[0]) * 0.5;
    return { x: [ranges.x[0] - mx, ranges.x[1] + mx], y: [ranges.y[0] - my, ranges.y[1] + my] };
  }

  function inside(ranges, frame) {
    return frame && ranges.x[0] >= frame.x[0] && ranges.x[1] <= frame.x[1] &&
      ranges.y[0] >= frame.y[0] && ranges.y[1] <= frame.y[1];
  }

  function sameLook(a, b) {
    return a && b && a.k === b.k && a.labels === b.labels && a.chars === b.chars &&
      a.edgeLabels === b.edgeLabels && a.edgeChars === b.edgeChars;
  }

  // The page's text colours (theme.js), so that labels read in dark mode too.
  function themeColours() {
    return window.studioTheme ? window.studioTheme.plot() : { text: "#323130", muted: "#605e5c" };
  }

  function styled(figure, look, frame) {
    var near = function (x, y) { return x > frame.x[0] && x < frame.x[1] && y > frame.y[0] && y < frame.y[1]; };
    var k = look.k, labels = look.labels, chars = look.chars;
    var colours = themeColours();
    var data = figure.data.map(function (trace) {
      var t = Object.assign({}, trace, { marker: Object.assign({}, trace.marker) });
      if (trace.meta === "steps" || trace.meta === "data") {
        t.marker.size = (trace.meta === "steps" ? STEP : DATA) * k;
        t.marker.line = Object.assign({}, trace.marker.line, { width: k < 0.5 ? 0 : 1 });
        t.mode = labels ? "markers+text" : "markers";
        t.text = trace.text.map(function (s, i) { return near(trace.x[i], trace.y[i]) ? wrapped(s, chars) : " "; });
        if (trace.meta === "steps" && state.found.length) {
          // The matches' names stand out too; the one in focus most.
          t.textfont = { color: trace.text.map(function (_, i) {
            var n = state.found.indexOf(i);
            return n === -1 ? colours.text : n === state.at ? "#ca5010" : "#8f6200";
          }) };
        }
      } else if (trace.meta === "edges") {
        t.line = Object.assign({}, trace.line, { width: k < 0.5 ? 0.6 : trace.line.width, color: k < 0.5 ? "#d2d0ce" : trace.line.color });
        t.marker.size = trace.marker.size.map(function (s) { return s ? ARROW * Math.max(k, 0.45) : 0; });
        t.marker.standoff = trace.marker.standoff.map(function (s) { return s * k; });
      } else if (trace.meta === "edge-labels") {
        t.visible = look.edgeLabels;
        t.textfont = Object.assign({}, trace.textfont, { color: colours.muted });
        t.text = trace.text.map(function (s, i) {
          return near(trace.x[i], trace.y[i]) ? shorten(s, look.edgeChars) : " ";
        });
      }
      return t;
    });
    var steps = traceOf(figure, "steps");
    if (steps && state.found.length) {
      data.push({
        type: "scatter", mode: "markers", meta: "found", hoverinfo: "skip", showlegend: false,
        x: state.found.map(function (i) { return steps.x[i]; }),
        y: state.found.map(function (i) { return steps.y[i]; }),
        customdata: state.found.map(function (i) { return steps.customdata[i]; }),
        marker: {
          symbol: "square-open", size: STEP * k + 7,
          color: state.found.map(function (_, n) { return n === state.at ? "#ca5010" : "#ffb900"; }),
          line: { width: 2.5 },
        },
      });
    }
    return data;
  }

  function layoutFor(figure, ranges) {
    var layout = Object.assign({}, figure.layout, { height: height(figure) });
    layout.xaxis = Object.assign({}, figure.layout.xaxis, { range: ranges.x.slice(), autorange: false });
    layout.yaxis = Object.assign({}, figure.layout.yaxis, { range: ranges.y.slice(), autorange: false });
    return window.studioTheme ? window.studioTheme.layout(layout) : layout;
  }

  function render(ranges) {
    var holder = state.holder, figure = state.figure;
    state.ranges = { x: ranges.x.slice(), y: ranges.y.slice() };
    state.look = lookOf(scaleOf(holder, figure, ranges));
    state.frame = windowOf(ranges);
    state.drawing = true;
    var done = window.Plotly.react(holder, styled(figure, state.look, state.frame), layoutFor(figure, ranges), {
      displaylogo: false, responsive: true, scrollZoom: Boolean(figure.scroll_zoom), doubleClick: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage", "autoScale2d", "resetScale2d"],
    });
    return Promise.resolve(done).then(function () {
      state.drawing = false;
      if (!holder.dataset.drawn && window.performance && performance.mark) performance.mark("studio-graph-drawn");
      holder.dataset.drawn = "1";
      drawMinimapView();
    });
  }

  // A new graph opens whole when its names can be read so; a large one opens at its left end,
  // zoomed in far enough to read, around its middle row (the minimap shows the rest).
  function startView(holder, figure) {
    var fitted = figure.fit, size = plotSize(holder, figure), scale = scaleOf(holder, figure, fitted);
    var x = fitted.x.slice(), y = fitted.y.slice();
    if (scale.x < 60) x = [fitted.x[0], fitted.x[0] + size.w / 150];
    if (scale.y < 30) {
      var middle = (fitted.y[0] + fitted.y[1]) / 2, half = size.h / 60 / 2;
      y = [middle - half, middle + half];
    }
    return { x: x, y: y };
  }

  function currentRanges() {
    var full = state.holder && state.holder._fullLayout;
    if (!full || !full.xaxis || !full.yaxis) return null;
    return { x: full.xaxis.range.slice(), y: full.yaxis.range.slice() };
  }

  function select(stepId) {
    if (typeof window.studioSelectStep === "function") {
      window.studioSelectStep(stepId);
      return;
    }
    var url = new URL(window.location.href);
    url.searchParams.set("step", stepId);
    window.location.assign(url.toString());
  }

  function bind(holder) {
    if (holder.dataset.bound) return;
    holder.dataset.bound = "1";
    holder.on("plotly_hover", function (event) {
      var point = event.points && event.points[0];
      holder.style.cursor = point && point.customdata ? "pointer" : "";
    });
    holder.on("plotly_unhover", function () { holder.style.cursor = ""; });
    holder.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      if (point && point.customdata) select(point.customdata);
    });
    // A pan or zoom by the user: labels and markers follow the new scale.
    holder.on("plotly_relayout", function () {
      if (state.drawing || holder !== state.holder) return;
      var ranges = currentRanges();
      if (!ranges) return;
      if (sameLook(lookOf(scaleOf(holder, state.figure, ranges)), state.look) && inside(ranges, state.frame)) {
        state.ranges = ranges;  // plotly has drawn it already
        drawMinimapView();
        return;
      }
      render(ranges);
    });
  }

  function draw() {
    var holder = document.getElementById("pipeline-graph");
    var source = holder && document.getElementById(holder.dataset.source);
    if (!holder || !source || !window.Plotly) return;
    var same = holder === state.holder;
    if (same && source.textContent === state.json) return;  // another part of the page refreshed
    state.json = source.textContent;
    state.figure = JSON.parse(state.json);
    if (!same) {
      state.holder = holder;
      state.found = [];
      state.at = -1;
      find(false);
    } else if (state.found.length) {
      find(false);
    }
    // A live refresh keeps the view the user has; a new graph opens at its start view.
    var ranges = same && state.ranges ? (currentRanges() || state.ranges) : startView(holder, state.figure);
    render(ranges).then(function () { bind(holder); drawMinimap(); });
  }

  // Find a step: matches are ringed, the first is brought into view; Enter goes to the next.
  function find(move) {
    var input = document.getElementById("graph-find");
    var count = document.getElementById("graph-find-count");
    var steps = state.figure && traceOf(state.figure, "steps");
    if (!input || !steps) return;
    var words = input.value.trim().toLowerCase();
    var previous = state.found[state.at];
    state.found = [];
    if (words) {
      steps.text.forEach(function (text, i) {
        if (plain(text).toLowerCase().indexOf(words) !== -1) state.found.push(i);
      });
    }
    var kept = state.found.indexOf(previous);
    state.at = state.found.length ? (kept === -1 ? 0 : kept) : -1;
    if (count) {
      count.textContent = !words ? "" : state.found.length ? (state.at + 1) + " of " + state.found.length : "No step matches";
    }
    if (!move) return;
    if (state.found.length) focusOn(state.found[state.at]);
    else render(currentRanges() || state.ranges);
  }

  function next() {
    if (!state.found.length) return;
    state.at = (state.at + 1) % state.found.length;
    var count = document.getElementById("graph-find-count");
    if (count) count.textContent = (state.at + 1) + " of " + state.found.length;
    focusOn(state.found[state.at]);
  }

  // Centre a step, zoomed in far enough to read its name (never out from where the user is).
  function focusOn(i) {
    var steps = traceOf(state.figure, "steps");
    var size = plotSize(state.holder, state.figure);
    var now = currentRanges() || state.ranges;
    var spanX = Math.min(now.x[1] - now.x[0], size.w / 170);
    var spanY = Math.min(now.y[1] - now.y[0], size.h / 70);
    var x = steps.x[i], y = steps.y[i] - spanY * 0.08;  // a little room for the label below
    render({ x: [x - spanX / 2, x + spanX / 2], y: [y - spanY / 2, y + spanY / 2] });
  }

  function fit() {
    if (state.figure) render(state.figure.fit);
  }

  // The minimap: the whole graph small, the part in view framed; a click or drag there moves
  // the view. Drawn as a static plot: the pointer is read here, not by plotly.
  function nodeCount(figure) {
    var steps = traceOf(figure, "steps"), data = traceOf(figure, "data");
    return (steps ? steps.x.length : 0) + (data ? data.x.length : 0);
  }

  function drawMinimap() {
    var box = document.getElementById("graph-minimap");
    var figure = state.figure;
    if (!box || !figure) return;
    box.hidden = nodeCount(figure) < LARGE;
    if (box.hidden) return;
    var edges = traceOf(figure, "edges"), steps = traceOf(figure, "steps"), data = traceOf(figure, "data");
    window.Plotly.react(box, [
      { type: "scatter", mode: "lines", x: edges.x, y: edges.y, line: { color: "#c8c6c4", width: 0.6 }, hoverinfo: "skip" },
      { type: "scatter", mode: "markers", x: data.x, y: data.y, marker: { size: 3, color: data.marker.color }, hoverinfo: "skip" },
      { type: "scatter", mode: "markers", x: steps.x, y: steps.y, marker: { size: 4, color: steps.marker.color, symbol: "square" }, hoverinfo: "skip" },
    ], {
      margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: false, height: box.clientHeight, width: box.clientWidth,
      xaxis: { visible: false, range: figure.fit.x, fixedrange: true },
      yaxis: { visible: false, range: figure.fit.y, fixedrange: true },
      plot_bgcolor: "rgba(0,0,0,0)", paper_bgcolor: "rgba(0,0,0,0)", shapes: viewShape(),
    }, { staticPlot: true });
    if (!box.dataset.bound) {
      box.dataset.bound = "1";
      box.addEventListener("pointerdown", function (event) {
        box.setPointerCapture(event.pointerId);
        moveTo(box, event);
      });
      box.addEventListener("pointermove", function (event) {
        if (box.hasPointerCapture(event.pointerId)) moveTo(box, event);
      });
    }
  }

  function viewShape() {
    var r = state.ranges;
    if (!r) return [];
    return [{ type: "rect", x0: r.x[0], x1: r.x[1], y0: r.y[0], y1: r.y[1], line: { color: "#0078d4", width: 1.5 }, fillcolor: "rgba(0,120,212,0.12)" }];
  }

  function drawMinimapView() {
    var box = document.getElementById("graph-minimap");
    if (box && !box.hidden && box.dataset.bound) window.Plotly.relayout(box, { shapes: viewShape() });
  }

  var pending = null;
  function moveTo(box, event) {
    var fitRanges = state.figure.fit, rect = box.getBoundingClientRect();
    var x = fitRanges.x[0] + (event.clientX - rect.left) / rect.width * (fitRanges.x[1] - fitRanges.x[0]);
    var y = fitRanges.y[1] - (event.clientY - rect.top) / rect.height * (fitRanges.y[1] - fitRanges.y[0]);
    var now = currentRanges() || state.ranges;
    var half = { x: (now.x[1] - now.x[0]) / 2, y: (now.y[1] - now.y[0]) / 2 };
    pending = { x: [x - half.x, x + half.x], y: [y - half.y, y + half.y] };
    window.requestAnimationFrame(function () {
      // As a pan by the user: the relayout handler redraws only when the labels need it.
      if (pending) window.Plotly.relayout(state.holder, { "xaxis.range": pending.x, "yaxis.range": pending.y });
      pending = null;
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.id !== "graph-find") return;
    if (state.figure) find(true);
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.id === "graph-find" && event.key === "Enter") {
      event.preventDefault();
      next();
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#graph-fit")) fit();
  });
  document.addEventListener("htmx:afterSettle", draw);
  document.addEventListener("htmx:historyRestore", draw);
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("studio:theme", function () {
    if (state.holder && document.body.contains(state.holder) && state.ranges) render(currentRanges() || state.ranges);
  });
})();
