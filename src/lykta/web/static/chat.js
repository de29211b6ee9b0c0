// Lykta: the young person's chat page. State lives in sessionStorage: {code, last_seq,
// outbox}, and a random tab token (lykta-browser) that lets a worker block an abusive tab
// without identifying anyone; messages are never stored on the device. Only if the young
// person ticks "Remember me on this device" are the same keys kept in localStorage too.
import {
  $, readJSON, fmt, el, newId, msgItem, setStatus, setTime, stick, composer, say, toEnd,
  Sequencer, Outbox, ReliableSocket, TERMINAL, RETRY,
} from "./wsclient.js";

const S = readJSON("lykta-strings");
const C = readJSON("lykta-config");
const KEY = "lykta-chat-" + C.team;
const MAX = C.max_length || 4000;
const list = $("messages");
const main = $("main");
const ta = $("text");
const sendBtn = $("send");
const typingEl = $("typing");
const readEl = el("p", "readmark", S.read);
readEl.setAttribute("data-testid", "read-state");

let code = null; // the conversation's resume code, once ready
let tryCode = null; // a code typed into the resume form, not yet accepted
let wantStart = false;
let session = false; // start/resume sent on this socket
let state = "";
let kind = "chat"; // or "question": left while the team is closed, answered later
let worker = null; // first name of who answers
let profile = null; // {first_name, photo, introduction} of who answers
let staffRead = 0; // how far the workers have read
let feedback = null; // the answer to "Did this help?", once given
let queueKey = "";
let base = -1; // the last seq already there when the page got the conversation: history
const connText = $("conn").textContent;
const pend = new Map(); // client_id -> own row not yet in the sequence
const bySeq = new Map(); // acked seq -> own row, in case a message frame lacks client_id
const removed = new Set(); // seqs whose text a worker removed, also before they arrive

// Every key this page writes starts with "lykta-". `put` always writes this tab's
// sessionStorage, and localStorage only while "Remember me" is ticked; null removes.
const TOKEN = "lykta-browser";
const area = (local) => (local ? localStorage : sessionStorage);
let remember = false;
let keep = true; // false once the conversation is ended or left: nothing is written again
function put(k, v) {
  for (const local of [false, true]) {
    try {
      if (v == null) area(local).removeItem(k);
      else if (keep && (remember || !local)) area(local).setItem(k, v);
    } catch (err) {
      /* storage full or blocked: the chat still works for this page's life */
    }
  }
}
// This tab's own state first, then what was remembered on the device.
function get(k, local) {
  for (const l of local == null ? [false, true] : [local]) {
    try {
      const v = area(l).getItem(k);
      if (v) return v;
    } catch (err) {
      /* nothing stored */
    }
  }
  return null;
}
// Removes every key of ours from localStorage, or from both storages.
function wipe(both) {
  for (const local of both ? [true, false] : [true]) {
    try {
      const s = area(local);
      for (let i = s.length; i--; ) if (/^lykta-/.test(s.key(i))) s.removeItem(s.key(i));
    } catch (err) {
      /* blocked storage holds nothing */
    }
  }
}
const store = (v) => put(KEY, v && JSON.stringify(v));
const save = () => code && store({ code: code, last_seq: seq.last, outbox: outbox.items });
const outbox = new Outbox([], save);
const newSeq = () => new Sequencer(apply, (last) => sock.send({ type: "sync", last_seq: last }));
let seq = newSeq();

// The conversation remembered on this device is this tab's, unless the tab has its own.
function stored(local) {
  try {
    return JSON.parse(get(KEY, local));
  } catch (err) {
    return null;
  }
}
const saved = stored();
const mine = stored(true);
remember = !!(saved && mine && saved.code === mine.code);

// One random token per tab (never leaves the device's storage except in `start`).
const browser = (() => {
  let t = get(TOKEN);
  if (!t || !/^[A-Za-z0-9_-]{16,64}$/.test(t)) t = newId();
  put(TOKEN, t);
  return t;
})();

const sock = new ReliableSocket("/ws/chat", {
  open() {
    session = false;
    typingOn = false;
    hello();
  },
  frame(f) {
    if (f.type === "ready") ready(f);
    else if (f.type === "message") stick(main, () => seq.push(f));
    else if (f.type === "redacted") redacted(f.seq);
    else if (f.type === "ack") ack(f);
    else if (f.type === "error") error(f);
    else if (f.type === "queue") queued(f);
    else if (f.type === "resync") seq.sync(seq.last); // the server may have missed events
    else if (f.type === "worker") showWorker(f.profile);
    else if (f.type === "typing") {
      if (f.sender === "staff") showTyping(f.active, f.author);
    } else if (f.type === "read") {
      if (f.reader === "staff" && f.seq > staffRead) {
        staffRead = f.seq;
        markRead();
      }
    }
  },
  status(up) {
    $("conn").hidden = up;
    if (!up) say($("conn"), connText); // heard, not only shown
  },
});

function hello() {
  if (session || !sock.up) return;
  if (code || tryCode) {
    sock.send({ type: "resume", team: C.team, code: code || tryCode, last_seq: code ? seq.last : 0 });
  } else if (wantStart) {
    sock.send({ type: "start", team: C.team, browser: browser });
  } else return;
  session = true;
}

const tidy = (c) => c.toUpperCase().replace(/[^A-Z0-9]/g, "").replace(/(.{4})(?=.)/g, "$1-");

function showChat(fresh) {
  $("intro").hidden = true;
  $("chat").hidden = $("composer").hidden = false;
  const box = $("code-value");
  box.textContent = "";
  box.setAttribute("data-code", code);
  code.split(/[\s-]+/).forEach((g, i) => {
    if (i) box.appendChild(document.createTextNode(" "));
    box.appendChild(el("span", null, g));
  });
  if (fresh) $("codebox").open = true;
}

function ready(f) {
  const typed = tryCode;
  if (f.resume_code) code = f.resume_code;
  else if (typed) code = tidy(typed);
  tryCode = null;
  wantStart = false;
  $("resume-error").hidden = $("notice").hidden = $("blocked").hidden = true;
  const first = $("chat").hidden;
  kind = f.kind || "chat";
  $("chat").setAttribute("data-kind", kind);
  if (f.staff_read_seq > staffRead) staffRead = f.staff_read_seq;
  if (f.feedback) feedback = f.feedback;
  if (base < 0) base = f.last_seq || 0;
  showChat(!!f.resume_code);
  if (f.profile) showWorker(f.profile);
  setState(f.state, f.worker);
  markRead();
  if (first) (f.resume_code ? $("codebox").querySelector("summary") : ta).focus();
  sock.ready = true;
  save();
  outbox.flush(sock);
  sendRead();
}

function setState(s, w) {
  state = s;
  if (w) worker = w;
  const st = $("status");
  st.textContent =
    s === "closed"
      ? S.ended
      : s === "active"
        ? fmt(S.joined, { name: worker || S.worker })
        : kind === "question"
          ? S.question
          : S.waiting;
  st.className = "status " + s;
  if (s !== "queued") {
    queueKey = "";
    $("queue").textContent = "";
  }
  $("queue").hidden = !queueKey;
  ta.disabled = sendBtn.disabled = s === "closed";
  $("again").hidden = s !== "closed";
  $("endbar").hidden = s === "closed";
  $("feedback").hidden = s !== "closed" || !!feedback;
  if (s === "closed") {
    $("end-confirm").hidden = $("pii").hidden = true;
    showTyping(false);
    typing(false);
  }
}

// "You are number 2 in the queue. Estimated wait: about 5 min" — rewritten (and so
// announced) only when what it says changes; the estimate is rounded to keep it calm.
function queued(f) {
  if (state !== "queued") return;
  let eta = "";
  if (f.eta_seconds != null && kind !== "question") {
    let m = Math.max(1, Math.round(f.eta_seconds / 60));
    if (m > 10) m = Math.round(m / 5) * 5;
    eta = fmt(S.eta, { minutes: m });
  }
  const k = f.position + "|" + eta;
  if (k === queueKey) return;
  queueKey = k;
  const q = $("queue");
  q.textContent = "";
  q.appendChild(el("span", null, fmt(S.queue, { position: f.position })));
  if (eta) q.appendChild(el("span", "eta", eta));
  q.hidden = false;
}

function showWorker(p) {
  if (!p || !p.first_name) return;
  profile = p;
  worker = p.first_name;
  const box = $("who");
  $("who-name").textContent = p.first_name;
  const intro = $("who-intro");
  intro.textContent = p.introduction || "";
  intro.hidden = !p.introduction;
  let img = box.querySelector("img");
  // Photos are served by this server: accept only a same-origin path.
  if (p.photo && /^\/[^/\\]/.test(p.photo)) {
    if (!img) {
      img = box.insertBefore(el("img", "photo"), box.firstChild);
      img.alt = "";
      img.width = img.height = 56;
    }
    if (img.getAttribute("src") !== p.photo) img.src = p.photo;
  } else if (img) img.remove();
  box.hidden = false;
  if (state === "active") setState(state, worker);
}

let typingHide = 0;
function showTyping(on, name) {
  clearTimeout(typingHide);
  if (on && state !== "closed") {
    const t = fmt(S.typing, { name: name || worker || S.worker });
    if (typingEl.textContent !== t) typingEl.textContent = t;
    typingEl.hidden = false;
    typingHide = setTimeout(() => showTyping(false), 10000);
  } else typingEl.hidden = true;
}

// Tell the workers when typing starts, and that it stopped after 3 s idle or on send.
let typingOn = false;
let typingIdle = 0;
function typing(on) {
  clearTimeout(typingIdle);
  if (on) typingIdle = setTimeout(() => typing(false), 3000);
  if (on === typingOn || !sock.ready || (on && state === "closed")) return;
  typingOn = on;
  sock.send({ type: "typing", active: on });
}
ta.addEventListener("input", () => typing(ta.value.trim() !== ""));

// What is shown has been read: at most one `read` a second, only while the page is seen.
let readSent = 0;
let readAt = 0;
let readTimer = 0;
function sendRead() {
  if (readTimer || seq.last <= readSent) return;
  readTimer = setTimeout(
    () => {
      readTimer = 0;
      if (!sock.ready || document.visibilityState !== "visible" || seq.last <= readSent) return;
      readSent = seq.last;
      readAt = Date.now();
      sock.send({ type: "read", seq: readSent });
    },
    Math.max(50, readAt + 1000 - Date.now()),
  );
}
document.addEventListener("visibilitychange", sendRead);

// "Read" under the young person's own last message once the workers have read it.
function markRead() {
  const mine = list.querySelectorAll(".msg.mine");
  const last = mine[mine.length - 1];
  const s = last ? +last.getAttribute("data-seq") : 0;
  if (s && s <= staffRead) {
    if (readEl.parentNode !== last) last.appendChild(readEl);
  } else readEl.remove();
}

function place(li, s) {
  li.classList.remove("out");
  li.setAttribute("data-seq", s);
  list.insertBefore(li, list.querySelector(".out"));
}

function apply(m) {
  let li;
  if (m.event) {
    let text = S.ended;
    if (m.event === "joined") {
      setState("active", m.author);
      $("who").hidden = !(profile && profile.first_name === m.author);
      text = fmt(S.joined_event, { name: m.author || S.worker });
    } else if (m.event === "requeued") {
      $("who").hidden = true;
      setState("queued");
      text = S.requeued;
    } else setState("closed");
    li = msgItem("sys", null, text);
  } else if (m.sender === "youth") {
    li = pend.get(m.client_id) || bySeq.get(m.seq);
    if (li) {
      pend.delete(m.client_id);
      outbox.take(m.client_id);
    } else li = msgItem("mine", S.you, m.body);
    setStatus(li, S.sent);
    setTime(li, m.at);
  } else {
    showTyping(false);
    li = msgItem("theirs", m.author || S.worker, m.body, m.at);
    if (m.seq > base && m.body) say($("said"), (m.author || S.worker) + ": " + m.body);
  }
  bySeq.delete(m.seq);
  if (m.redacted || removed.has(m.seq)) showRemoved(li);
  place(li, m.seq);
  markRead();
  save();
  sendRead();
}

// A worker removed a message's text: "[removed]" instead, now or when it arrives.
function showRemoved(li) {
  li.querySelector(".body").textContent = S.removed;
  li.classList.add("removed");
}
function redacted(s) {
  removed.add(s);
  const waiting = seq.buf.get(s);
  if (waiting) seq.buf.set(s, Object.assign({}, waiting, { body: null, redacted: true }));
  const li = list.querySelector('.msg[data-seq="' + s + '"]');
  if (li) showRemoved(li);
}

function addPending(x) {
  const li = msgItem("mine", S.you, x.body);
  li.classList.add("out");
  setStatus(li, S.pending);
  pend.set(x.client_id, li);
  stick(main, () => list.appendChild(li));
  markRead();
}

function ack(f) {
  outbox.take(f.client_id);
  const li = pend.get(f.client_id);
  if (!li) return;
  setStatus(li, S.sent);
  if (f.seq > seq.last) bySeq.set(f.seq, li);
  else {
    pend.delete(f.client_id);
    li.classList.remove("out");
  }
}

function notice(msg) {
  const n = $("notice");
  n.textContent = msg;
  n.hidden = false;
}

function error(f) {
  const msg = f.message || S.error;
  if (f.client_id && RETRY.indexOf(f.code) >= 0) return outbox.later(sock);
  if (f.client_id && TERMINAL.indexOf(f.code) >= 0) {
    outbox.take(f.client_id);
    const li = pend.get(f.client_id);
    if (li) {
      pend.delete(f.client_id);
      li.classList.remove("out");
      setStatus(li, fmt(S.failed, { reason: msg }), true);
    }
    return;
  }
  if (f.code === "resume_failed") {
    session = false;
    tryCode = null;
    if (code) reset();
    const e = $("resume-error");
    e.textContent = msg;
    e.hidden = false;
    $("code").focus();
    return;
  }
  if (f.code === "already_started" || f.code === "not_started") return;
  if (!code) {
    wantStart = session = false;
    $("start").disabled = false;
    if (f.code === "blocked") {
      const b = $("blocked");
      b.textContent = msg;
      b.hidden = false;
      return;
    }
  }
  notice(msg);
}

// Forget the conversation on this device: nothing of it stays in either storage and
// "Remember me" is off again. The tab keeps its token in sessionStorage (a block still
// holds for the tab), except after quick exit (`all`), which leaves nothing of ours.
function forget(all) {
  remember = $("remember").checked = false;
  wipe(all);
  store(null);
}

// The stored conversation is gone: back to the start.
function reset() {
  code = null;
  forget();
  $("pii").hidden = true;
  list.textContent = "";
  pend.clear();
  removed.clear();
  outbox.items = [];
  seq.buf.clear();
  seq = newSeq();
  staffRead = readSent = 0;
  base = -1;
  feedback = profile = worker = null;
  $("who").hidden = true;
  $("intro").hidden = false;
  $("chat").hidden = $("composer").hidden = true;
  $("start").disabled = false;
}

// In a frame, quick exit takes the whole tab from the host page. In the widget's frame
// (?embed=1) the widget replaces the host page when told (the message carries only the
// exit address; one navigation, not two racing). In a site's own frame, this frame moves the
// top window (allowed once the young person has touched it), else leaves itself.
// Nothing about the host page is read or sent.
const embedded = C.embed && window.parent !== window;
let leaving = false;
function quit() {
  if (leaving) return;
  leaving = true;
  const url = C.quick_exit_url || $("exit").href;
  keep = false;
  sock.stop(); // nothing may touch the page once it is emptied below
  forget(true);
  document.title = "";
  document.body.textContent = "";
  if (embedded) return window.parent.postMessage({ lykta: "exit", url: url }, "*");
  if (window.top !== window) {
    try {
      window.top.location.replace(url);
      return;
    } catch (err) {
      /* a frame the young person never touched may not move the top window */
    }
  }
  location.replace(url);
}

$("exit").addEventListener("click", (e) => {
  e.preventDefault();
  quit();
});
let lastEsc = 0;
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" && e.key !== "Esc") return;
  const t = Date.now();
  if (t - lastEsc < 1000) quit();
  else if (embedded) window.parent.postMessage({ lykta: "close" }, "*"); // the widget hides us
  lastEsc = t;
});
// The widget saw the second Esc (the first one hid this frame and left focus with it).
window.addEventListener("message", (e) => {
  if (embedded && e.source === window.parent && e.data && e.data.lykta === "exit") quit();
});

$("start").addEventListener("click", () => {
  wantStart = true;
  $("start").disabled = true;
  $("notice").hidden = $("blocked").hidden = true;
  hello();
});

$("resume").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = $("code").value.trim();
  if (!v) return $("code").focus();
  if (session) return;
  tryCode = v;
  $("resume-error").hidden = true;
  hello();
});

$("again").addEventListener("click", () => {
  forget();
  location.reload();
});

// Ending the chat, with a confirm step.
$("end").addEventListener("click", () => {
  $("end-confirm").hidden = false;
  $("end-no").focus();
});
$("end-no").addEventListener("click", () => {
  $("end-confirm").hidden = true;
  $("end").focus();
});
$("end-yes").addEventListener("click", () => {
  if (!sock.ready || !sock.send({ type: "close" })) return notice(S.error);
  $("end-confirm").hidden = true;
  ta.disabled = sendBtn.disabled = $("remember").disabled = true;
  keep = false;
  forget();
});

// "Remember me on this device": the same keys in localStorage too, or none there at all.
$("remember").addEventListener("change", (e) => {
  remember = e.target.checked;
  if (!remember) wipe();
  save();
  put(TOKEN, browser);
});

// "Did this help?" once the chat has ended; optional, asked once.
$("feedback-answers").addEventListener("click", (e) => {
  const b = e.target.closest("[data-answer]");
  if (!b) return;
  if (!sock.ready || !sock.send({ type: "feedback", answer: b.getAttribute("data-answer") })) {
    return notice(S.error);
  }
  feedback = b.getAttribute("data-answer");
  $("feedback").hidden = true;
  const t = $("thanks");
  t.hidden = false;
  t.tabIndex = -1;
  t.focus();
});

// Personal details a young person may give away without meaning to, found before sending.
// Only this page looks: the text is sent nowhere to be checked, and nothing about the
// warning is sent or kept. Returns the kinds found, in this order: "id" (a Swedish
// personnummer or samordningsnummer, a Norwegian fødselsnummer or D-nummer: real date,
// valid check digits), "phone" (Swedish or Norwegian as people type them, or any +
// number), "email", "address" (a street name and a house number).
const luhn = (d) => [...d].reduce((s, c, i) => s + +(i % 2 ? c : "0246813579"[c]), 0) % 10 === 0;
const mod11 = (d, w) => w.reduce((s, x, i) => s + x * d[i], 0) % 11 === 0;
const day = (y, m, d) => m > 0 && m < 13 && d > 0 && d <= new Date(y, m, 0).getDate();
// 19900101-1234, 900101-1234, 900101+1234, 9001011234; samordningsnummer: day + 60.
const SE_ID = /\D(\d\d)?(\d{6})[-+ ]?(\d{4})(?!\d)/g;
const seId = (m, c, a, b) =>
  (!c || /^(18|19|20)$/.test(c)) &&
  luhn(a + b) &&
  day((c || 20) * 100 + +a.slice(0, 2), +a.slice(2, 4), a.slice(4) % 60);
// DDMMYY and five digits; D-nummer: day + 40, H-nummer: month + 40; two mod-11 digits.
const NO_ID = /\D(\d{6}) ?(\d{5})(?!\d)/g;
const noId = (m, a, b) =>
  mod11(a + b, [3, 7, 6, 1, 8, 9, 4, 5, 2, 1]) &&
  mod11(a + b, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1]) &&
  day(2000 + +a.slice(4), a.slice(2, 4) % 40, a.slice(0, 2) % 40);
// 070-123 45 67, 08-123 456 78, +46 (0)70 123 45 67, 0047 912 34 567, 41 23 45 67 — but
// not a date, a price or what is shaped like an identity number.
const PHONE = /\+?\d+(?:(?: ?- ?| )(?:\(0\) ?)?\d{2,})*/g;
const phone = (m, i, all) =>
  !/^\s*(kr|sek|nok|:-|€|\$|%)/i.test(all.slice(i + m.length)) &&
  !/^(\d\d?-\d\d?-\d{2,4}|\d{6}-\d{4})$/.test(m) &&
  /^(00[1-9]\d{7,13}|0[1-9]\d{6,8}|[49]\d{7})$/.test((m[0] === "+" ? "00" : "") + m.replace(/\D/g, ""));
const EMAIL = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.\p{L}{2,}/gu;
// Storgatan 12B, Ekvägen 3, Karl Johans gate 22, Storgata 5 — but not "Stortorget 19.30".
const STREET = new RegExp(
  "\\p{L}{2}(?:gatan|gata|gate|gaten|vägen|veien|vegen|vei|veg|gränd|gränden|stigen|stien|" +
    "backen|bakken|allén|alléen|allé|torget|torvet|plassen|s (?:gate|gata|vei|veg|allé|plass))" +
    "\\s+\\d{1,4}(?!\\d|[.:,]\\d)",
  "gu",
);
function pii(text) {
  const kinds = [];
  let t = " " + text.normalize("NFC") + " ";
  const find = (kind, re, ok) => {
    t = t.replace(re, (...a) => {
      if (!ok(...a)) return a[0];
      if (kinds.indexOf(kind) < 0) kinds.push(kind);
      return " "; // not looked at again: the digits of an id are not also a phone number
    });
  };
  find("id", SE_ID, seId);
  find("id", NO_ID, noId);
  find("phone", PHONE, phone);
  find("email", EMAIL, () => true);
  find("address", STREET, () => true);
  return kinds;
}
window.lykta = { pii: pii }; // for the browser tests (tests/e2e/test_personal_details.py)

// A message that seems to hold personal details waits for "Send anyway" or "Edit message".
let allowed = null; // the text the young person chose to send anyway
function warn(kinds) {
  $("pii-text").textContent = S[kinds.length > 1 ? "pii_many" : "pii_" + kinds[0]];
  $("pii").hidden = false;
  $("pii-edit").focus();
  return false;
}
$("pii-edit").addEventListener("click", () => {
  $("pii").hidden = true;
  ta.focus();
});
$("pii-send").addEventListener("click", () => {
  allowed = ta.value.trim();
  $("pii").hidden = true;
  sendBtn.click();
  ta.focus();
});

composer($("composer"), ta, $("counter"), MAX, S, (body) => {
  if (state === "closed" || !code) return false;
  const found = body === allowed ? [] : pii(body);
  if (found.length) return warn(found);
  allowed = null;
  $("pii").hidden = true;
  const x = { client_id: newId(), body: body };
  outbox.add(x);
  addPending(x);
  typing(false);
  toEnd(main);
  if (sock.ready) sock.send(Object.assign({ type: "send" }, x));
});

$("remember").checked = remember;
// A browser may refuse storage to a frame on another site (third-party storage blocked):
// then nothing can be remembered, and the chat lasts as long as the frame.
try {
  localStorage.length;
} catch (err) {
  $("remember").parentNode.hidden = $("remember-help").hidden = true;
}
if (saved && saved.code) {
  // A fresh page has no history: resume from 0 and let the server send it all.
  code = saved.code;
  (saved.outbox || []).forEach((x) => {
    outbox.items.push(x);
    addPending(x);
  });
  showChat(false);
}
sock.connect();
