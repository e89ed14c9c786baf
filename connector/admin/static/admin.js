// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // "Select all" for the bulk actions (the checkbox is hidden until this runs).
  document.querySelectorAll("input.select-all").forEach(function (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = all.checked; });
    });
  });
  // Open an error tooltip above its label when the window has no room for it below (CSS alone opens it below).
  function placeTip(event) {
    var label = event.target.closest && event.target.closest(".status-label");
    var tip = label && label.querySelector(".error-tooltip");
    if (!tip) { return; }
    label.classList.remove("tip-up");
    var box = label.getBoundingClientRect();
    var height = tip.getBoundingClientRect().height || 200;
    var below = window.innerHeight - box.bottom, above = box.top;
    if (below < height + 12 && above > below) { label.classList.add("tip-up"); }
  }
  document.addEventListener("mouseover", placeTip);
  document.addEventListener("focusin", placeTip);
  // Escape hides an error tooltip opened by keyboard focus (WCAG 1.4.13).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.activeElement && document.activeElement.classList.contains("status-label")) {
      document.activeElement.blur();
    }
  });
  // A double click on a form's button must not submit (and email members) twice.
  document.querySelectorAll("form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () {
        form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
  // Coming back through the browser's history shows the page as it was left: enable the buttons again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[method='post'] button[type='submit']").forEach(function (b) { b.disabled = false; });
  });
})();
