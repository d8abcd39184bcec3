// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (event) {
  var el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  var box = event.target.closest("[data-select-all]");
  if (!box) return;
  document.querySelectorAll(box.getAttribute("data-select-all")).forEach(function (cb) { cb.checked = box.checked; });
});
