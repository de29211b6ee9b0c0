// Lykta: the worker app on this device: its service worker (sw.js, which keeps only the
// app shell) and push notifications, which the worker switches on and off here. The
// server sends a push for a chat waiting, a new message or a risk flag; it never carries
// what anyone wrote (lykta/push/notices.py).

const SUPPORTED =
  "serviceWorker" in navigator && typeof PushManager !== "undefined" && typeof Notification !== "undefined";

// Registers the service worker; resolves to its registration, or null where there is none.
export function installApp(lang) {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  return navigator.serviceWorker
    .register("/app/sw.js?lang=" + encodeURIComponent(lang), { scope: "/app" })
    .catch(() => null);
}

// The registration once it has an active worker (a push subscription needs one).
function active(reg) {
  if (reg.active) return Promise.resolve(reg);
  const w = reg.installing || reg.waiting;
  if (!w) return Promise.reject(new Error("no service worker"));
  return new Promise((ok, fail) => {
    w.addEventListener("statechange", () => {
      if (w.state === "activated") ok(reg);
      else if (w.state === "redundant") fail(new Error("service worker failed"));
    });
  });
}

// The VAPID key arrives as base64url without padding; the browser wants its bytes.
function bytes(b64) {
  const s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function csrf() {
  const input = document.querySelector("input[name=csrf]");
  return input ? input.value : "";
}

function tell(method, body) {
  return fetch("/app/push/subscriptions", {
    method: method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrf-token": csrf() },
    body: JSON.stringify(body),
  });
}

async function reason(response, fallback) {
  try {
    const found = await response.json();
    if (found && typeof found.error === "string" && found.error) return found.error;
  } catch (err) {
    /* not JSON */
  }
  return fallback;
}

class Failed extends Error {}

// The "Notifications" button: aria-pressed says on or off, data-state one of on, off,
// blocked, unsupported, busy; `note` (a status line) says what happened, in words.
export function notifications(button, note, S, registration) {
  let state = "off";
  const show = (s, text) => {
    state = s;
    button.setAttribute("aria-pressed", s === "on" ? "true" : "false");
    button.setAttribute("data-state", s);
    button.setAttribute("aria-busy", s === "busy" ? "true" : "false");
    if (text !== undefined) {
      note.textContent = text;
      note.hidden = !text;
    }
  };

  async function turnOn() {
    if (Notification.permission === "denied") throw new Failed(S.push_blocked);
    const permission = await Notification.requestPermission(); // first: needs the click
    if (permission !== "granted") {
      throw new Failed(permission === "denied" ? S.push_blocked : S.push_declined);
    }
    const reg = await registration;
    if (!reg) throw new Failed(S.push_unsupported);
    await active(reg);
    const answer = await fetch("/app/push/key", { credentials: "same-origin" });
    if (answer.status === 404) throw new Failed(await reason(answer, S.push_unavailable));
    if (!answer.ok) throw new Failed(S.error);
    const key = (await answer.json()).public_key;
    const old = await reg.pushManager.getSubscription();
    if (old) {
      // Perhaps made with another key: replaced, and the server told to forget it.
      await tell("DELETE", { endpoint: old.endpoint }).catch(() => {});
      await old.unsubscribe();
    }
    let sub;
    try {
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
    } catch (err) {
      throw new Failed(S.push_failed);
    }
    const saved = await tell("POST", sub.toJSON());
    if (!saved.ok) {
      await sub.unsubscribe().catch(() => {});
      throw new Failed(await reason(saved, S.error));
    }
  }

  async function turnOff() {
    const reg = await registration;
    const sub = reg && (await reg.pushManager.getSubscription());
    if (!sub) return;
    // Forgotten here even when the server cannot be told: the push service then answers
    // "gone" to the server's next push, and the server drops the subscription.
    await tell("DELETE", { endpoint: sub.endpoint }).catch(() => {});
    await sub.unsubscribe();
  }

  button.addEventListener("click", async () => {
    if (state === "busy") return;
    if (state === "unsupported") return show(state, S.push_unsupported);
    const was = state;
    show("busy");
    try {
      if (was === "on") {
        await turnOff();
        show("off", S.push_off);
      } else {
        await turnOn();
        show("on", S.push_on);
      }
    } catch (err) {
      const text = err instanceof Failed ? err.message : S.error;
      show(Notification.permission === "denied" ? "blocked" : was === "on" ? "on" : "off", text);
    }
  });

  // What this device is set to now. A subscription that exists is sent again: the server
  // may have dropped it, or another worker may have used this browser before.
  if (!SUPPORTED) return show("unsupported", "");
  if (Notification.permission === "denied") return show("blocked", "");
  show("off", "");
  if (Notification.permission !== "granted") return;
  registration
    .then((reg) => reg && reg.pushManager.getSubscription())
    .then((sub) => {
      if (!sub || state !== "off") return;
      show("on");
      return tell("POST", sub.toJSON()).then((r) => r.status === 400 && state === "on" && show("off"));
    })
    .catch(() => {});
}
