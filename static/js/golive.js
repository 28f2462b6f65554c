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
