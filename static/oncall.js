// The on-call board refreshes its rows in place: fetched, not reloaded, so the
// reader keeps the scroll position (a wall screen scrolled to its part of the
// region stays there). Without this file the page still works; it only ages.
(function () {
  "use strict";
  var body = document.getElementById("board-rows");
  if (!body || !window.fetch) return;
  var url = body.getAttribute("data-refresh");
  var seconds = parseInt(body.getAttribute("data-interval"), 10) || 60;
  var busy = false;

  function refresh() {
    if (busy) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      // Signed out meanwhile: the answer is the sign-in page; keep the rows shown.
      .then(function (response) {
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var x = window.scrollX, y = window.scrollY;
        body.innerHTML = html;
        window.scrollTo(x, y);
        document.dispatchEvent(new CustomEvent("board:refreshed"));
      })
      .catch(function () { /* offline for a moment: the rows shown stay */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, seconds * 1000);
  // Coming back to a hidden tab (a wall screen woken up): refresh at once.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh();
  });
  document.addEventListener("board:refresh", refresh);
})();
