/* One workspace per browser: the workspace's state lives in localStorage, shared by the browser's tabs.
   Before the page's stores start, compare the workspace tag the server set (a cookie) with the one the
   stored state belongs to; when they differ (a new browser session, a login or a logout), drop the old
   state so that this workspace starts clean. See callbacks/browser_session.py. */
(function () {
  "use strict";
  var TAG_COOKIE = "auditapp_workspace_tag";
  var TAG_KEY = "auditapp-workspace-tag";
  var KEYS = ["app-state-store", "app-results-store"];

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) { return decodeURIComponent(parts[i].slice(eq + 1)); }
    }
    return "";
  }

  try {
    var tag = cookie(TAG_COOKIE);
    if (window.localStorage.getItem(TAG_KEY) !== tag || !tag) {
      KEYS.forEach(function (key) {
        window.localStorage.removeItem(key);
        window.localStorage.removeItem(key + "-timestamp");
      });
      window.localStorage.setItem(TAG_KEY, tag);
    }
  } catch (e) { /* storage unavailable: the stores keep their state in memory */ }
})();
