/* Rebate desk: polls a progress JSON view for every .progress box and reloads the page once the work is done.
   Every element of the page marked data-live="<key>" shows that key of the one answer (the status badge
   marked data-live-status takes its colour from it too), so the badge, the bar and the details never
   disagree. Served by the app itself; no library. */
(function () {
  "use strict";
  function show(box, data) {
    var track = box.querySelector(".track");
    box.querySelector(".bar").style.width = data.progress + "%";
    if (track) { track.setAttribute("aria-valuenow", data.progress); }
    Object.keys(data).forEach(function (key) {
      document.querySelectorAll('[data-live="' + key + '"]').forEach(function (element) {
        element.textContent = data[key];
      });
    });
    document.querySelectorAll("[data-live-status]").forEach(function (badge) {
      badge.className = "status " + data.status;
    });
  }
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
        show(box, data);
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
