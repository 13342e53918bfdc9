/* Names and keyboard behaviour that Dash 4.4.1's components leave out (WCAG 2.1 AA, issue 20).
   Pages build controls with layouts/components.py: a visible <label for=ID> (and an ID-help text)
   next to each control. This script makes that label the accessible name of what Dash renders:
   - a label whose target is not itself a form field (a slider, progress bar or upload container)
     names the fields inside it: the slider's handle and number box, the progress bar, the file input;
   - a help text ID-help describes the control (aria-describedby);
   - dcc.Dropdown (wrapped, not replaced: same props and callbacks): its button is named by its value
     only and hides behind a focus-catching <input aria-hidden="true" tabindex="0">; here the button is
     named "label + value" and is itself the Tab stop (the hidden input is display:none in style.css).
     In its open list, the options' inner radio/checkbox inputs are hidden (an option may not contain
     an interactive element), focus moves between the options themselves, Enter or Space picks one,
     the list is named by the label, and Tab closes the list and moves on instead of cycling inside;
   - an AG Grid wrapped in [data-a11y-name] is named by it. */
(function () {
  "use strict";
  var FIELDS = "input:not([type=hidden]), select, textarea, button.dash-dropdown, [role=slider], " +
               "[role=progressbar]";
  var serial = 0;

  function ensureId(el, prefix) {
    if (!el.id) { serial += 1; el.id = prefix + "-" + serial; }
    return el.id;
  }

  function addRef(el, attr, id, first) {
    var refs = (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean);
    if (refs.indexOf(id) >= 0) { return; }
    if (first) { refs.unshift(id); } else { refs.push(id); }
    el.setAttribute(attr, refs.join(" "));
  }

  function nameFromLabel(label) {
    var target = label.htmlFor && document.getElementById(label.htmlFor);
    if (!target) { return; }
    var labelId = ensureId(label, "a11y-label");
    var native = target.matches("input, select, textarea");
    var fields = target.matches(FIELDS) ? [target] : Array.prototype.slice.call(target.querySelectorAll(FIELDS));
    var help = document.getElementById(label.htmlFor + "-help");
    fields.forEach(function (field) {
      if (field.matches("button.dash-dropdown")) {
        // The label, then the button's text as it reads on screen ("sex, ethnicity 2 selected").
        var shown = field.querySelector(".dash-dropdown-trigger");
        var name = [labelId, shown ? ensureId(shown, "a11y-shown") : field.id + "-value"].join(" ");
        if (field.getAttribute("aria-labelledby") !== name) { field.setAttribute("aria-labelledby", name); }
      } else if (!(native && field === target)) {
        addRef(field, "aria-labelledby", labelId, true);
      }
      if (help) { addRef(field, "aria-describedby", help.id, false); }
    });
  }

  function labelOf(button) {
    var first = (button.getAttribute("aria-labelledby") || "").split(/\s+/)[0];
    var el = first && document.getElementById(first);
    return el && el.tagName === "LABEL" ? el : null;
  }

  function fixDropdown(wrapper) {
    var button = wrapper.querySelector("button.dash-dropdown");
    if (button && button.getAttribute("tabindex") !== "0") { button.setAttribute("tabindex", "0"); }
    // The clear "×" inside the button is mouse-only (Delete or Backspace clears from the keyboard):
    // announced, it would add "Clear selection" to what the button says it is.
    var clear = button && button.querySelector("a.dash-dropdown-clear:not([aria-hidden])");
    if (clear) { clear.setAttribute("aria-hidden", "true"); }
    var content = wrapper.querySelector(".dash-dropdown-content");
    if (!content || !button) { return; }
    var label = labelOf(button);
    var list = content.querySelector("[role=listbox]");
    if (label) {
      content.setAttribute("aria-labelledby", label.id);
      if (list) { list.setAttribute("aria-labelledby", label.id); }
    }
    var boxes = content.querySelectorAll(".dash-options-list-option-checkbox");
    if (list && boxes.length && boxes[0].type === "checkbox") { list.setAttribute("aria-multiselectable", "true"); }
    var search = content.querySelector("input.dash-dropdown-search");
    if (search) {
      search.setAttribute("aria-label", "Search" + (label ? " " + label.textContent.trim() : " the options"));
    }
    content.querySelectorAll("[role=option]").forEach(function (option) {
      if (option.getAttribute("tabindex") !== "-1") { option.setAttribute("tabindex", "-1"); }
    });
  }

  // Dash focuses an option's hidden input; focus the option itself instead.
  var nativeFocus = HTMLElement.prototype.focus;
  HTMLInputElement.prototype.focus = function () {
    var option = this.classList.contains("dash-options-list-option-checkbox") &&
                 this.closest(".dash-dropdown-content [role=option]");
    if (option) {
      option.setAttribute("tabindex", "-1");
      return nativeFocus.apply(option, arguments);
    }
    return nativeFocus.apply(this, arguments);
  };

  function tabbables() {
    var all = document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]");
    return Array.prototype.filter.call(all, function (el) {
      return el.tabIndex >= 0 && !el.disabled && !el.closest("[hidden], [inert]") &&
             !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    });
  }

  function close(content) {
    content.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", code: "Escape", bubbles: true}));
  }

  // Dash's dropdown button opens its list on the keyup of Enter or ArrowDown (and, when searchable, of
  // any printable key such as Space). A key that picks an option closes the list on keydown and focus goes
  // back to the button before the key is released: its keyup would reopen the list at once (measured: 4 in
  // 15 keyboard picks). The button never sees that one keyup.
  function swallowKeyUp(key) {
    var once = function (up) {
      if (up.key !== key) { return; }
      window.removeEventListener("keyup", once, true);
      if (up.target.closest && up.target.closest("button.dash-dropdown")) {
        up.preventDefault();
        up.stopPropagation();
      }
    };
    window.addEventListener("keyup", once, true);
  }

  document.addEventListener("keydown", function (event) {
    var content = event.target.closest && event.target.closest(".dash-dropdown-content");
    if (!content) { return; }
    var option = event.target.closest("[role=option]");
    if (event.key === "Tab") {
      event.preventDefault();
      event.stopPropagation();
      var button = content.closest(".dash-dropdown-wrapper").querySelector("button.dash-dropdown");
      close(content);
      var frames = 0;
      var moveOn = function () {
        // Once the list is gone (the popover then hands focus back to its button), move past the button.
        frames += 1;
        if ((document.contains(content) || document.activeElement !== button) && frames < 30) {
          requestAnimationFrame(moveOn);
          return;
        }
        var order = tabbables();
        var next = order[order.indexOf(button) + (event.shiftKey ? -1 : 1)];
        (next || button).focus();
      };
      requestAnimationFrame(moveOn);
    } else if (option && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      event.stopPropagation();
      if (!event.repeat) { swallowKeyUp(event.key); }
      var box = option.querySelector("input");
      var owner = content.closest(".dash-dropdown-wrapper");
      var ownerButton = owner && owner.querySelector("button.dash-dropdown");
      var ownerId = ownerButton && ownerButton.id;
      if (box && box.type === "radio" && box.checked) { close(content); } else if (box) { box.click(); }
      if (box && box.type === "radio") {
        // A single choice closes the list: focus goes back to its dropdown. The popover hands it back
        // itself, unless a callback re-rendered the dropdown meanwhile: then give it to the new one.
        var tries = 0;
        var giveBack = function () {
          tries += 1;
          if (document.contains(content) && tries < 30) { requestAnimationFrame(giveBack); return; }
          var target = (ownerId && document.getElementById(ownerId)) || ownerButton;
          if (target && target.isConnected && document.activeElement !== target) { target.focus(); }
        };
        requestAnimationFrame(giveBack);
      }
    }
  }, true);

  function nameGrids() {
    document.querySelectorAll("[data-a11y-name]").forEach(function (wrapper) {
      var name = wrapper.getAttribute("data-a11y-name");
      var hint = wrapper.querySelector(".auditapp-grid-hint");
      wrapper.querySelectorAll("[role=grid], [role=treegrid]").forEach(function (grid) {
        if (grid.getAttribute("aria-label") !== name) { grid.setAttribute("aria-label", name); }
        if (hint) { addRef(grid, "aria-describedby", ensureId(hint, "a11y-hint"), false); }
      });
    });
  }

  var queued = false;
  function sweep() {
    queued = false;
    document.querySelectorAll("label[for]").forEach(nameFromLabel);
    document.querySelectorAll(".dash-dropdown-wrapper").forEach(fixDropdown);
    nameGrids();
  }

  function start() {
    new MutationObserver(function () {
      if (!queued) { queued = true; requestAnimationFrame(sweep); }
    }).observe(document.body, {subtree: true, childList: true});
    sweep();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
