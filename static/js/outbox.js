// The device's outbox and its offline pages.
//
// An issue logged on this device is stored here (IndexedDB) before it is sent, with its key
// (client_key): a reload, a closed tab or a restarted browser does not lose it, and the server
// makes one issue of a key however often it arrives. Waiting issues are sent when a page opens,
// when the network comes back, every RETRY_MS and on "Send now"; the panel at the top of the page
// says how many wait, then gives their numbers. An issue the server refuses (its tablet revoked,
// its unit closed, a field it no longer accepts) stays on the device, shown with the reason.
//
// Each issue belongs to whoever logged it (`data-gl-who`: the tablet or the signed-in person) and
// is sent only as them. Also here: the service worker's registration on the floor pages, the age
// of a kept copy shown offline, and dropping the copies when the tablet turns out revoked.
(function () {
  "use strict";
  const body = document.body;
  const who = body.dataset.glWho || "";
  const panel = document.getElementById("gl-outbox");
  const DB_NAME = "golive-device";
  const STORE = "outbox";
  // The service worker's copies of the floor pages (PAGES in static/js/sw.js).
  const PAGES = "golive-pages";
  const RETRY_MS = 20000;
  const SENT_SHOWN_MS = 12 * 60 * 60 * 1000;
  let waiting = 0;
  let lastProblem = null;

  if (!window.indexedDB || !panel) {
    return;
  }

  // --- Storage ------------------------------------------------------------------------------------

  function openDb() {
    return new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "key" });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function inStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        const transaction = db.transaction(STORE, mode);
        const request = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () {
          db.close();
          resolve(request ? request.result : undefined);
        };
        transaction.onerror = transaction.onabort = function () {
          db.close();
          reject(transaction.error);
        };
      });
    });
  }

  const store = {
    all: function () {
      return inStore("readonly", function (s) {
        return s.getAll();
      }).then(function (items) {
        return items.sort(function (a, b) {
          return a.queuedAt - b.queuedAt;
        });
      });
    },
    get: function (key) {
      return inStore("readonly", function (s) {
        return s.get(key);
      });
    },
    put: function (item) {
      return inStore("readwrite", function (s) {
        s.put(item);
      });
    },
    remove: function (key) {
      return inStore("readwrite", function (s) {
        s.delete(key);
      });
    },
  };

  // --- Sending ------------------------------------------------------------------------------------

  function csrfToken() {
    const cookie = document.cookie.split("; ").find(function (part) {
      return part.startsWith("csrftoken=");
    });
    if (cookie) {
      return cookie.slice("csrftoken=".length);
    }
    const field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // One attempt: {sent: answer}, {refused: answer} or {later: why}.
  function send(item, timeoutMs) {
    const data = new FormData();
    item.fields.forEach(function (pair) {
      data.append(pair[0], pair[1]);
    });
    if (item.photo) {
      data.append("photo", item.photo, item.photoName || "photo");
    }
    return fetch(item.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Golive-Queue": "1", Accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    }).then(
      function (response) {
        const json = (response.headers.get("Content-Type") || "").startsWith("application/json");
        if (!json && response.status === 413) {
          return {
            refused: {
              message: "Too large for the server (the photo, most likely): send it without the photo.",
            },
          };
        }
        if (!json) {
          // A proxy's error page, a server restarting, a stale form token: try again later.
          return { later: { message: "The server did not take it yet (" + response.status + ")." } };
        }
        return response.json().then(function (answer) {
          if (response.status === 201) {
            return { sent: answer };
          }
          if (response.status === 400 || response.status === 403) {
            return { refused: answer };
          }
          return { later: answer };
        });
      },
      function () {
        return { later: { message: "No network." } };
      }
    );
  }

  // Write down what the attempt settled (nothing if it must be tried again).
  function settle(item, result) {
    if (result.sent) {
      item.state = "sent";
      item.code = result.sent.code;
      item.url = result.sent.url;
      item.sentAt = Date.now();
      item.fields = [];
      item.photo = null;
      return store.put(item);
    }
    if (result.refused) {
      item.state = "refused";
      item.message = result.refused.message;
      if (result.refused.revoked) {
        forgetCopies();
      }
      return store.put(item);
    }
    return Promise.resolve();
  }

  // Send the issue once and write down what came of it: {sent}, {refused} or {later}.
  function attempt(item, timeoutMs) {
    return send(item, timeoutMs).then(function (result) {
      lastProblem = result.later || null;
      return settle(item, result).then(function () {
        return result;
      });
    });
  }

  // One tab at a time sends: another tab waits, then finds the issues sent.
  function exclusively(work) {
    return navigator.locks ? navigator.locks.request("golive-outbox", work) : work();
  }

  function flush() {
    if (!who) {
      return render();
    }
    return exclusively(function () {
      return store.all().then(function (items) {
        const mine = items.filter(function (item) {
          return item.who === who && item.state === "waiting";
        });
        let chain = Promise.resolve(true);
        mine.forEach(function (item) {
          chain = chain.then(function (goOn) {
            if (!goOn) {
              return false;
            }
            return attempt(item, 30000).then(function (result) {
              return !result.later;
            });
          });
        });
        return chain;
      });
    })
      .catch(function () {})
      .then(render);
  }

  // --- The panel ----------------------------------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function button(label, className, onClick) {
    const node = element("button", "btn " + className, label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function timeOf(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  function section(tone, heading) {
    const box = element("section", "alert alert-" + tone + " gl-outbox-box");
    box.appendChild(element("h2", "h5", heading));
    return box;
  }

  function othersBox(count) {
    const one = count === 1;
    const box = section(
      "secondary",
      "⏳ " + plural(count, "issue", "issues") + " logged by someone else waiting to send"
    );
    box.appendChild(
      element(
        "p",
        "mb-0",
        (one ? "It was" : "They were") +
          " logged on this device by the unit's tablet or another person, and " +
          (one ? "goes" : "go") + " when they are back on it. Signing out deletes " +
          (one ? "it." : "them.")
      )
    );
    return box;
  }

  function waitingBox(items) {
    const box = section(
      "warning",
      "⏳ " + plural(items.length, "issue", "issues") + " waiting to send"
    );
    const where = body.dataset.glDeviceName || "this device";
    const note = element(
      "p",
      "mb-2",
      "Kept on " + where + ": they go to the help desk by themselves as soon as the network is back."
    );
    box.appendChild(note);
    if (!navigator.onLine) {
      box.appendChild(element("p", "mb-2 fw-semibold", "No network now."));
    } else if (lastProblem && lastProblem.sign_in) {
      const again = element("p", "mb-2 fw-semibold", "Sign in again to send them: ");
      const link = element("a", "", "Sign in");
      link.href = lastProblem.sign_in + "?next=" + encodeURIComponent(location.pathname);
      again.appendChild(link);
      box.appendChild(again);
    } else if (lastProblem && lastProblem.message) {
      box.appendChild(element("p", "mb-2", lastProblem.message));
    }
    const list = element("ul", "mb-2");
    items.forEach(function (item) {
      list.appendChild(element("li", "", item.title + " · logged " + timeOf(item.queuedAt)));
    });
    box.appendChild(list);
    box.appendChild(button("Send now", "btn-dark", flush));
    return box;
  }

  function sentBox(items) {
    const box = section("success", "✓ Sent to the help desk");
    const list = element("ul", "mb-2");
    items.forEach(function (item) {
      const row = element("li", "");
      const link = element("a", "fw-semibold", item.code);
      link.href = item.url;
      link.dataset.testid = "sent-issue";
      row.appendChild(link);
      row.appendChild(document.createTextNode(" " + item.title));
      list.appendChild(row);
    });
    box.appendChild(list);
    box.appendChild(
      button("OK", "btn-outline-dark", function () {
        Promise.all(
          items.map(function (item) {
            return store.remove(item.key);
          })
        ).then(render);
      })
    );
    return box;
  }

  function refusedBox(items) {
    const box = section("danger", "✗ Not logged: " + plural(items.length, "issue", "issues"));
    const list = element("ul", "list-unstyled mb-0");
    items.forEach(function (item) {
      const row = element("li", "mb-2");
      row.appendChild(element("strong", "", item.title));
      row.appendChild(element("div", "", item.message));
      const actions = element("div", "d-flex flex-wrap gap-2 mt-1");
      if (item.who === who && body.dataset.glIntake) {
        actions.appendChild(
          button("Edit and send again", "btn-outline-dark", function () {
            restore(item);
          })
        );
      }
      actions.appendChild(
        button("Remove", "btn-outline-dark", function () {
          store.remove(item.key).then(render);
        })
      );
      row.appendChild(actions);
      list.appendChild(row);
    });
    box.appendChild(list);
    return box;
  }

  function render() {
    return store
      .all()
      .then(function (items) {
        const now = Date.now();
        const revoked = document.querySelector("[data-gl-revoked]") !== null;
        const mine = function (item) {
          return item.who === who || (revoked && item.who.startsWith("tablet:"));
        };
        const own = items.filter(function (item) {
          return item.who === who && item.state === "waiting";
        });
        const others = items.filter(function (item) {
          return item.who !== who && item.state === "waiting";
        }).length;
        const sent = items.filter(function (item) {
          return item.who === who && item.state === "sent" && now - item.sentAt < SENT_SHOWN_MS;
        });
        const refused = items.filter(function (item) {
          return mine(item) && item.state === "refused";
        });
        waiting = own.length + others;
        panel.replaceChildren();
        if (refused.length) {
          panel.appendChild(refusedBox(refused));
        }
        if (own.length) {
          panel.appendChild(waitingBox(own));
        }
        if (others) {
          panel.appendChild(othersBox(others));
        }
        if (sent.length) {
          panel.appendChild(sentBox(sent));
        }
        panel.hidden = !panel.childElementCount;
      })
      .catch(function () {});
  }

  // --- Refusals -----------------------------------------------------------------------------------

  function forgetCopies() {
    if (!window.caches) {
      return Promise.resolve();
    }
    return caches.delete(PAGES);
  }

  // Open a refused issue in the form again, to fix and send it (as a new submission).
  function restore(item) {
    if (document.getElementById("intake-form")) {
      store.remove(item.key).then(function () {
        document.dispatchEvent(new CustomEvent("golive:restore", { detail: item }));
        render();
      });
    } else {
      location.assign(body.dataset.glIntake + "#restore-" + encodeURIComponent(item.key));
    }
  }

  // A revoked tablet's page: its waiting issues will not be logged; say so on each, in the words
  // the server gives a queued issue it refuses.
  function refuseAsRevoked() {
    const reason = document.querySelector("[data-gl-revoked]");
    if (!reason) {
      return Promise.resolve();
    }
    return forgetCopies()
      .then(store.all)
      .then(function (items) {
        return Promise.all(
          items
            .filter(function (item) {
              return item.who.startsWith("tablet:") && item.state === "waiting";
            })
            .map(function (item) {
              item.state = "refused";
              item.message = reason.dataset.glRevoked;
              return store.put(item);
            })
        );
      });
  }

  // --- Kept copies and the service worker -------------------------------------------------------

  function showAge() {
    const banner = document.getElementById("gl-kept");
    if (!banner || document.documentElement.dataset.copy !== "kept") {
      return;
    }
    const made = Date.parse(banner.querySelector("time").getAttribute("datetime"));
    const minutes = Math.max(0, Math.round((Date.now() - made) / 60000));
    let age = minutes < 1 ? "just now" : plural(minutes, "minute", "minutes") + " ago";
    if (minutes >= 120) {
      age = plural(Math.floor(minutes / 60), "hour", "hours") + " ago";
    }
    banner.querySelector("[data-gl-age]").textContent = age;
    banner.hidden = false;
    // Offline, or back online with the old copy still on screen.
    function network() {
      banner.querySelectorAll("[data-gl-when]").forEach(function (part) {
        part.hidden = part.dataset.glWhen !== (navigator.onLine ? "online" : "offline");
      });
    }
    network();
    window.addEventListener("online", network);
    window.addEventListener("offline", network);
  }

  function register() {
    const script = body.dataset.glSw;
    if (!script || !("serviceWorker" in navigator)) {
      return;
    }
    // Ask that issues waiting here are not evicted when the device runs short of space.
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(function () {});
    }
    navigator.serviceWorker
      .register(script)
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        if (document.documentElement.dataset.copy === "live" && registration.active) {
          registration.active.postMessage({ keep: body.dataset.glKeep.split(" ") });
        }
      })
      .catch(function () {
        // No service worker (a private window, an old browser): the pages need the network.
      });
  }

  // Signing out clears the device: say so first if issues still wait on it.
  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-gl-sign-out]") && waiting > 0) {
      const question =
        plural(waiting, "issue is", "issues are") +
        " still waiting to send from this device. Signing out deletes " +
        (waiting === 1 ? "it" : "them") + ". Sign out anyway?";
      if (!window.confirm(question)) {
        event.preventDefault();
      }
    }
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  setInterval(function () {
    if (waiting > 0 && navigator.onLine) {
      flush();
    }
  }, RETRY_MS);

  // For the intake form (static/js/intake.js).
  window.goliveOutbox = {
    who: who,
    get: store.get,
    // Store the issue first, then try it once: {sent}, {refused} or {later}.
    add: function (item) {
      item.who = who;
      item.state = "waiting";
      item.queuedAt = Date.now();
      return store.put(item).then(function () {
        return exclusively(function () {
          return store.get(item.key).then(function (stored) {
            if (!stored || stored.state !== "waiting") {
              return { later: null };
            }
            return attempt(item, 10000);
          });
        });
      });
    },
    forget: store.remove,
    render: render,
  };

  showAge();
  register();
  refuseAsRevoked().then(flush);
})();
