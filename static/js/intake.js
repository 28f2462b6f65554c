// The intake form: a gentle warning before sending text that looks like it names a patient (the
// patterns come from the server, issues/intake.py), one submission per tap, a photo over the
// limit refused at once, and each issue stored on the device before it is sent (outbox.js): with
// no network it waits there, and the form is ready for the next one.
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

  const photo = form.elements.namedItem("photo");
  const photoProblem = document.getElementById("photo-too-large");
  const maxBytes = Number(photo.closest("[data-max-bytes]").dataset.maxBytes);
  const outbox = window.goliveOutbox;

  function busy(sending) {
    submit.disabled = sending;
    submit.textContent = sending ? "Sending…" : "Send to the help desk";
  }

  function newKey() {
    form.elements.namedItem("client_key").value = crypto.randomUUID();
  }

  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  // A photo over the limit is refused here, before it is queued or sent.
  function photoTooLarge() {
    const chosen = photo.files[0];
    const tooLarge = Boolean(chosen && maxBytes && chosen.size > maxBytes);
    photo.classList.toggle("is-invalid", tooLarge);
    photoProblem.hidden = !tooLarge;
    if (tooLarge) {
      photoProblem.textContent =
        "This photo is " + megabytes(chosen.size) + "; the limit is " + megabytes(maxBytes) +
        ". Take it again closer to the screen, or send without it.";
    }
    return tooLarge;
  }
  photo.addEventListener("change", photoTooLarge);

  // The form as it is now, to keep on the device (the photo apart; the page's token is not kept:
  // the outbox sends the current one).
  function itemOf() {
    const fields = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "csrfmiddlewaretoken") {
        fields.push([name, value]);
      }
    });
    const chosen = photo.files[0] || null;
    return {
      key: form.elements.namedItem("client_key").value,
      action: form.action,
      title: form.elements.namedItem("title").value.trim(),
      fields: fields,
      photo: chosen,
      photoName: chosen ? chosen.name : "",
    };
  }

  // Ready for the next issue: the unit and the person's name and number stay.
  function clear() {
    const keep = ["unit", "reporter_name", "reporter_callback", "csrfmiddlewaretoken"];
    Array.from(form.elements).forEach(function (field) {
      if (keep.indexOf(field.name) !== -1 || !field.name) {
        return;
      }
      if (field.type === "radio" || field.type === "checkbox") {
        field.checked = false;
      } else if (field.tagName === "SELECT") {
        field.selectedIndex = 0;
      } else if (field.type !== "submit") {
        field.value = "";
      }
    });
    newKey();
    warning.hidden = true;
    document.getElementById("similar").replaceChildren();
  }

  // Put a refused issue back in the form (a photo with it), to fix and send again.
  function fill(item) {
    clear();
    item.fields.forEach(function (pair) {
      const field = form.elements.namedItem(pair[0]);
      if (!field || pair[0] === "client_key" || pair[0] === "phi_confirmed") {
        return;
      }
      if (field instanceof RadioNodeList || field.type === "radio") {
        Array.from(form.querySelectorAll("[name='" + pair[0] + "']")).forEach(function (radio) {
          radio.checked = radio.value === pair[1];
        });
      } else if (field.type === "checkbox") {
        field.checked = true;
      } else {
        field.value = pair[1];
      }
    });
    if (item.photo) {
      const files = new DataTransfer();
      files.items.add(new File([item.photo], item.photoName || "photo", { type: item.photo.type }));
      photo.files = files.files;
    }
    title.focus();
  }
  document.addEventListener("golive:restore", function (event) {
    fill(event.detail);
  });

  function sendPlainly() {
    busy(true);
    form.submit();
  }

  function queue() {
    const item = itemOf();
    busy(true);
    outbox.add(item).then(
      function (result) {
        if (result.sent) {
          outbox.forget(item.key).then(function () {
            location.assign(result.sent.confirmation);
          });
        } else if (result.refused && result.refused.form) {
          // The server says what to fix, in the form, as without the outbox.
          outbox.forget(item.key).then(sendPlainly);
        } else {
          clear();
          busy(false);
          outbox.render().then(function () {
            window.scrollTo(0, 0);
            document.getElementById("gl-outbox").focus();
          });
        }
      },
      // The device cannot store it (storage full or refused): send it the plain way.
      sendPlainly
    );
  }

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
    if (photoTooLarge()) {
      event.preventDefault();
      photo.focus();
      return;
    }
    if (!outbox) {
      // A second tap while the first is on its way would only wait for the same issue.
      busy(true);
      return;
    }
    event.preventDefault();
    if (!form.checkValidity()) {
      // Online, the server names what is missing in the form's own words; offline, the browser.
      if (navigator.onLine) {
        sendPlainly();
      } else {
        form.reportValidity();
      }
      return;
    }
    queue();
  });

  // A copy kept on the device carries the key of the form it was copied from: each issue logged
  // from it needs its own.
  if (document.documentElement.dataset.copy === "kept") {
    newKey();
  }
  const restoring = /^#restore-(.+)$/.exec(location.hash);
  if (outbox && restoring) {
    const key = decodeURIComponent(restoring[1]);
    history.replaceState(null, "", location.pathname);
    outbox.get(key).then(function (item) {
      if (item && item.who === outbox.who) {
        outbox.forget(key).then(function () {
          fill(item);
          outbox.render();
        });
      }
    });
  }

  // Back from the confirmation (page cache): the button works again.
  window.addEventListener("pageshow", function () {
    busy(false);
  });
})();
