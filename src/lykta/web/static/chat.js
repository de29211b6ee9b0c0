// Lykta: the young person's chat page. State lives in sessionStorage only:
// {code, last_seq, outbox}, and a random tab token (lykta-browser) that lets a worker block
// an abusive tab without identifying anyone; messages are never stored on the device.
import {
  $, readJSON, fmt, el, newId, msgItem, setStatus, setTime, stick, composer,
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
const pend = new Map(); // client_id -> own row not yet in the sequence
const bySeq = new Map(); // acked seq -> own row, in case a message frame lacks client_id

function store(v) {
  try {
    if (v) sessionStorage.setItem(KEY, JSON.stringify(v));
    else sessionStorage.removeItem(KEY);
  } catch (err) {
    /* storage full or blocked: the chat still works for this page's life */
  }
}
const save = () => code && store({ code: code, last_seq: seq.last, outbox: outbox.items });
const outbox = new Outbox([], save);
const newSeq = () => new Sequencer(apply, (last) => sock.send({ type: "sync", last_seq: last }));
let seq = newSeq();

// One random token per tab (never leaves sessionStorage except in `start`).
const browser = (() => {
  let t = null;
  try {
    t = sessionStorage.getItem("lykta-browser");
  } catch (err) {
    /* blocked storage: a token for this page's life */
  }
  if (!t || !/^[A-Za-z0-9_-]{16,64}$/.test(t)) {
    t = newId();
    try {
      sessionStorage.setItem("lykta-browser", t);
    } catch (err) {
      /* as above */
    }
  }
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
    else if (f.type === "ack") ack(f);
    else if (f.type === "error") error(f);
    else if (f.type === "queue") queued(f);
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
    $("end-confirm").hidden = true;
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
  }
  bySeq.delete(m.seq);
  place(li, m.seq);
  markRead();
  save();
  sendRead();
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

// The stored conversation is gone: back to the start.
function reset() {
  code = null;
  store(null);
  list.textContent = "";
  pend.clear();
  outbox.items = [];
  seq.buf.clear();
  seq = newSeq();
  staffRead = readSent = 0;
  feedback = profile = worker = null;
  $("who").hidden = true;
  $("intro").hidden = false;
  $("chat").hidden = $("composer").hidden = true;
  $("start").disabled = false;
}

function quit() {
  store(null);
  document.title = "";
  document.body.textContent = "";
  location.replace(C.quick_exit_url || $("exit").href);
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
  lastEsc = t;
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
  store(null);
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
  ta.disabled = sendBtn.disabled = true;
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

composer($("composer"), ta, $("counter"), MAX, S, (body) => {
  if (state === "closed" || !code) return false;
  const x = { client_id: newId(), body: body };
  outbox.add(x);
  addPending(x);
  typing(false);
  main.scrollTop = main.scrollHeight;
  if (sock.ready) sock.send(Object.assign({ type: "send" }, x));
});

let saved = null;
try {
  saved = JSON.parse(sessionStorage.getItem(KEY));
} catch (err) {
  /* nothing stored */
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
