// Lykta: the worker app's service worker (served as /app/sw.js, scope /app; see
// lykta/web/pwa.py, which fills in the values below).
//
// It keeps the app shell only: the pages' static files, the app icon and the offline page.
// Pages are always loaded from the network; when that fails, the offline page is shown.
// Nothing else is ever put in the cache: no page the server renders for a worker, no
// JSON, no socket traffic. Conversations never reach this script; a push carries only a
// title such as "New chat waiting — Fältgruppen" and where to go when it is tapped.
const SHELL = ["__SHELL__"];
const VERSION = "__VERSION__"; // the cache's name: changes with anything in the shell
const ICON = "__ICON__";
const BADGE = "__BADGE__";
const OFFLINE = "__OFFLINE__";
const SCOPE = new URL("/app", self.location.origin);
const KINDS = ["queue", "message", "risk", "handover"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== VERSION).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

const inScope = (url) =>
  url.origin === SCOPE.origin && (url.pathname === SCOPE.pathname || url.pathname.startsWith(SCOPE.pathname + "/"));

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (req.mode === "navigate") {
    // Always the network (the page is the worker's own); the offline page when it fails.
    event.respondWith(fetch(req).catch(() => caches.match(OFFLINE).then((r) => r || Response.error())));
    return;
  }
  if (url.origin !== self.location.origin || !SHELL.includes(url.pathname + url.search)) return;
  if (url.search) {
    // A file named with its content hash never changes: the cached copy is the file.
    event.respondWith(caches.match(req).then((r) => r || fetch(req)));
  } else {
    // A module imported without its hash: the network first, so that an upgrade never
    // mixes old and new scripts; the cached copy only without a network.
    event.respondWith(fetch(req).catch(() => caches.match(req).then((r) => r || Response.error())));
  }
});

// ----- push ----------------------------------------------------------------------------

// The payload is {title, body, url, tag, kind} (lykta/push/notices.py). Anything else
// still shows a notification (Chrome asks for one per push), with nothing but "Lykta".
function payload(data) {
  let p = null;
  try {
    p = data ? data.json() : null;
  } catch (err) {
    p = null;
  }
  const text = (v, max) => typeof v === "string" && v.length <= max;
  if (
    !p ||
    typeof p !== "object" ||
    !text(p.title, 200) ||
    !p.title.trim() ||
    !(p.body === undefined || text(p.body, 500)) ||
    !text(p.tag, 100) ||
    !text(p.url, 200) ||
    !KINDS.includes(p.kind)
  ) {
    return { title: "Lykta", body: "", tag: "lykta", url: SCOPE.pathname, kind: null };
  }
  return { title: p.title, body: p.body || "", tag: p.tag, url: p.url, kind: p.kind };
}

function appWindows() {
  return self.clients
    .matchAll({ type: "window", includeUncontrolled: true })
    .then((list) => list.filter((c) => inScope(new URL(c.url))));
}

self.addEventListener("push", (event) => {
  const p = payload(event.data);
  event.waitUntil(
    appWindows().then((wins) => {
      // A new message or a hand-over while the app is in front: the app shows it itself.
      const own = p.kind === "message" || p.kind === "handover";
      if (own && wins.some((c) => c.visibilityState === "visible")) return;
      return self.registration.showNotification(p.title, {
        body: p.body,
        tag: p.tag,
        icon: ICON,
        badge: BADGE,
        data: { url: p.url },
      });
    }),
  );
});

// Only a page of the app on this server may be opened; anything else opens the app.
function target(url) {
  try {
    const u = new URL(url, self.location.origin);
    if (inScope(u)) return u;
  } catch (err) {
    /* the app's start */
  }
  return SCOPE;
}

// A window of the app comes to the front and shows `url`; without one, a new one opens.
function openApp(url) {
  return appWindows().then((wins) => {
    const win = wins.find((c) => c.focused) || wins[0];
    if (!win) return self.clients.openWindow(url);
    return win
      .focus()
      .catch(() => win) // not allowed to bring it forward: still show the conversation
      .then((w) => (w || win).navigate(url))
      .catch(() => self.clients.openWindow(url));
  });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openApp(target((event.notification.data || {}).url).href));
});
