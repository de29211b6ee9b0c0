// Lykta: the reliable WebSocket and small helpers shared by chat.js and app.js.
// Protocol: docs/protocol.md. Plain ES2017, no dependencies.

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

// A random client id (22 chars, 132 bits). crypto.randomUUID is missing on plain http.
export function newId() {
  let s = "";
  for (const b of crypto.getRandomValues(new Uint8Array(22))) s += ID_CHARS[b & 63];
  return s;
}

export const $ = (id) => document.getElementById(id);

export function readJSON(id) {
  const e = $(id);
  try {
    return e ? JSON.parse(e.textContent) : {};
  } catch (err) {
    return {};
  }
}

// "{name} has joined" + {name: "Anna"}
export function fmt(s, vars) {
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text; // always text, never HTML
  return e;
}

// Length as the server counts it (code points).
export const chars = (s) => Array.from(s).length;

export function toDate(at) {
  // Trim microseconds: not every engine parses more than three fraction digits.
  return new Date(String(at).replace(/(\.\d{3})\d+/, "$1"));
}

export function clock(at) {
  const d = toDate(at);
  if (isNaN(d)) return "";
  return d.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
}

// A row of the message list. kind: "mine" | "theirs" | "sys".
export function msgItem(kind, who, body, at) {
  const li = el("li", "msg " + kind);
  li.setAttribute("data-testid", "message");
  if (who) li.appendChild(el("span", kind === "mine" ? "who sr" : "who", who + (kind === "mine" ? ":" : "")));
  li.appendChild(el(kind === "sys" ? "span" : "p", "body", body));
  const meta = el("span", "meta");
  if (at) {
    const t = el("time", null, clock(at));
    t.dateTime = at;
    meta.appendChild(t);
  }
  li.st = el("span", "st");
  li.st.setAttribute("data-testid", "msg-status");
  meta.appendChild(li.st);
  if (kind !== "sys") li.appendChild(meta);
  return li;
}

// Has a live region say `text`: emptied, then filled a moment later, so that the same words
// are said again and a region that was just shown is heard.
export function say(region, text) {
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 50);
}

export function setStatus(li, text, failed) {
  li.st.textContent = text;
  li.classList.toggle("failed", !!failed);
}

export function setTime(li, at) {
  const t = li.querySelector("time") || li.st.parentNode.insertBefore(el("time"), li.st);
  t.textContent = clock(at);
  t.dateTime = at;
}

// Applies a conversation's messages in seq order: duplicates are dropped, frames that skip
// ahead wait in a buffer, and a gap that does not fill within 300 ms is asked for (sync).
export class Sequencer {
  constructor(apply, sync) {
    this.last = 0;
    this.buf = new Map();
    this.apply = apply;
    this.sync = sync;
    this.timer = 0;
  }
  push(m) {
    if (m.seq <= this.last || this.buf.has(m.seq)) return;
    if (m.seq > this.last + 1) {
      this.buf.set(m.seq, m);
      if (!this.timer) this.arm(300);
      return;
    }
    this.last = m.seq;
    this.apply(m);
    let n;
    while ((n = this.buf.get(this.last + 1))) {
      this.buf.delete(n.seq);
      this.last = n.seq;
      this.apply(n);
    }
    if (!this.buf.size) {
      clearTimeout(this.timer);
      this.timer = 0;
    }
  }
  arm(ms) {
    this.timer = setTimeout(() => {
      this.timer = 0;
      if (this.buf.size) {
        this.sync(this.last);
        this.arm(3000); // ask again if the answer was lost
      }
    }, ms);
  }
}

// Codes that end a send for good; the RETRY ones are sent again a little later.
export const TERMINAL = ["empty", "too_long", "invalid", "closed", "not_found"];
export const RETRY = ["busy", "rate_limited"];

// Unacknowledged sends, in order. Items are the send frames without their type.
export class Outbox {
  constructor(items, save) {
    this.items = items || [];
    this.save = save || (() => {});
    this.retry = 0;
  }
  add(item) {
    this.items.push(item);
    this.save();
  }
  take(id) {
    const i = this.items.findIndex((x) => x.client_id === id);
    if (i < 0) return null;
    const x = this.items.splice(i, 1)[0];
    this.save();
    return x;
  }
  flush(sock) {
    if (!sock.ready) return;
    for (const x of this.items) sock.send(Object.assign({ type: "send" }, x));
  }
  later(sock) {
    if (!this.retry) {
      this.retry = setTimeout(() => {
        this.retry = 0;
        this.flush(sock);
      }, 2000 + Math.random() * 2000);
    }
  }
}

// Close code for a socket that said nothing in time (docs/protocol.md: timeouts).
export const CLOSE_TIMEOUT = 4408;

// A WebSocket that keeps reconnecting (capped exponential backoff with jitter), pings every
// 25 s and treats 60 s of silence as a dead link. `ready` is set by the page once the
// session is re-established (youth: `ready`; staff: `hello`) and cleared on every drop.
// A socket the server closed before it was ready (CLOSE_TIMEOUT: a young person still
// reading the start page) rests without a "connection lost" notice, and reconnects as
// soon as the person does something, comes back to the tab or the network returns.
// handlers: open(), frame(f), status(up), closed(code) -> false to stop reconnecting.
export class ReliableSocket {
  constructor(path, handlers) {
    this.url = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + path;
    this.h = handlers;
    this.ws = null;
    this.up = false;
    this.ready = false;
    this.tries = 0;
    this.timer = 0;
    this.rx = 0;
    this.pinged = 0;
    this.stopped = false;
    this.resting = false;
    setInterval(() => this.tick(), 5000);
    // Back online, or the phone woke up: reconnect now, or check that the link still lives.
    const now = () => {
      if (this.stopped || document.hidden) return;
      if (!this.ws) {
        clearTimeout(this.timer);
        this.connect();
      } else if (this.up) this.probe();
    };
    addEventListener("online", now);
    document.addEventListener("visibilitychange", now);
    for (const t of ["pointerdown", "keydown", "focusin", "input"]) {
      document.addEventListener(t, () => this.resting && now(), true);
    }
    addEventListener("pageshow", (e) => {
      if (e.persisted) this.kill(); // restored from the back/forward cache
      now();
    });
  }
  probe() {
    const ws = this.ws;
    const t = Date.now();
    this.send({ type: "ping" });
    setTimeout(() => {
      if (this.ws === ws && this.rx < t) this.kill();
    }, 5000);
  }
  connect() {
    this.timer = 0;
    this.resting = false;
    const opened = (this.opened = Date.now());
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.lost(0);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.up = true;
      this.rx = this.pinged = Date.now();
      this.h.status(true);
      this.h.open();
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this.rx = Date.now();
      this.tries = 0;
      let f;
      try {
        f = JSON.parse(ev.data);
      } catch (err) {
        return;
      }
      // Frames sent together arrive as one array, in order (docs/protocol.md).
      for (const one of Array.isArray(f) ? f : [f]) {
        if (ws !== this.ws) return; // a frame before this one closed or replaced the socket
        if (!one || !one.type || one.type === "pong") continue;
        try {
          this.h.frame(one);
        } catch (err) {
          // One frame's failure stays its own, as when each came alone.
          setTimeout(() => {
            throw err;
          });
        }
      }
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      if (Date.now() - opened > 10000) this.tries = 0;
      this.lost(ev.code);
    };
  }
  lost(code) {
    const unused = code === CLOSE_TIMEOUT && !this.ready;
    this.ws = null;
    this.up = this.ready = false;
    if (this.h.closed && this.h.closed(code) === false) {
      this.stopped = true;
      return;
    }
    if (unused) {
      this.resting = true; // nothing to show or retry until the page needs the socket
      return;
    }
    this.h.status(false);
    const d = Math.min(10000, 500 * Math.pow(2, this.tries++));
    this.timer = setTimeout(() => this.connect(), d / 2 + (Math.random() * d) / 2);
  }
  // For good (the page is going away): no more handlers, no reconnecting.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    this.up = this.ready = false;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    try {
      ws.close();
    } catch (err) {
      /* already closing */
    }
  }
  kill() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close();
    } catch (err) {
      /* already closing */
    }
    this.lost(0);
  }
  send(obj) {
    if (!this.up) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }
  tick() {
    const now = Date.now();
    if (!this.up) {
      if (this.ws && now - this.opened > 15000) this.kill(); // a handshake that hangs
      return;
    }
    // Dead: silent for 60 s although a ping went out (throttled background timers are not).
    if (now - this.rx > 60000 && this.pinged > this.rx && now - this.pinged > 5000) this.kill();
    else if (now - this.pinged >= 25000) {
      this.pinged = now;
      this.send({ type: "ping" });
    }
  }
}

// Enter sends, Shift+Enter makes a new line; the counter shows the length against the limit.
export function composer(form, ta, counter, max, S, onSend) {
  const update = () => {
    const n = chars(ta.value.trim());
    counter.textContent = fmt(S.counter, { count: n, max: max });
    counter.classList.toggle("over", n > max);
    ta.setAttribute("aria-invalid", n > max ? "true" : "false");
    ta.rows = Math.min(6, Math.max(2, ta.value.split("\n").length));
  };
  const send = () => {
    const body = ta.value.trim();
    if (!body || chars(body) > max || ta.disabled) return;
    if (onSend(body) !== false) {
      ta.value = "";
      update();
    }
  };
  ta.addEventListener("input", update);
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });
  update();
  return update;
}

// What scrolls the messages: their box, or the whole page when the text is so large for
// the screen that the page scrolls as one (lykta.css, "large text").
const scrolls = (box) => (getComputedStyle(box).overflowY === "visible" ? document.scrollingElement : box);

// Keep the newest message in view when the reader is already near the bottom.
export function stick(box, fn) {
  const scroller = scrolls(box);
  const near = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  fn();
  if (near) scroller.scrollTop = scroller.scrollHeight;
}

export function toEnd(box) {
  const scroller = scrolls(box);
  scroller.scrollTop = scroller.scrollHeight;
}
