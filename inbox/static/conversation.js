// Progressive enhancement for the conversation page; every action works without it.
// - the preview follows the edited text while staff type (the "Preview without saving" button,
//   pressed for them a moment after they stop typing);
//   and the plain-text part below it follows as well;
// - leaving the page with unsaved edits asks first.
(function () {
  "use strict";
  var form = document.querySelector(".edit-form");
  if (!form) { return; }
  var notice = form.querySelector(".unsaved-notice");
  var previewButton = form.querySelector(".preview-button");
  var fields = form.querySelectorAll("input[name=subject], textarea[name=text]");
  var initial = Array.prototype.map.call(fields, function (field) { return field.value; });
  var typedBefore = Boolean(notice && !notice.hidden);  // the page came back with unsaved text
  var dirty = typedBefore;
  var timer = null;
  var textPart = document.querySelector("[data-testid=preview-text]");

  function previewText() {
    if (!textPart || !window.fetch || !previewButton) { return; }
    var data = new FormData(form);
    data.set("part", "text");
    window.fetch(previewButton.formAction, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) { if (text !== null) { textPart.textContent = text; } })
      .catch(function () { /* the saved text part stays; the HTML preview still follows */ });
  }

  function changed() {
    dirty = typedBefore || Array.prototype.some.call(fields, function (field, index) {
      return field.value !== initial[index];
    });
    if (notice) { notice.hidden = !dirty; }
    if (previewButton && typeof form.requestSubmit === "function") {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { form.requestSubmit(previewButton); previewText(); }, 700);
    }
  }

  Array.prototype.forEach.call(fields, function (field) { field.addEventListener("input", changed); });
  form.addEventListener("submit", function (event) {
    if (event.submitter !== previewButton) { dirty = false; window.clearTimeout(timer); }
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
