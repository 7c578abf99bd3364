/* Rebate desk: polls a progress JSON view for every .progress bar and reloads the page once the work is done.
   Served by the app itself; no library. */
(function () {
  "use strict";
  function poll(box) {
    var url = box.getAttribute("data-progress-url");
    if (!url || box.getAttribute("data-finished") === "true") { return; }
    var timer = window.setInterval(function () {
      var request = new XMLHttpRequest();
      request.open("GET", url);
      request.setRequestHeader("Accept", "application/json");
      request.onload = function () {
        if (request.status !== 200) { return; }
        var data = JSON.parse(request.responseText);
        box.querySelector(".bar").style.width = data.progress + "%";
        box.querySelector(".percent").textContent = data.progress;
        box.querySelector(".status").textContent = data.status_display;
        if (data.finished) {
          window.clearInterval(timer);
          window.location.reload();
        }
      };
      request.send();
    }, 700);
  }
  document.querySelectorAll(".progress[data-progress-url]").forEach(poll);
})();
