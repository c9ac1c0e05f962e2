/* Suggest articles while a customer types the subject of a contact or complaint form
   (progressive enhancement: without it, the "Find answers first" button does the same). */
(function () {
  "use strict";
  if (!window.fetch) return;
  var input = document.querySelector("input[data-suggest-api]");
  var box = document.getElementById("ss-suggestions");
  if (!input || !box) return;
  var list = box.querySelector("ul");
  var api = input.getAttribute("data-suggest-api");
  var timer = null;
  var last = "";
  var controller = null;

  function show(items) {
    list.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.title;
      li.appendChild(a);
      if (item.summary) {
        var span = document.createElement("span");
        span.className = "ss-suggestions__summary";
        span.textContent = " — " + item.summary;
        li.appendChild(span);
      }
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
  }

  function lookUp() {
    var q = input.value.trim();
    if (q === last) return;
    last = q;
    if (q.length < 3) { show([]); return; }
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    var sep = api.indexOf("?") === -1 ? "?" : "&";
    fetch(api + sep + "q=" + encodeURIComponent(q), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      signal: controller ? controller.signal : undefined
    }).then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
      .then(function (data) { show(data.suggestions || []); })
      .catch(function () { /* suggestions are optional */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 350);
  });
})();
