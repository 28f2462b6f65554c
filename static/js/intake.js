// The intake form: a gentle warning before sending text that looks like it names a patient (the
// patterns come from the server, issues/intake.py), and one submission per tap.
(function () {
  "use strict";
  const form = document.getElementById("intake-form");
  const source = document.getElementById("phi-patterns");
  if (!form || !source) {
    return;
  }
  const patterns = JSON.parse(source.textContent).map(function (pattern) {
    return { label: pattern.label, re: new RegExp(pattern.source, "i") };
  });
  const confirmed = document.getElementById("id_phi_confirmed");
  const warning = document.getElementById("phi-warning");
  const kinds = document.getElementById("phi-kinds");
  const submit = document.getElementById("intake-submit");
  const title = form.elements.namedItem("title");
  const description = form.elements.namedItem("description");

  function phiFound() {
    const text = title.value + "\n" + description.value;
    return patterns.filter(function (p) { return p.re.test(text); }).map(function (p) { return p.label; });
  }

  document.getElementById("phi-send-anyway").addEventListener("click", function () {
    confirmed.value = "1";
  });
  document.getElementById("phi-edit").addEventListener("click", function (event) {
    event.preventDefault();
    warning.hidden = true;
    title.focus();
  });

  form.addEventListener("submit", function (event) {
    if (confirmed.value !== "1") {
      const found = phiFound();
      if (found.length) {
        event.preventDefault();
        kinds.textContent = found.join(", ");
        warning.hidden = false;
        warning.scrollIntoView({ block: "center" });
        return;
      }
    }
    // A second tap while the first is on its way would only wait for the same issue.
    submit.disabled = true;
    submit.textContent = "Sending…";
  });

  // Back from the confirmation (page cache): the button works again.
  window.addEventListener("pageshow", function () {
    submit.disabled = false;
    submit.textContent = "Send to the help desk";
  });
})();
