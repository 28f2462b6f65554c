// The coverage grid and the shift panel: a cell's link loads its shift into the panel (htmx)
// instead of a new page, the cell being shown is marked, and focus follows what changed.
(function () {
  "use strict";
  const panel = document.getElementById("shift-panel");
  const grid = document.querySelector(".gl-grid");
  if (!panel || !window.htmx) {
    return;
  }
  let opening = null;

  if (grid) {
    // One listener for every cell: a grid has 2,000 links, none needs attributes of its own.
    grid.addEventListener("click", function (event) {
      const link = event.target.closest("a.gl-line");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
        return;
      }
      event.preventDefault();
      opening = link;
      window.htmx.ajax("GET", link.href, { source: link, target: panel, swap: "innerHTML" });
    });
  }

  function markCurrent() {
    grid.querySelectorAll("a.gl-line[aria-current]").forEach(function (link) {
      link.removeAttribute("aria-current");
    });
    const shown = panel.querySelector(".gl-panel[data-shift]");
    if (!shown) {
      return;
    }
    const suffix = "/shifts/" + shown.dataset.shift + "/";
    grid.querySelectorAll("a.gl-line").forEach(function (link) {
      if (link.getAttribute("href").endsWith(suffix)) {
        link.setAttribute("aria-current", "true");
      }
    });
  }

  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target !== panel) {
      return;
    }
    if (grid) {
      markCurrent();
    }
    const heading = document.getElementById("shift-panel-heading");
    const reason = panel.querySelector("[name=override_reason]");
    const alert = panel.querySelector(".alert");
    if (opening && heading) {
      // Opened from a cell: Tab continues inside the panel.
      heading.focus();
      heading.scrollIntoView({ block: "nearest" });
    } else if (reason) {
      // Warnings need a reason: the answer starts there.
      reason.focus();
    } else if (alert) {
      // The outcome of a tap far down the list shows at the top of the panel.
      alert.scrollIntoView({ block: "nearest" });
    }
    opening = null;
  });
})();
