// The triage queue: rows that refresh themselves without disturbing a selection, the bulk bar,
// and keyboard shortcuts (j/k move, x select, Enter open, c claim, / search, ? help).
(function () {
  "use strict";
  const live = () => document.getElementById("queue-live");
  if (!live() || !window.htmx) {
    return;
  }
  const seconds = Number(live().dataset.pollSeconds) || 10;
  const announcer = document.getElementById("queue-announce");
  const help = document.getElementById("queue-help");
  const search = document.querySelector("[data-queue-search]");
  const bulk = document.getElementById("bulk-form");
  let focusedId = null;

  const rows = () => Array.from(document.querySelectorAll("#queue-live tr[data-issue]"));
  const ticked = () => document.querySelectorAll("[data-row-select]:checked");

  function say(text) {
    if (announcer) {
      announcer.textContent = text;
    }
  }

  function isTyping(element) {
    if (!element) {
      return false;
    }
    if (element.isContentEditable) {
      return true;
    }
    if (element.tagName === "TEXTAREA" || element.tagName === "SELECT") {
      return true;
    }
    if (element.tagName === "INPUT") {
      return !["checkbox", "radio", "button", "submit", "reset"].includes(element.type);
    }
    return false;
  }

  // A refresh would drop ticked rows or what is being typed in a row: wait until the agent is done.
  function pollAllowed() {
    if (document.visibilityState === "hidden" || ticked().length > 0) {
      return false;
    }
    const active = document.activeElement;
    return !(active && active.closest("#queue-live form") && isTyping(active));
  }

  setInterval(function () {
    const element = live();
    if (element && pollAllowed()) {
      window.htmx.trigger(element, "gl-poll");
    }
  }, seconds * 1000);

  function currentRow() {
    return focusedId ? document.querySelector('#queue-live tr[data-issue="' + focusedId + '"]') : null;
  }

  function markFocused(row) {
    rows().forEach((other) => other.classList.toggle("gl-focus", other === row));
    focusedId = row ? row.dataset.issue : null;
  }

  function focusRow(row) {
    markFocused(row);
    if (row) {
      row.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    const all = rows();
    if (!all.length) {
      return;
    }
    const at = all.indexOf(currentRow());
    const next = at === -1 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + step, 0), all.length - 1);
    focusRow(all[next]);
  }

  function toggle(row) {
    const box = row.querySelector("[data-row-select]");
    if (!box) {
      say("Selecting issues is for the help desk.");
      return;
    }
    box.click();
    say(row.dataset.code + (box.checked ? " selected." : " not selected."));
  }

  function claim(row) {
    const button = row.querySelector("[data-row-claim]");
    if (!button) {
      say(row.dataset.code + " cannot be claimed: it has someone already or is closed.");
      return;
    }
    button.click();
  }

  function open(row) {
    const link = row.querySelector("[data-row-open]");
    if (link) {
      window.location.assign(link.href);
    }
  }

  function showHelp() {
    if (help && !help.open) {
      help.showModal();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return;
    }
    if (help && help.open) {
      return;
    }
    const row = currentRow();
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "x":
        if (!row) {
          return;
        }
        toggle(row);
        break;
      case "c":
        if (!row) {
          return;
        }
        claim(row);
        break;
      case "Enter":
        // Enter on a link or a button keeps its own meaning.
        if (!row || document.activeElement !== row) {
          return;
        }
        open(row);
        break;
      case "/":
        if (!search) {
          return;
        }
        search.focus();
        search.select();
        break;
      case "?":
        showHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Tabbing or clicking into a row makes it the row the shortcuts act on.
  document.addEventListener("focusin", function (event) {
    const row = event.target.closest && event.target.closest("#queue-live tr[data-issue]");
    if (row) {
      markFocused(row);
    }
  });

  // The bulk bar takes room above the rows: it shows only while some rows are ticked.
  function updateCount() {
    const count = ticked().length;
    document.querySelectorAll("[data-bulk-count]").forEach((element) => {
      element.textContent = String(count);
    });
    if (bulk) {
      bulk.hidden = count === 0;
    }
    const all = document.querySelector("[data-select-all]");
    if (all) {
      const boxes = document.querySelectorAll("[data-row-select]");
      all.checked = boxes.length > 0 && count === boxes.length;
      all.indeterminate = count > 0 && count < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-row-select]").forEach((box) => {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-row-select], [data-select-all]")) {
      updateCount();
    }
  });

  // After new rows arrive (a refresh or a claim), the focused row keeps the focus.
  document.body.addEventListener("htmx:afterSettle", function () {
    const row = currentRow();
    markFocused(row);
    if (row && (document.activeElement === document.body || !document.activeElement)) {
      row.focus({ preventScroll: true });
    }
    updateCount();
  });

  // An answer that was redirected (signed out, go-live switched) is a whole page, not rows:
  // load it as a page instead of pasting it into the table.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    const asked = new URL(event.detail.pathInfo.requestPath, window.location.href).pathname;
    if (xhr.responseURL && new URL(xhr.responseURL).pathname !== asked) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL);
    }
  });

  // The bulk bar shows the fields its chosen action needs.
  if (bulk) {
    const action = bulk.querySelector("[name=action]");
    const showFields = function () {
      bulk.querySelectorAll("[data-bulk-for]").forEach((field) => {
        field.hidden = !field.dataset.bulkFor.split(" ").includes(action.value);
      });
    };
    action.addEventListener("change", showFields);
    showFields();
  }

  document.querySelectorAll("[data-queue-help-open]").forEach((button) => {
    button.addEventListener("click", showHelp);
  });
  updateCount();
})();
