// Progressive enhancement for the conversation page; every action works without it.
(function () {
  "use strict";
  var form = document.querySelector(".edit-form");
  if (!form) { return; }
  var notice = form.querySelector(".unsaved-notice");
  var fields = form.querySelectorAll("input[name=subject], textarea[name=text]");
  var initial = Array.prototype.map.call(fields, function (field) { return field.value; });
  var dirty = false;
  function check() {
    dirty = Array.prototype.some.call(fields, function (field, index) { return field.value !== initial[index]; });
    if (notice) { notice.hidden = !dirty; }
  }
  Array.prototype.forEach.call(fields, function (field) { field.addEventListener("input", check); });
  form.addEventListener("submit", function () { dirty = false; });
  // Leaving the page (or approving the old text) with unsaved edits asks first.
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
