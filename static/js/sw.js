// The floor's service worker. `GOLIVE` (its files, header names and version) is written in front
// of this file by issues/views/offline.py.
//
// - Pages: from the network; for a page kept on the device, when the network is down (or silent
//   for WAIT_MS), its last copy, marked so the page shows its age; for any other, the offline page
//   when the network fails. Only pages the server marks "keep" are kept (the floor pages); a page
//   marked "forget" (a revoked tablet) drops them all.
// - Static files: from the network (the browser's own cache first), a kept copy when it is down.
// - Anything else (a POST, htmx parts, JSON) is left to the network.
"use strict";

// The floor pages' copies (static/js/outbox.js drops them too, for a revoked tablet).
const PAGES = "golive-pages";
const FILES = "golive-files-" + GOLIVE.version;
// A dead zone often answers nothing rather than failing fast.
const WAIT_MS = 4000;
// A kept floor page younger than this is not fetched again in the background.
const FRESH_MS = 10 * 60 * 1000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(FILES)
      .then(function (cache) {
        return cache.addAll(GOLIVE.files.concat([GOLIVE.offlinePage]));
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.startsWith("golive-files-") && name !== FILES;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith(GOLIVE.staticUrl)) {
    event.respondWith(file(event));
  }
});

// A floor page asks for the other floor pages to be kept, so that all of them open offline after
// the first visit of any.
self.addEventListener("message", function (event) {
  if (event.data && Array.isArray(event.data.keep)) {
    event.waitUntil(Promise.all(event.data.keep.map(refresh)));
  }
});

function within(ms, promise) {
  return new Promise(function (resolve, reject) {
    const timer = setTimeout(function () {
      reject(new Error("No answer from the network."));
    }, ms);
    promise.then(
      function (value) {
        clearTimeout(timer);
        resolve(value);
      },
      function (error) {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

// Keep a floor page, or drop every kept page when the server says so.
function remember(url, response) {
  const mark = response.headers.get(GOLIVE.keepHeader);
  if (mark === "forget") {
    return caches.delete(PAGES);
  }
  if (mark === "keep" && response.status === 200 && !response.redirected) {
    return caches.open(PAGES).then(function (cache) {
      return cache.put(url, response);
    });
  }
  return Promise.resolve();
}

// From the network. A page the device keeps a copy of gives the network WAIT_MS, then shows the
// copy (the network's answer, if it comes, is kept for next time); any other page waits for the
// network as long as the browser does, and only if that fails shows the offline page.
function page(event) {
  const request = event.request;
  const network = fetch(request).then(function (response) {
    event.waitUntil(remember(request.url, response.clone()));
    return response;
  });
  event.waitUntil(network.catch(function () {}));
  return keptCopy(request.url).then(function (kept) {
    if (!kept) {
      return network.catch(function () {
        return caches.match(GOLIVE.offlinePage).then(function (answer) {
          return answer || Response.error();
        });
      });
    }
    return within(WAIT_MS, network).catch(function () {
      return marked(kept);
    });
  });
}

// The last copy of the page (or, for one with a query such as ?unit=, of the page without it).
function keptCopy(url) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(url, { ignoreVary: true }).then(function (kept) {
      return kept || cache.match(url, { ignoreVary: true, ignoreSearch: true });
    });
  });
}

// A kept copy marked as one: the page's script then shows its age.
function marked(kept) {
  return kept.text().then(function (text) {
    return new Response(text.replace('data-copy="live"', 'data-copy="kept"'), {
      status: 200,
      headers: kept.headers,
    });
  });
}

// From the network; when it is down (or silent for WAIT_MS), the copy kept of the file, if any.
function file(event) {
  const request = event.request;
  const network = fetch(request).then(function (response) {
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(
        caches.open(FILES).then(function (cache) {
          return cache.put(request, copy);
        })
      );
    }
    return response;
  });
  event.waitUntil(network.catch(function () {}));
  return caches.match(request, { ignoreVary: true }).then(function (kept) {
    return kept ? within(WAIT_MS, network).catch(function () { return kept; }) : network;
  });
}

function refresh(url) {
  return caches
    .open(PAGES)
    .then(function (cache) {
      return cache.match(url, { ignoreVary: true });
    })
    .then(function (kept) {
      const date = kept ? Date.parse(kept.headers.get("Date") || "") : NaN;
      if (date && Date.now() - date < FRESH_MS) {
        return null;
      }
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        return remember(url, response);
      });
    })
    .catch(function () {
      // Offline or refused: the copy kept before, if any, stays.
    });
}
