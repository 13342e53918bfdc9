/* dash-ag-grid only where a grid is shown: its 1.3 MB bundle is fetched when the first grid mounts, not by
   every page before anything is drawn. Until then (a moment), a grid is an empty box with its id. The
   bundle's address (fingerprinted, cached for a year) is set by the page template (window.auditappGridURL).
   Charts first: a grid is built once the page's first chart is drawn (at once on a page without charts, and
   after DEFER_MS at most). Parsing the bundle and laying out a grid take ~0.2 s of the main thread, which
   would otherwise hold back the charts above it (issue 14: first chart in a second). */
(function () {
  "use strict";
  var React = window.React;
  var real = null;
  var loading = null;
  var stub = {};
  var DEFER_MS = 1000;

  function chartDrawn() {
    return document.querySelector(".auditapp-chart .js-plotly-plot .main-svg");
  }

  // Hidden by the page's markup (a section with display: none, [hidden], .d-none): read from the elements,
  // not from their boxes, which would make the browser lay out the page while React is still building it. A chart
  // hidden some other way counts as shown: its grids then wait DEFER_MS at most.
  function hidden(element) {
    for (var node = element; node && node.nodeType === 1; node = node.parentNode) {
      if (node.hidden || node.style.display === "none" || node.classList.contains("d-none")) { return true; }
    }
    return false;
  }

  function chartShown() {
    return Array.prototype.some.call(document.querySelectorAll(".auditapp-chart"), function (chart) {
      return !hidden(chart);
    });
  }

  // Resolves once the page's first chart is drawn and painted, or at once when the page shows no chart.
  function chartsFirst() {
    return new Promise(function (resolve) {
      if (chartDrawn() || !chartShown()) { resolve(); return; }
      var done = false;
      var observer = null;
      var timer = null;
      function finish() {
        if (done) { return; }
        done = true;
        if (observer) { observer.disconnect(); }
        clearTimeout(timer);
        // Let the browser paint the chart before the grid takes the main thread.
        requestAnimationFrame(function () { setTimeout(resolve, 0); });
      }
      observer = new MutationObserver(function () { if (chartDrawn()) { finish(); } });
      observer.observe(document.body, {subtree: true, childList: true});
      timer = setTimeout(finish, DEFER_MS);
    });
  }

  function load() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = window.auditappGridURL;
        script.async = true;
        script.onload = function () {
          real = window.dash_ag_grid;
          window.dash_ag_grid = stub;  // keep the wrapper, so mounted grids keep their identity
          resolve(real);
        };
        script.onerror = function () { loading = null; reject(new Error("The grid script did not load.")); };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function AgGrid(props) {
    var state = React.useState(null);
    var module = state[0];
    var setModule = state[1];
    React.useEffect(function () {
      var live = true;
      chartsFirst().then(load).then(function (loaded) { if (live) { setModule(loaded); } });
      return function () { live = false; };
    }, []);
    if (!module) {
      return React.createElement("div", {id: props.id, className: props.className, style: props.style,
                                         "aria-busy": "true"});
    }
    return React.createElement(module.AgGrid, props);
  }

  stub.AgGrid = AgGrid;
  stub.getApi = function (id) { return real ? real.getApi(id) : undefined; };
  stub.getApiAsync = function (id) { return load().then(function (m) { return m.getApiAsync(id); }); };
  window.dash_ag_grid = stub;
})();
