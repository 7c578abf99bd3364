/* Rebate desk: folds the top bar's menu behind its button on a narrow screen. Without this script the menu
   simply stays open (it wraps to fit). Served by the app itself; no library. */
(function () {
  "use strict";
  var button = document.getElementById("menu-button");
  var menu = document.getElementById("menu");
  if (!button || !menu) { return; }
  var narrow = window.matchMedia("(max-width: 760px)");
  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("closed", !open);
  }
  function fit() {
    button.hidden = !narrow.matches;
    set(!narrow.matches);
  }
  button.addEventListener("click", function () { set(button.getAttribute("aria-expanded") !== "true"); });
  menu.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && narrow.matches) { set(false); button.focus(); }
  });
  if (narrow.addEventListener) { narrow.addEventListener("change", fit); }
  fit();
})();
