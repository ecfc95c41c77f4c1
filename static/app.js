// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // "/" jumps to the search box, as in many tools; not while typing elsewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var box = document.getElementById("q");
    // In the search box itself "/" means "start over", never a character to search for.
    if (box && target === box) {
      event.preventDefault();
      box.select();
      return;
    }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    } else {
      window.location.href = "/";
    }
  });

  // Enter in a field that names a button (data-enter-presses) presses that
  // button, not the form's first: "Find" beside a name, not "Save".
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field || !field.form || !field.dataset) return;
    var name = field.dataset.enterPresses;
    if (!name) return;
    var button = field.form.querySelector('[name="' + name + '"]');
    if (button) {
      event.preventDefault();
      button.click();
    }
  });

  // Type-ahead: results follow the typing, from the same server-rendered HTML.
  var box = document.querySelector("[data-typeahead]");
  var results = document.getElementById("results");
  if (!box || !results || !window.fetch) return;
  var timer = null;
  var latest = 0;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var query = box.value.trim();
      var ticket = ++latest;
      if (query.length < 2) return;
      var url = box.getAttribute("data-typeahead") + "?fragment=1&q=" + encodeURIComponent(query);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html !== null && ticket === latest) {
            results.innerHTML = html;
            history.replaceState(null, "", "/search?q=" + encodeURIComponent(query));
          }
        })
        .catch(function () { /* the form still works */ });
    }, 180);
  });
})();
