// An operation's page follows the job without reloading: while it is queued or running, the
// page asks the server for itself every 2 seconds and replaces the #job-live region (announced
// politely to screen readers). Without JavaScript, the « Actualiser » link does the same.
(function () {
  "use strict";
  var live = document.getElementById("job-live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  function active() {
    var job = live.querySelector("[data-status]");
    return job && (job.getAttribute("data-status") === "queued" || job.getAttribute("data-status") === "running");
  }
  function poll() {
    if (!active()) { return; }
    fetch(window.location.href, {headers: {"Accept": "text/html"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("job-live");
        if (fresh) { live.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { /* next try in 2 s */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
