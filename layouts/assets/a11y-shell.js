/* The page shell for keyboard and screen-reader users (layouts/shell.py; WCAG 2.1 AA, issue 20):
   - the skip link focuses <main> without touching the URL (a hash would reach Dash's router);
   - after a route change, focus goes to the new page's <h1> and the live region says its name;
   - the active navigation link carries aria-current="page";
   - a focused button that turns disabled while work runs (Compute, Run) hands focus to an enabled
     sibling (its Cancel button), and gets it back when the work ends, instead of dropping it to <body>;
   - a focused control that disappears (the queue banner's Cancel once the audit is cancelled) hands
     focus back to the last control focused before it that is still there, instead of to <body>;
   - scroll containers that overflow become a named, focusable region, so a keyboard can scroll them. */
(function () {
  "use strict";
  var MAIN = "main-content";
  var ANNOUNCER = "app-route-announcer";
  var SCROLLERS = ".auditapp-scroll, .table-responsive";
  var route = {path: location.pathname, heading: null, since: 0};
  var lastFocused = null;
  var focusHistory = [];  // the last few focused controls, newest last
  var returnTo = null;

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".auditapp-skip-link");
    var main = document.getElementById(MAIN);
    if (link && main) {
      event.preventDefault();
      main.focus();
    }
  });

  function mainHeading() {
    var main = document.getElementById(MAIN);
    return main ? main.querySelector("h1") : null;
  }

  function routeChanged() {
    if (location.pathname === route.path) { return; }
    route = {path: location.pathname, heading: mainHeading(), since: Date.now()};
    schedule();
  }

  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      setTimeout(routeChanged, 0);
      return result;
    };
  });
  window.addEventListener("popstate", function () { setTimeout(routeChanged, 0); });
  window.addEventListener("_dashprivate_pushstate", function () { setTimeout(routeChanged, 0); });

  function announceNewPage() {
    if (!route.since) { return; }
    var heading = mainHeading();
    if (!heading || heading === route.heading || !heading.textContent.trim()) {
      if (Date.now() - route.since > 15000) { route.since = 0; }
      return;
    }
    route.since = 0;
    heading.setAttribute("tabindex", "-1");
    heading.focus();
    var announcer = document.getElementById(ANNOUNCER);
    if (announcer) {
      announcer.textContent = "";
      setTimeout(function () { announcer.textContent = heading.textContent.trim() + " page"; }, 50);
    }
  }

  function markCurrentLink() {
    document.querySelectorAll("nav .nav-link[href]").forEach(function (link) {
      if (link.pathname === location.pathname) {
        if (link.getAttribute("aria-current") !== "page") { link.setAttribute("aria-current", "page"); }
      } else if (link.hasAttribute("aria-current")) {
        link.removeAttribute("aria-current");
      }
    });
  }

  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }

  function enabledPartner(button) {
    var parent = button.parentElement;
    if (!parent) { return null; }
    var others = Array.prototype.filter.call(parent.querySelectorAll("button, a[href]"), function (el) {
      return el !== button && !el.disabled && visible(el);
    });
    var after = others.filter(function (el) {
      return button.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    return after[0] || others[others.length - 1] || null;
  }

  document.addEventListener("focusin", function (event) {
    lastFocused = event.target;
    focusHistory = focusHistory.filter(function (el) { return el !== event.target; }).slice(-7);
    focusHistory.push(event.target);
  });

  function usable(el) {
    return el && el.isConnected && !el.disabled && visible(el) && el.getAttribute("aria-hidden") !== "true";
  }

  // Focus fell to <body> because the focused control was hidden or removed. Two frames later (time for
  // a component's own focus handling), if it is still there: the control re-rendered under the same id,
  // else the newest earlier control that can still take it (never an option of a closing list).
  function holdsFocus(el) {
    // Only a button that was just hidden (Cancel in a banner that closes) counts as having lost focus; an
    // option of a closing list or a hidden input (an upload's file picker) is left to its own component.
    return !!el && el !== document.body &&
           (usable(el) || el.tagName !== "BUTTON" || !!el.closest(".dash-dropdown-content"));
  }

  var recovering = false;
  function recoverLostFocus() {
    // The focused control may still be the active element for a moment after it was hidden (the browser
    // moves focus to <body> at its next rendering step): count a hidden or removed one as lost too.
    if (recovering || holdsFocus(document.activeElement)) { return; }
    if (!lastFocused || usable(lastFocused) || route.since) { return; }
    recovering = true;
    requestAnimationFrame(function () { requestAnimationFrame(function () {
      recovering = false;
      if (holdsFocus(document.activeElement) || usable(lastFocused)) { return; }
      var same = lastFocused.id ? document.getElementById(lastFocused.id) : null;
      if (usable(same)) { same.focus(); return; }
      for (var i = focusHistory.length - 1; i >= 0; i--) {
        var el = focusHistory[i];
        if (el !== lastFocused && usable(el) && !el.closest(".dash-dropdown-content")) { el.focus(); return; }
      }
    }); });
  }

  function keepFocus(button) {
    if (button.disabled) {
      var active = document.activeElement;
      if (button !== lastFocused || (active && active !== document.body && active !== button)) { return; }
      var partner = enabledPartner(button);
      var holder = partner || button.parentElement;
      if (!partner) {
        holder.setAttribute("tabindex", "-1");
        holder.classList.add("auditapp-focus-holder");
        returnTo = button;
      }
      holder.focus();
    } else if (button === returnTo) {
      var now = document.activeElement;
      returnTo = null;
      if (!now || now === document.body || now.classList.contains("auditapp-focus-holder")) {
        if (now && now.classList.contains("auditapp-focus-holder")) {
          now.removeAttribute("tabindex");
          now.classList.remove("auditapp-focus-holder");
        }
        button.focus();
      }
    }
  }

  function regionName(el) {
    var card = el.closest(".card");
    var heading = card ? card.querySelector(".card-header h2, .card-header h3") : null;
    return (heading ? heading.textContent.trim() + ": " : "") + "scrollable table";
  }

  function reachableScrollers() {
    document.querySelectorAll(SCROLLERS).forEach(function (el) {
      var overflows = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
      if (overflows && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", regionName(el));
        el.dataset.a11yScroll = "1";
      } else if (!overflows && el.dataset.a11yScroll) {
        ["tabindex", "role", "aria-label", "data-a11y-scroll"].forEach(function (a) { el.removeAttribute(a); });
      }
    });
  }

  var queued = false;
  function schedule() {
    if (queued) { return; }
    queued = true;
    requestAnimationFrame(function () {
      queued = false;
      markCurrentLink();
      announceNewPage();
      reachableScrollers();
    });
  }

  function start() {
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        if (record.type === "attributes" && record.attributeName === "disabled" &&
            record.target.tagName === "BUTTON") {
          keepFocus(record.target);
        }
      });
      recoverLostFocus();
      // Style changes (charts redraw often) only matter for lost focus; the rest waits for real changes.
      if (records.some(function (r) { return r.type === "childList" || r.attributeName !== "style"; })) {
        schedule();
      }
    }).observe(document.body, {subtree: true, childList: true, attributes: true,
                               attributeFilter: ["disabled", "style", "hidden"]});
    window.addEventListener("resize", schedule);
    schedule();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
