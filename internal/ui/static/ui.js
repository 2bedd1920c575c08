// driftd operator page: the buttons that change remediation (approve,
// revoke, reset a breaker) call the daemon's JSON API. No inline handlers:
// each form.api carries its method and URL in data attributes.
"use strict";
(function () {
  function fields(form) {
    var body = {};
    new FormData(form).forEach(function (v, k) {
      if (v !== "") body[k] = v;
    });
    return body;
  }
  function message(status, text) {
    var detail = "";
    try {
      var j = JSON.parse(text);
      detail = j.error || j.message || "";
    } catch (e) {
      detail = (text || "").trim();
    }
    if (status === 401) return "Not signed in (401): sign in to the daemon's API to do this." + (detail ? " " + detail : "");
    if (status === 403) return "Not allowed (403): your account may not do this." + (detail ? " " + detail : "");
    return "Failed (" + status + ")" + (detail ? ": " + detail : "");
  }
  function submit(ev) {
    ev.preventDefault();
    var form = ev.currentTarget;
    var out = form.querySelector("output.api-result");
    var button = form.querySelector("button");
    button.disabled = true;
    out.className = "api-result";
    out.textContent = "Sending…";
    fetch(form.dataset.url, {
      method: form.dataset.method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(fields(form))
    }).then(function (resp) {
      return resp.text().then(function (text) {
        if (resp.ok) {
          out.className = "api-result ok";
          out.textContent = "Done. Reloading…";
          window.location.reload();
          return;
        }
        out.className = "api-result err";
        out.setAttribute("data-status", String(resp.status));
        out.textContent = message(resp.status, text);
        button.disabled = false;
      });
    }).catch(function (err) {
      out.className = "api-result err";
      out.textContent = "Request failed: " + err;
      button.disabled = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.api").forEach(function (form) {
      form.addEventListener("submit", submit);
      form.querySelectorAll("button.needs-js").forEach(function (b) { b.disabled = false; });
    });
  });
})();
