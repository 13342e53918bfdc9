/* Streaming uploads: post the chosen file to /api/upload/<kind> with a progress bar, then hand the
   server's JSON answer to Dash by setting the data of the upload-result store. */
(function () {
  "use strict";
  var RESULT_STORE = "app-upload-result-store";

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function upload(file, kind, progressId) {
    var progress = document.getElementById(progressId);
    if (progress) { progress.classList.remove("d-none"); }
    setProps(progressId, {value: 0, label: "0%", color: "primary", animated: true});
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/upload/" + kind);
    // The browser's workspace cookie says whose file it is; this header shows it comes from the page.
    xhr.setRequestHeader("X-Auditapp-Upload", "1");
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.round(100 * e.loaded / e.total);
        setProps(progressId, {value: pct, label: pct < 100 ? pct + "%" : "checking…"});
      }
    };
    xhr.onload = function () {
      var payload;
      try { payload = JSON.parse(xhr.responseText); } catch (e) {
        payload = {kind: kind, name: file.name,
                   error: "The server answered with status " + xhr.status + ". Try again."};
      }
      payload.kind = payload.kind || kind;
      payload.nonce = Date.now();
      setProps(progressId, payload.error ? {value: 100, label: "failed", color: "danger", animated: false}
                                         : {value: 100, label: "done", color: "success", animated: false});
      setProps(RESULT_STORE, {data: payload});
    };
    xhr.onerror = function () {
      setProps(progressId, {value: 100, label: "failed", color: "danger", animated: false});
      setProps(RESULT_STORE, {data: {kind: kind, name: file.name, nonce: Date.now(),
        error: "The upload of '" + file.name + "' was interrupted. Check the connection and try again."}});
    };
    xhr.send(file);
  }

  function choose(zone) {
    var input = document.createElement("input");
    input.type = "file";
    input.accept = zone.dataset.accept || "";
    input.className = "d-none";
    input.addEventListener("change", function () {
      if (input.files.length) { upload(input.files[0], zone.dataset.kind, zone.dataset.progress); }
      input.remove();
    });
    document.body.appendChild(input);
    input.click();
  }

  document.addEventListener("click", function (e) {
    var zone = zoneOf(e.target);
    if (zone) { choose(zone); }
  });

  function zoneOf(el) { return el && el.closest ? el.closest(".auditapp-drop") : null; }
  document.addEventListener("dragover", function (e) {
    var zone = zoneOf(e.target);
    if (zone) { e.preventDefault(); zone.classList.add("dragging"); }
  });
  document.addEventListener("dragleave", function (e) {
    var zone = zoneOf(e.target);
    if (zone) { zone.classList.remove("dragging"); }
  });
  document.addEventListener("drop", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) { return; }
    e.preventDefault();
    zone.classList.remove("dragging");
    if (e.dataTransfer.files.length) { upload(e.dataTransfer.files[0], zone.dataset.kind, zone.dataset.progress); }
  });
  document.addEventListener("keydown", function (e) {
    var zone = zoneOf(e.target);
    if (zone && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      choose(zone);
    }
  });
})();
