/* Rebate desk: small helps on every page, served by the app itself (no library). Every page works without it.
   - The top bar's menu folds behind its button on a narrow screen (without this script it stays open and wraps).
   - The element marked autofocus (an error summary, a confirmation) takes the focus as the page opens.
   - A link of the error summary puts the keyboard on its field, not only the screen. */
(function () {
  "use strict";
  var button = document.getElementById("menu-button");
  var menu = document.getElementById("menu");
  if (button && menu) {
    var narrow = window.matchMedia("(max-width: 760px)");
    var set = function (open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("closed", !open);
    };
    var fit = function () {
      button.hidden = !narrow.matches;
      set(!narrow.matches);
    };
    button.addEventListener("click", function () { set(button.getAttribute("aria-expanded") !== "true"); });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && narrow.matches) { set(false); button.focus(); }
    });
    if (narrow.addEventListener) { narrow.addEventListener("change", fit); }
    fit();
  }
  // The browser's own autofocus waits for a rendered frame; focusing here puts the keyboard there at once.
  var first = document.querySelector("[autofocus]");
  if (first && document.activeElement === document.body) { first.focus(); }
  document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (field) {
        event.preventDefault();
        field.focus();
        field.scrollIntoView({block: "center"});
      }
    });
  });
})();
