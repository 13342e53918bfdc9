/* dash-ag-grid only where a grid is shown: its 1.3 MB bundle is fetched when the first grid mounts, not by
   every page before anything is drawn. Until then (a moment), a grid is an empty box with its id. The
   bundle's address (fingerprinted, cached for a year) is set by the page template (window.auditappGridURL). */
(function () {
  "use strict";
  var React = window.React;
  var real = null;
  var loading = null;
  var stub = {};

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
    var state = React.useState(real);
    var module = state[0];
    var setModule = state[1];
    React.useEffect(function () {
      if (!module) { load().then(function (loaded) { setModule(loaded); }); }
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
