/* "Was this helpful?" without a page reload (progressive enhancement of _helpful.html).
   Without this file the buttons post a plain form and the thank-you page takes over.
   With it: the vote goes to the JSON API, the follow-up questions appear in place, and the
   comment is sent the same way. Any failure falls back to the plain form. No inline script:
   the Content-Security-Policy forbids it. */
(function () {
  "use strict";
  if (!window.fetch || !window.HTMLTemplateElement) return;

  function send(api, body) {
    return fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data && data.error ? data.error : "Something went wrong");
        return data;
      });
    });
  }

  function enhance(box) {
    var vote = box.querySelector(".ss-helpful__vote");
    var status = box.querySelector("[data-ss-helpful-status]");
    var template = box.querySelector("template[data-ss-helpful-followup]");
    if (!vote || !status || !template) return;
    var api = vote.getAttribute("data-api");
    var page = vote.elements.page.value;
    var answer = null;
    var details = null;

    vote.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.value) return; // an old browser: let the form post
      event.preventDefault();
      answer = button.value;
      send(api, { page: page, helpful: answer }).then(function () {
        Array.prototype.forEach.call(vote.querySelectorAll("button"), function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        status.textContent = "Thanks for your feedback. You can change your answer at any time.";
        showDetails();
      }).catch(function () { vote.submit(); });
    });

    function showDetails() {
      if (details) details.remove();
      details = template.content.firstElementChild.cloneNode(true);
      Array.prototype.forEach.call(details.querySelectorAll("fieldset[data-answer]"), function (set) {
        var mine = set.getAttribute("data-answer") === answer;
        set.hidden = !mine;
        set.disabled = !mine;
      });
      details.addEventListener("submit", function (event) {
        event.preventDefault();
        var reason = details.querySelector("input[name=reason]:checked:not(:disabled)");
        var comment = details.elements.comment.value;
        send(api, { page: page, helpful: answer, reason: reason ? reason.value : "", comment: comment })
          .then(function () {
            details.remove();
            details = null;
            status.textContent = "Thank you, we have your comments.";
          })
          .catch(function (error) { status.textContent = error.message; });
      });
      box.appendChild(details);
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-ss-helpful]"), enhance);
})();
