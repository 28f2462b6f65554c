// Keep the header clock at the go-live's local time without reloading the page.
(function () {
  "use strict";
  const clock = document.querySelector("[data-gl-clock]");
  if (!clock) {
    return;
  }
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: clock.dataset.tz,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
  function tick() {
    clock.textContent = format.format(new Date()).replace(",", "");
  }
  tick();
  setInterval(tick, 15000);
})();

// Behaviour that pages ask for with data attributes: the Content-Security-Policy refuses onclick=
// and other handlers written in the HTML. One listener each on the document, so rows that htmx
// swaps in later work as well.
(function () {
  "use strict";
  // A Print button: <button type="button" data-gl-print>.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-gl-print]")) {
      window.print();
    }
  });
  // A read-only field whose whole text is selected when it gets the focus, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-gl-select-on-focus]")) {
      event.target.select();
    }
  });
})();
