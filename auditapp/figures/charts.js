/* Charts for every reader (WCAG 2.1 AA, issue 20), in the app and in the HTML report.
   Each figure from auditapp.figures carries layout.meta.a11y: a summary and a table of its numbers.
   - the chart's picture (Plotly's first <svg>) becomes role="img" named by the summary; the other
     layers are hidden from screen readers;
   - in the app, the table is written (as text nodes) into the chart's "Table of the chart's numbers";
   - titles, subtitles and axis titles wrap to the chart's width (clear of the toolbar); below 576 px,
     side-by-side panels stack, the legend moves under the plot, optional text labels on points go,
     and the chart grows taller instead of squeezing the plot.
   The original layout is kept in layout.meta.a11y.base, so a wider chart gets it back. */
(function () {
  "use strict";
  var NARROW = 576;
  var TOOLBAR = 48;
  var PANEL = 230;
  var canvas = null;
  var ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&#37;": "%", "&quot;": "\""};

  function info(gd) {
    var meta = gd.layout && gd.layout.meta;
    return meta && typeof meta === "object" && meta.a11y && meta.a11y.summary ? meta.a11y : null;
  }

  function plain(text) {
    return String(text || "").replace(/<br\s*\/?>/gi, " ").replace(/<[^>]*>/g, "")
      .replace(/&(lt|gt|amp|quot|#37);/g, function (m) { return ENTITIES[m]; });
  }

  function width(text, size, family) {
    canvas = canvas || document.createElement("canvas");
    var ctx = canvas.getContext("2d");
    ctx.font = size + "px " + family;
    return ctx.measureText(plain(text)).width;
  }

  function wrap(text, room, size, family) {
    if (!text) { return []; }
    var words = String(text).replace(/<br\s*\/?>/gi, " ").split(/\s+/).filter(Boolean);
    var lines = [];
    var line = "";
    words.forEach(function (word) {
      var next = line ? line + " " + word : word;
      if (line && width(next, size, family) > room) {
        lines.push(line);
        line = word;
      } else {
        line = next;
      }
    });
    if (line) { lines.push(line); }
    return lines;
  }

  function lineCount(text) { return text ? String(text).split(/<br\s*\/?>/i).length : 0; }

  function copy(value) { return value === undefined ? undefined : JSON.parse(JSON.stringify(value)); }

  function label(gd, text) {
    var summary = text ? text.summary : plain(gd.layout && gd.layout.title && gd.layout.title.text) || "Chart";
    gd.querySelectorAll(".main-svg").forEach(function (svg, i) {
      if (i === 0) {
        svg.setAttribute("role", "img");
        if (svg.getAttribute("aria-label") !== summary) { svg.setAttribute("aria-label", summary); }
      } else {
        svg.setAttribute("aria-hidden", "true");
      }
    });
  }

  function table(gd, text) {
    var chart = gd.closest(".auditapp-chart");
    var box = chart && chart.querySelector(".auditapp-chart-table");
    if (!box) { return; }
    var key = text ? JSON.stringify([text.columns, text.rows, text.note]) : "";
    if (box.__a11yKey === key) { return; }
    box.__a11yKey = key;
    box.textContent = "";
    var details = chart.querySelector(".auditapp-chart-data");
    var has = !!(text && text.columns && text.columns.length && text.rows && text.rows.length);
    if (details) { details.hidden = !has; }
    if (!has) { return; }
    var el = document.createElement("table");
    el.className = "table table-sm table-striped";
    if (text.note) { el.createCaption().textContent = text.note; }
    var head = el.createTHead().insertRow();
    text.columns.forEach(function (name) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    });
    var body = el.createTBody();
    text.rows.forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (value) { tr.insertCell().textContent = value; });
    });
    box.appendChild(el);
  }

  function box(gd) {
    var outer = gd.parentElement && gd.parentElement.closest(".dash-graph");
    return outer || gd;
  }

  function snapshot(gd) {
    var layout = gd.layout;
    var full = gd._fullLayout;
    var title = layout.title || {};
    var axes = {};
    Object.keys(layout).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        var axis = layout[key] || {};
        axes[key] = {domain: copy(axis.domain), title: axis.title ? copy(axis.title.text) : undefined,
                     showticklabels: axis.showticklabels, tickmode: axis.tickmode,
                     tickvals: copy(axis.tickvals), ticktext: copy(axis.ticktext)};
      }
    });
    return {
      title: typeof title === "string" ? title : title.text,
      subtitle: title.subtitle ? title.subtitle.text : undefined,
      titleSize: (title.font && title.font.size) || (full.title && full.title.font && full.title.font.size) || 17,
      subtitleSize: (title.subtitle && title.subtitle.font && title.subtitle.font.size) || 12,
      titleY: copy(title.y), titleYref: title.yref, titleYanchor: title.yanchor,
      margin: {t: full.margin.t, b: full.margin.b},
      legend: copy(layout.legend) || null,
      showlegend: layout.showlegend === undefined ? null : layout.showlegend,
      height: layout.height === undefined ? null : layout.height,
      axes: axes,
      annotations: copy(layout.annotations) || [],
      modes: gd.data.map(function (trace) { return trace.mode === undefined ? null : trace.mode; }),
      boxHeight: box(gd).style.height || ""
    };
  }

  function sideBySide(axes) {
    var xs = Object.keys(axes).filter(function (k) { return k[0] === "x" && axes[k].domain; });
    if (xs.length < 2) { return null; }
    xs.sort(function (a, b) { return axes[a].domain[0] - axes[b].domain[0]; });
    return xs;
  }

  // Equal for drawing: no value, null and an empty list are the same (setting one for another redraws the chart).
  function same(a, b) {
    function plain(v) { return v === undefined || (Array.isArray(v) && !v.length) ? null : v; }
    return JSON.stringify(plain(a)) === JSON.stringify(plain(b));
  }

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o === undefined || o === null ? undefined : o[k]; }, obj);
  }

  function plan(gd, base, w) {
    var layout = gd.layout;
    var family = (gd._fullLayout.font && gd._fullLayout.font.family) || "sans-serif";
    var narrow = w < NARROW;
    var want = {};
    var titleLines = wrap(base.title, w - TOOLBAR - 24, base.titleSize, family);
    var subLines = wrap(base.subtitle, w - 24, base.subtitleSize, family);
    want["title.text"] = titleLines.join("<br>");
    if (base.subtitle !== undefined) { want["title.subtitle.text"] = subLines.join("<br>"); }
    var extraTop = Math.max(0, titleLines.length - lineCount(base.title)) * base.titleSize * 1.3 +
                   Math.max(0, subLines.length - lineCount(base.subtitle)) * base.subtitleSize * 1.4;
    var wrapped = titleLines.length > 1 || base.subtitle !== undefined;
    want["title.yref"] = wrapped ? "container" : (base.titleYref === undefined ? null : base.titleYref);
    want["title.yanchor"] = wrapped ? "top" : (base.titleYanchor === undefined ? null : base.titleYanchor);
    want["title.y"] = wrapped ? (base.titleYref === "container" && base.titleY ? base.titleY : 0.99) :
                                (base.titleY === undefined ? null : base.titleY);
    var top = base.margin.t + extraTop;
    var bottom = base.margin.b;
    var grow = extraTop;
    var modes = base.modes.slice();
    var xs = sideBySide(base.axes);
    // Axis titles wrap to the plot area's width (long tick labels on the left make it narrower than the chart).
    var size = gd._fullLayout._size;
    var plotWidth = Math.max(120, Math.min(w - 90, size && size.w ? size.w + 20 : w - 90));
    Object.keys(base.axes).forEach(function (key) {
      var axis = base.axes[key];
      want[key + ".domain"] = axis.domain === undefined ? null : axis.domain;
      want[key + ".showticklabels"] = axis.showticklabels === undefined ? null : axis.showticklabels;
      ["tickmode", "tickvals", "ticktext"].forEach(function (name) { want[key + "." + name] = axis[name]; });
      var fullAxis = gd._fullLayout[key];
      if (narrow && key[0] === "y" && axis.ticktext === undefined && fullAxis && fullAxis.type === "category" &&
          fullAxis._categories && fullAxis._categories.length) {
        // Long group names on a vertical category axis: wrap them instead of squeezing the plot.
        var names = fullAxis._categories.map(String);
        var lines = names.map(function (name) { return wrap(name, w * 0.34, 12, family); });
        if (lines.some(function (l) { return l.length > 1; })) {
          want[key + ".tickmode"] = "array";
          want[key + ".tickvals"] = names;
          want[key + ".ticktext"] = lines.map(function (l) { return l.join("<br>"); });
          var tallest = Math.max.apply(null, lines.map(function (l) { return l.length; }));
          var plotNow = (base.height || gd._fullLayout.height) - base.margin.t - base.margin.b;
          grow += Math.max(0, names.length * (tallest * 15 + 8) - plotNow);
        }
      }
      if (axis.title !== undefined) {
        var room = key[0] === "x" ? (narrow || !xs ? plotWidth : plotWidth / xs.length) : 260;
        want[key + ".title.text"] = wrap(axis.title, room, 14, family).join("<br>");
      }
    });
    want.annotations = copy(base.annotations);
    if (narrow) {
      if (xs) {
        var n = xs.length;
        var titles = want.annotations.filter(function (a) {
          return a.yref === "paper" && a.xref === "paper" && Math.abs((a.y || 0) - 1) < 1e-6 &&
                 a.yanchor === "bottom" && a.showarrow === false;
        }).sort(function (a, b) { return a.x - b.x; });
        var plotHeight = Math.max(200, (base.height || gd._fullLayout.height) - top - bottom) + (n - 1) * PANEL;
        var gap = Math.min(0.2, 70 / plotHeight);
        var panel = (1 - (n - 1) * gap) / n;
        xs.forEach(function (xKey, k) {
          var yKey = "y" + xKey.slice(1);
          var hi = 1 - k * (panel + gap);
          var lo = Math.max(0, hi - panel);
          want[xKey + ".domain"] = [0, 1];
          if (base.axes[yKey]) {
            want[yKey + ".domain"] = [lo, hi];
            want[yKey + ".showticklabels"] = true;
          }
          if (k < n - 1 && base.axes[xKey].title !== undefined) { want[xKey + ".title.text"] = ""; }
          if (titles.length === n) { titles[k].x = 0.5; titles[k].y = hi; }
        });
        grow += (n - 1) * PANEL;
      }
      var entries = gd._fullData.filter(function (t) { return t.showlegend !== false && t.visible !== false; }).length;
      var shapes = (layout.shapes || []).filter(function (s) { return s.showlegend; }).length;
      var legendHeight = (entries + shapes) * 21 + 16;
      want.legend = {orientation: "v", x: 0, xanchor: "left", y: 0, yanchor: "bottom", yref: "container",
                     title: base.legend && base.legend.title ? base.legend.title : undefined};
      bottom += legendHeight;
      grow += legendHeight;
      var dropped = false;
      gd.data.forEach(function (trace, i) {
        if (trace.meta && trace.meta.a11y === "labels-optional") { modes[i] = "markers"; dropped = true; }
      });
      // Without the words on the points, the legend says what each marker shape means.
      want.showlegend = dropped ? true : base.showlegend;
    } else {
      want.legend = base.legend;
      want.showlegend = base.showlegend;
    }
    want["margin.t"] = Math.round(top);
    want["margin.b"] = Math.round(bottom);
    var fixedBox = /px$/.test(base.boxHeight);
    var baseHeight = base.height || (fixedBox ? parseFloat(base.boxHeight) : gd._fullLayout.height);
    want.height = narrow ? Math.round(baseHeight + grow) : base.height;
    var update = {};
    Object.keys(want).forEach(function (key) {
      if (!same(want[key], get(layout, key))) { update[key] = want[key] === undefined ? null : want[key]; }
    });
    var changed = [];
    modes.forEach(function (mode, i) { if (!same(gd.data[i].mode, mode)) { changed.push(i); } });
    return {layout: update, modes: modes, changed: changed, height: want.height, fixedBox: fixedBox,
            key: w + JSON.stringify(want) + JSON.stringify(modes)};
  }

  // Plotly places a multi-line title anchored at the top a little above the top edge: push it down.
  function clearTop(gd) {
    var title = gd.querySelector(".gtitle");
    var paper = gd.querySelector(".main-svg");
    if (!title || !paper) { return null; }
    var over = paper.getBoundingClientRect().top + 4 - title.getBoundingClientRect().top;
    if (over <= 0.5) { return null; }
    var pad = (gd.layout.title && gd.layout.title.pad && gd.layout.title.pad.t) || 0;
    return window.Plotly.relayout(gd, {"title.pad.t": Math.ceil(pad + over),
                                       "margin.t": Math.ceil(gd._fullLayout.margin.t + over)});
  }

  function adapt(gd) {
    var text = info(gd);
    label(gd, text);
    table(gd, text);
    if (!text || !gd._fullLayout || gd.__a11yBusy) { return; }
    if (!text.base) { text.base = snapshot(gd); }
    var w = Math.round(gd.clientWidth || gd._fullLayout.width);
    if (!w) { return; }
    var todo = plan(gd, text.base, w);
    var misfit = Math.abs(gd._fullLayout.width - w) > 2;
    if (misfit) {
      // A box whose width will not settle (the chart's own height brings a scroll bar that narrows it,
      // and so on) must not be chased in a tight loop: at most four fits a second, then try again later.
      var now = Date.now();
      if (!gd.__a11yFits || now - gd.__a11yFits.at > 1000) { gd.__a11yFits = {at: now, count: 0}; }
      if (++gd.__a11yFits.count > 4) {
        if (!gd.__a11yRetry) {
          gd.__a11yRetry = setTimeout(function () { gd.__a11yRetry = null; adapt(gd); }, 1000);
        }
        return;
      }
      todo.layout.autosize = true;
      todo.layout.width = null;
    } else if (text.applied === todo.key) {
      return;
    }
    text.applied = todo.key;
    var outer = box(gd);
    if (todo.fixedBox) {
      var css = todo.height ? todo.height + "px" : text.base.boxHeight;
      if (outer.style.height !== css) { outer.style.height = css; }
    }
    if (!Object.keys(todo.layout).length && !todo.changed.length) { return; }
    gd.__a11yBusy = true;
    var traces = todo.changed.length ? {mode: todo.changed.map(function (i) { return todo.modes[i]; })} : {};
    window.Plotly.update(gd, traces, todo.layout, todo.changed.length ? todo.changed : undefined)
      .then(function () { return clearTop(gd); })
      .then(function () { gd.__a11yBusy = false; label(gd, info(gd)); },
            function (err) { gd.__a11yBusy = false; console.warn("auditapp charts:", String(err && err.stack || err)); });
  }

  // A chart drawn while hidden (a results section not shown yet) is 700 px wide; when it appears, or
  // its column narrows, fit it to its box instead of making the page scroll sideways.
  var resizer = window.ResizeObserver ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      var gd = entry.target;
      var full = gd._fullLayout;
      var w = gd.clientWidth;
      if (w && full && Math.abs(full.width - w) > 2 && !gd.__a11yBusy) { adapt(gd); }
    });
  }) : null;

  function attach(gd) {
    if (gd.__a11yAttached || typeof gd.on !== "function") { return; }
    gd.__a11yAttached = true;
    // On the next frame, not inside Plotly's promise chain: a redraw never re-enters itself without
    // giving the page a turn.
    gd.on("plotly_afterplot", function () { requestAnimationFrame(function () { adapt(gd); }); });
    if (resizer) { resizer.observe(gd); }
    adapt(gd);
  }

  function scan() {
    document.querySelectorAll(".js-plotly-plot").forEach(attach);
  }

  window.auditappCharts = {attach: attach, adapt: adapt, scan: scan};

  var queued = false;
  function start() {
    new MutationObserver(function () {
      if (!queued) { queued = true; requestAnimationFrame(function () { queued = false; scan(); }); }
    }).observe(document.body, {subtree: true, childList: true});
    scan();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
