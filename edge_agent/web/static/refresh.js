// Keeps the status current by swapping in a fresh copy every few seconds instead of reloading
// the page: an installer's form, its focus and scroll position stay where they are.
(function () {
  "use strict";
  var first = document.getElementById("status");
  if (!first) {
    return;
  }
  var periodMs = Math.max(1, Number(first.dataset.refreshS) || 5) * 1000;
  var stale = document.getElementById("stale");

  function swapIn(fresh) {
    var status = fresh.getElementById("status");
    if (status) {
      document.getElementById("status").replaceWith(status);
    }
    // Results sit in a live region: change its content only when it changed, so a screen reader
    // announces a new result once rather than the whole list every few seconds.
    var results = document.getElementById("results");
    var freshResults = fresh.getElementById("results");
    if (results && freshResults && results.innerHTML !== freshResults.innerHTML) {
      results.innerHTML = freshResults.innerHTML;
    }
  }

  function refresh() {
    fetch("/partials/status", { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html;
        swapIn(template.content);
        stale.hidden = true;
      })
      .catch(function () {
        stale.hidden = false;
      })
      .finally(function () {
        window.setTimeout(refresh, periodMs);
      });
  }

  window.setTimeout(refresh, periodMs);
})();
