/* One new chart per frame: the first chart of a page is painted before the next one is drawn (issue 14:
   first chart in a second). dcc.Graph asks plotly.js to draw every chart of a page in the same task, so the
   Group metrics page spent ~250 ms drawing its three charts before the browser could paint any of them.
   Now a chart's first drawing, asked while another chart was first drawn in this frame, waits for the next
   frame (after the paint), in the order asked. Updates of a chart already drawn go through at once, unless
   the chart still has a drawing waiting (they keep their order). In a hidden tab, which has no frames, a
   waiting chart is drawn within 100 ms. plotly.js may run after this file: the wrapper is installed when it
   has (window.auditappOnPlotly, callbacks.assets.index_string). */
(function () {
  "use strict";
  var Plotly = null;
  var react = null;
  var waiting = [];  // {gd, args, resolve, reject}, in the order asked
  var busy = false;  // a first drawing happened in this frame (a call to next() is then scheduled)

  function afterPaint() {
    var done = false;
    function go() { if (!done) { done = true; next(); } }
    requestAnimationFrame(function () { setTimeout(go, 0); });
    (function hiddenTab() {  // a hidden tab has no frames: its charts are drawn without waiting for one
      setTimeout(function () { if (!done) { if (document.hidden) { go(); } else { hiddenTab(); } } }, 100);
    })();
  }

  function next() {
    busy = false;
    var item = waiting.shift();
    if (!item) { return; }
    busy = true;
    afterPaint();
    if (typeof item.gd === "object" && !item.gd.isConnected) { item.resolve(item.gd); return; }  // removed
    try {
      Promise.resolve(react.apply(Plotly, item.args)).then(item.resolve, item.reject);
    } catch (err) {
      item.reject(err);
    }
  }

  function queued(gd) {
    return waiting.some(function (item) { return item.gd === gd; });
  }

  function wrapped(gd) {
    var element = typeof gd === "string" ? document.getElementById(gd) : gd;
    var drawn = element && element._fullLayout;
    if (element && (queued(element) || (!drawn && busy))) {
      var args = Array.prototype.slice.call(arguments);
      args[0] = element;
      return new Promise(function (resolve, reject) {
        waiting.push({gd: element, args: args, resolve: resolve, reject: reject});
      });
    }
    if (element && !drawn) {
      busy = true;
      afterPaint();
    }
    return react.apply(Plotly, arguments);
  }

  function install(loaded) {
    if (!loaded || typeof loaded.react !== "function" || loaded.react === wrapped) { return; }
    Plotly = loaded;
    react = Plotly.react;
    Plotly.react = wrapped;
  }

  if (window.auditappOnPlotly) {
    window.auditappOnPlotly(install);  // once plotly.js has run (callbacks.assets.index_string)
  } else {
    install(window.Plotly);
  }
})();
