// Call-outs under way, live: the banner on every page, and on a call-out's page
// each step's outcome and escalation timers. Polled as small JSON answers, never
// reloaded, so a form being filled in is left alone. The server's clock decides
// when an escalation falls due; between polls the timers count on locally.
// Without this file every page still works; it only ages until reloaded.
(function () {
  "use strict";
  if (!window.fetch) return;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        // Signed out meanwhile: the answer is the sign-in page; keep what is shown.
        return response.ok && !response.redirected ? response.json() : null;
      });
  }

  function text(tag, className, content) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    element.textContent = content;
    return element;
  }

  // --- The banner ----------------------------------------------------------------
  var banner = document.getElementById("callout-banner");
  function refreshBanner() {
    if (!banner) return;
    getJSON(banner.getAttribute("data-src")).then(function (open) {
      if (open === null) return;
      banner.textContent = "";
      open.forEach(function (callout) {
        var line = document.createElement("p");
        line.appendChild(text("strong", "", banner.getAttribute("data-label")));
        line.appendChild(document.createTextNode(" "));
        var link = text("a", "", callout.title);
        link.href = callout.url;
        line.appendChild(link);
        if (callout.kind === "drill") {
          line.appendChild(document.createTextNode(" (" + banner.getAttribute("data-drill") + ")"));
        }
        banner.appendChild(line);
      });
      banner.hidden = open.length === 0;
      document.dispatchEvent(new CustomEvent("callouts:banner"));
    }).catch(function () { /* offline for a moment */ });
  }

  // --- A call-out's steps --------------------------------------------------------
  var steps = document.getElementById("callout-steps");
  var state = null, fetchedAt = 0;

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }

  function fill(template, label, seconds) {
    return template.replace("%(label)s", label).replace("%(time)s", duration(seconds));
  }

  function drawTimers() {
    if (!state) return;
    var elapsed = (Date.now() - fetchedAt) / 1000;
    state.steps.forEach(function (step) {
      var item = document.getElementById("step-" + step.node);
      if (!item) return;
      var box = item.querySelector(".step-timers");
      var badge = item.querySelector(".step-outcome");
      var names = steps.getAttribute("data-outcome-names");
      item.className = item.className.replace(/outcome-[a-z_]+/, "outcome-" + step.outcome);
      if (badge && badge.getAttribute("data-outcome") !== step.outcome && names) {
        badge.textContent = JSON.parse(names)[step.outcome] || badge.textContent;
        badge.setAttribute("data-outcome", step.outcome);
      }
      box.textContent = "";
      var due = step.due.slice();
      var next = step.next;
      // A timer that ran out between polls is due now, without waiting for the server.
      if (next && next.in_seconds - elapsed <= 0) {
        due.push({ label: next.label, overdue_seconds: elapsed - next.in_seconds });
        next = null;
      }
      due.forEach(function (e) {
        box.appendChild(text("p", "timer due", fill(steps.getAttribute("data-text-due"),
          e.label, e.overdue_seconds + (e.due_at ? elapsed : 0))));
      });
      if (next) {
        box.appendChild(text("p", "timer next", fill(steps.getAttribute("data-text-next"),
          next.label, next.in_seconds - elapsed)));
      }
    });
  }

  function refreshSteps() {
    if (!steps) return;
    getJSON(steps.getAttribute("data-state")).then(function (answer) {
      if (answer === null) return;
      state = answer;
      fetchedAt = Date.now();
      drawTimers();
      document.dispatchEvent(new CustomEvent("callouts:refreshed"));
    }).catch(function () { /* offline for a moment */ });
  }

  var seconds = steps ? parseInt(steps.getAttribute("data-interval"), 10) || 5 : 15;
  refreshBanner();
  if (steps) {
    refreshSteps();
    window.setInterval(drawTimers, 1000);
  }
  window.setInterval(function () { refreshBanner(); refreshSteps(); }, seconds * 1000);
  document.addEventListener("callouts:refresh", function () { refreshBanner(); refreshSteps(); });
})();
