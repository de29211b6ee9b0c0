// Lykta: the young person's chat page. State lives in sessionStorage only:
// {code, last_seq, outbox}; messages are never stored on the device.
import {
  $, readJSON, fmt, el, newId, msgItem, setStatus, setTime, stick, composer,
  Sequencer, Outbox, ReliableSocket, TERMINAL,
} from "./wsclient.js";

const S = readJSON("lykta-strings");
const C = readJSON("lykta-config");
const KEY = "lykta-chat-" + C.team;
const MAX = C.max_length || 4000;
const list = $("messages");
const main = $("main");
const ta = $("text");
const sendBtn = $("send");

let code = null; // the conversation's resume code, once ready
let tryCode = null; // a code typed into the resume form, not yet accepted
let wantStart = false;
let session = false; // start/resume sent on this socket
let state = "";
let worker = null;
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

const sock = new ReliableSocket("/ws/chat", {
  open() {
    session = false;
    hello();
  },
  frame(f) {
    if (f.type === "ready") ready(f);
    else if (f.type === "message") stick(main, () => seq.push(f));
    else if (f.type === "ack") ack(f);
    else if (f.type === "error") error(f);
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
    sock.send({ type: "start", team: C.team });
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
  $("resume-error").hidden = $("notice").hidden = true;
  const first = $("chat").hidden;
  showChat(!!f.resume_code);
  setState(f.state, f.worker);
  if (first) (f.resume_code ? $("codebox").querySelector("summary") : ta).focus();
  sock.ready = true;
  save();
  outbox.flush(sock);
}

function setState(s, w) {
  state = s;
  if (w) worker = w;
  const st = $("status");
  st.textContent =
    s === "closed" ? S.ended : s === "active" ? fmt(S.joined, { name: worker || S.worker }) : S.waiting;
  st.className = "status " + s;
  ta.disabled = sendBtn.disabled = s === "closed";
  $("again").hidden = s !== "closed";
}

function place(li, s) {
  li.classList.remove("out");
  li.setAttribute("data-seq", s);
  list.insertBefore(li, list.querySelector(".out"));
}

function apply(m) {
  let li;
  if (m.event) {
    if (m.event === "joined") setState("active", m.author);
    if (m.event === "closed") setState("closed");
    li = msgItem("sys", null, m.event === "joined" ? fmt(S.joined_event, { name: m.author || S.worker }) : S.ended);
  } else if (m.sender === "youth") {
    li = pend.get(m.client_id) || bySeq.get(m.seq);
    if (li) {
      pend.delete(m.client_id);
      outbox.take(m.client_id);
    } else li = msgItem("mine", S.you, m.body);
    setStatus(li, S.sent);
    setTime(li, m.at);
  } else {
    li = msgItem("theirs", m.author || S.worker, m.body, m.at);
  }
  bySeq.delete(m.seq);
  place(li, m.seq);
  save();
}

function addPending(x) {
  const li = msgItem("mine", S.you, x.body);
  li.classList.add("out");
  setStatus(li, S.pending);
  pend.set(x.client_id, li);
  stick(main, () => list.appendChild(li));
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

function error(f) {
  const msg = f.message || S.error;
  if (f.client_id && f.code === "busy") return outbox.later(sock);
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
  }
  const n = $("notice");
  n.textContent = msg;
  n.hidden = false;
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
  $("notice").hidden = true;
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

composer($("composer"), ta, $("counter"), MAX, S, (body) => {
  if (state === "closed" || !code) return false;
  const x = { client_id: newId(), body: body };
  outbox.add(x);
  addPending(x);
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
