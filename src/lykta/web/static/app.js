// Lykta: the worker app. The conversation list updates live; the conversation in front is
// in the URL hash (#<id>) so the phone's back button returns to the list. Every
// conversation the worker has opened stays subscribed, with its own state (view).
import {
  $, readJSON, fmt, el, newId, msgItem, setStatus, setTime, stick, composer, toDate, clock, say, toEnd,
  Sequencer, Outbox, ReliableSocket, TERMINAL, RETRY,
} from "./wsclient.js";
import { installApp, notifications } from "./push.js";

const S = readJSON("lykta-strings");
const C = readJSON("lykta-config");
const lang = document.documentElement.lang;
const app = $("main");
const listEl = $("convs");
const rows = new Map(); // conversation id -> { li, a, drawn }: its entry in the list
const thread = $("thread");
const ta = $("text");
const sendBtn = $("send");
const typingEl = $("typing");
typingEl.textContent = S.youth_typing;
const baseTitle = document.title;
const ORDER = { queued: 0, active: 1, closed: 2 };
const convs = new Map(); // id -> summary
const views = new Map(); // id -> per-conversation state, see view()
const outbox = new Outbox();
const notesOut = new Map(); // client_id -> note frame not yet acknowledged, in the order written
const mine = new Set(); // conversations this worker just took (not handed over)
const handed = new Set(); // handed to this worker before they opened them
let H = { me: null, colleagues: [], canned_replies: [], topics: [], outcomes: [] }; // hello
let me = null; // {id, first_name}
let sel = null;
let onDuty = false;
const connText = $("conn").textContent;

const sock = new ReliableSocket("/ws/staff", {
  open() {},
  frame: frame,
  status(up) {
    $("conn").hidden = up;
    if (!up) say($("conn"), connText); // heard, not only shown
  },
  closed(code) {
    if (code === 4401) {
      location.href = "/app/login";
      return false;
    }
  },
});

function frame(f) {
  const t = f.type;
  if (t === "hello") hello(f);
  else if (t === "conversations") {
    const keep = new Map();
    views.forEach((v, id) => convs.has(id) && keep.set(id, convs.get(id)));
    convs.clear();
    keep.forEach((c, id) => convs.set(id, c)); // opened ones stay even if they left the list
    f.items.forEach((c) => convs.set(c.id, c));
    listEl.setAttribute("aria-busy", "false");
    renderList();
    if (sel) head();
  } else if (t === "conversation") summary(f.conversation);
  else if (t === "presence") presence(f);
  else if (t === "message") {
    const v = views.get(f.conversation_id);
    if (v) stick(thread, () => v.seq.push(f));
  } else if (t === "redacted") {
    const v = views.get(f.conversation_id);
    if (v) redacted(v, f.seq);
  } else if (t === "note") note(f);
  else if (t === "typing") {
    const v = views.get(f.conversation_id);
    if (v && f.sender === "youth") youthTyping(f.conversation_id, v, f.active);
  } else if (t === "read") {
    const v = views.get(f.conversation_id);
    if (v && f.reader === "youth" && f.seq > v.youthRead) {
      v.youthRead = f.seq;
      markRead(v);
    }
  } else if (t === "ack") ack(f);
  else if (t === "error") error(f);
  else if (t === "resync") views.forEach((v) => v.seq.sync(v.seq.last)); // missed events: ask again
}

function hello(f) {
  H = f;
  me = f.me;
  typingOn = null;
  duty(!!f.on_duty);
  buildForms();
  $("canned-toggle").hidden = !(f.canned_replies || []).length;
  views.forEach((v, id) => sock.send({ type: "open", conversation_id: id, last_seq: v.seq.last }));
  sock.ready = true;
  visibility();
  outbox.flush(sock);
  sendNote();
}

// Whether the app is in front: the server sends no push for a new message while it is.
function visibility() {
  if (sock.ready) sock.send({ type: "visibility", visible: document.visibilityState === "visible" });
}

// ----- the list ------------------------------------------------------------------------

function summary(c) {
  const old = convs.get(c.id);
  if (old && c.last_seq < old.last_seq) return; // a late snapshot never goes back
  convs.set(c.id, c);
  const toMe = me && c.assigned && c.assigned.id === me.id && !(old && old.assigned && old.assigned.id === me.id);
  if (toMe && !mine.delete(c.id) && old) {
    // Handed over by a colleague: tell, and show the notes when it is opened.
    const v = views.get(c.id);
    if (!v) handed.add(c.id);
    else if (!v.notesOpen) {
      v.notesOpen = true;
      if (c.id === sel) notesHead(v);
    }
    notify(c.id, S.handed_to_you);
  } else if (c.state !== "closed" && !views.has(c.id) && (!old || c.last_seq > old.last_seq)) {
    // Opened conversations notify from their messages; others from their summary.
    if (!old || c.state === "queued" || (me && c.assigned && c.assigned.id === me.id)) {
      notify(c.id, S.new_message);
    }
  }
  const v = views.get(c.id);
  if (v && c.youth_read_seq > v.youthRead) {
    v.youthRead = c.youth_read_seq;
    markRead(v);
  }
  renderList();
  if (c.id === sel) head();
}

const ts = (at) => toDate(at).getTime() || 0;

function dur(ms) {
  const m = Math.max(0, Math.round(ms / 60000));
  const p = m < 60 ? [m, "minute"] : m < 2880 ? [Math.round(m / 60), "hour"] : [Math.round(m / 1440), "day"];
  try {
    return new Intl.NumberFormat(lang, { style: "unit", unit: p[1], unitDisplay: "short" }).format(p[0]);
  } catch (err) {
    return p[0] + " " + p[1][0];
  }
}

function ago(at) {
  const m = Math.min(0, Math.round((ts(at) - Date.now()) / 60000));
  try {
    const r = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    if (m > -60) return r.format(m, "minute");
    if (m > -2880) return r.format(Math.round(m / 60), "hour");
    return r.format(Math.round(m / 1440), "day");
  } catch (err) {
    return clock(at);
  }
}

const rank = (c) => (c.state in ORDER ? ORDER[c.state] : 1);
function unread(c) {
  if (c.state === "closed" || c.id === sel) return 0;
  const v = views.get(c.id);
  return Math.max(0, c.last_seq - Math.max(c.staff_read_seq || 0, v ? v.readSent : 0));
}

// Waiting first (at risk first, then the longest wait), then active (at risk first, then
// the latest activity), then closed.
function renderList() {
  const items = Array.from(convs.values()).sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.state !== "closed" ? (b.flagged ? 1 : 0) - (a.flagged ? 1 : 0) : 0) ||
      (a.state === "queued" ? ts(a.created_at) - ts(b.created_at) : ts(b.last_activity_at) - ts(a.last_activity_at)),
  );
  // Updated in place: each conversation keeps its entry (an element that is replaced
  // while a finger or the mouse is on it loses the tap), an entry is redrawn only when
  // what it shows changed, and the list stays where the worker scrolled it (its pane
  // scrolls on a wide screen, the page on a phone).
  const scrollers = [listEl.closest(".pane"), document.scrollingElement].filter(Boolean);
  const scrolled = scrollers.map((x) => x.scrollTop);
  let total = 0;
  const shown = new Set();
  items.forEach((c, i) => {
    shown.add(c.id);
    const n = unread(c);
    total += n;
    let row = rows.get(c.id);
    if (!row) {
      row = { li: el("li"), a: el("a"), drawn: "" };
      row.a.href = "#" + c.id;
      row.a.setAttribute("data-id", c.id);
      row.a.setAttribute("data-testid", "conv-item");
      row.li.appendChild(row.a);
      rows.set(c.id, row);
    }
    drawEntry(row, c, n);
    const at = listEl.children[i];
    if (at !== row.li) listEl.insertBefore(row.li, at || null);
  });
  for (const [id, row] of rows) {
    if (!shown.has(id)) {
      row.li.remove();
      rows.delete(id);
    }
  }
  scrollers.forEach((x, i) => (x.scrollTop = scrolled[i]));
  $("empty").hidden = items.length > 0 || listEl.getAttribute("aria-busy") === "true";
  document.title = (total ? "(" + total + ") " : "") + baseTitle;
}

function drawEntry(row, c, n) {
  const time =
    c.state === "queued"
      ? fmt(S.waiting_for, { time: dur(Date.now() - ts(c.created_at)) })
      : fmt(S.last_activity, { time: ago(c.last_activity_at) });
  const drawn = JSON.stringify([c.state, c.flagged, c.number, c.kind, n, time, c.assigned && c.assigned.first_name, c.id === sel]);
  if (drawn === row.drawn) return;
  row.drawn = drawn;
  const a = row.a;
  a.className = "conv-link " + c.state + (c.flagged && c.state !== "closed" ? " flagged" : "");
  a.setAttribute("data-state", c.state);
  if (c.id === sel) a.setAttribute("aria-current", "true");
  else a.removeAttribute("aria-current");
  const top = el("span", "row");
  top.appendChild(el("strong", null, fmt(S.chat_n, { number: c.number })));
  top.appendChild(el("span", "badge " + c.state, S["state_" + c.state] || c.state));
  if (c.kind === "question") top.appendChild(el("span", "badge kind", S.question)).setAttribute("data-testid", "kind-question");
  if (n) {
    const u = el("span", "unread");
    u.setAttribute("data-testid", "unread");
    u.appendChild(el("span", null, String(n))).setAttribute("aria-hidden", "true");
    u.appendChild(el("span", "sr", fmt(S.unread, { count: n })));
    top.appendChild(u);
  }
  const parts = [top];
  if (c.flagged) parts.push(riskTag());
  parts.push(el("span", "small muted", time));
  if (c.assigned) parts.push(el("span", "small muted", fmt(S.with, { name: c.assigned.first_name })));
  a.replaceChildren(...parts);
}

function riskTag() {
  const r = el("span", "flag");
  r.setAttribute("data-testid", "at-risk");
  r.appendChild(el("span", null, "⚠ ")).setAttribute("aria-hidden", "true");
  r.appendChild(document.createTextNode(S.at_risk));
  return r;
}

// ----- duty, presence, notices ----------------------------------------------------------

function duty(on) {
  onDuty = on;
  $("duty").setAttribute("aria-checked", on ? "true" : "false");
}

function presence(f) {
  if (me) duty(f.on_duty.some((w) => w.id === me.id));
  const t = $("team-state");
  t.textContent = f.open ? S.team_open : S.team_closed;
  t.className = "teamstate " + (f.open ? "open" : "closed");
  t.hidden = false;
}

$("duty").addEventListener("click", () => {
  if (!sock.ready || !sock.send({ type: "duty", on: !onDuty })) return notice(S.error);
  duty(!onDuty);
});

// A sound only after a user gesture (browsers require it), and never when muted; the mute
// preference is this device's, in localStorage.
let muted = false;
try {
  muted = localStorage.getItem("lykta-mute") === "1";
} catch (err) {
  /* default: sound on */
}
let audio = null;
let beeped = 0;
const soundBtn = $("sound");
soundBtn.setAttribute("aria-pressed", muted ? "false" : "true");
soundBtn.addEventListener("click", () => {
  muted = !muted;
  soundBtn.setAttribute("aria-pressed", muted ? "false" : "true");
  try {
    localStorage.setItem("lykta-mute", muted ? "1" : "0");
  } catch (err) {
    /* for this page's life */
  }
});
function unlock() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch (err) {
    audio = null;
  }
}
addEventListener("pointerdown", unlock);
addEventListener("keydown", unlock);
function beep() {
  const now = Date.now();
  if (muted || !audio || audio.state !== "running" || now - beeped < 2000) return;
  beeped = now;
  try {
    const t = audio.currentTime;
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(0.12, t + 0.01);
    g.gain.exponentialRampToValueAtTime(0.0001, t + 0.2);
    o.connect(g);
    g.connect(audio.destination);
    o.start(t);
    o.stop(t + 0.22);
  } catch (err) {
    /* no sound, the notice remains */
  }
}

let toastTimer = 0;
function notify(id, text) {
  if (id === sel && !document.hidden) return;
  const c = convs.get(id);
  const link = $("toast-link");
  link.textContent = fmt(text, { chat: c ? fmt(S.chat_n, { number: c.number }) : "" });
  link.href = "#" + id;
  const toast = $("toast");
  toast.hidden = false;
  toast.classList.remove("show");
  void toast.offsetWidth; // restart the (motion-permitting) entry animation
  toast.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
  beep();
}
$("toast-link").addEventListener("click", () => ($("toast").hidden = true));

// ----- one conversation ---------------------------------------------------------------

function view(id) {
  let v = views.get(id);
  if (v) return v;
  const ol = el("ol", "msgs");
  ol.setAttribute("data-testid", "messages");
  const notes = el("ol", "notelist");
  notes.setAttribute("data-testid", "note-list");
  const readEl = el("p", "readmark", S.read);
  readEl.setAttribute("data-testid", "read-state");
  const c = convs.get(id);
  v = {
    ol: ol,
    notes: notes,
    noteIds: new Set(),
    notesOpen: handed.delete(id), // shown at once when handed over with notes
    riskOpen: true,
    readEl: readEl,
    pend: new Map(),
    bySeq: new Map(),
    removed: new Set(), // seqs whose text was removed, also before they arrive
    draft: "",
    base: c ? c.last_seq : 0, // what was there when opened: history, not news
    readSent: 0,
    readAt: 0,
    readTimer: 0,
    youthRead: c ? c.youth_read_seq || 0 : 0,
    typing: false,
    typingTimer: 0,
  };
  v.seq = new Sequencer(
    (m) => apply(id, v, m),
    (last) => sock.send({ type: "sync", conversation_id: id, last_seq: last }),
  );
  views.set(id, v);
  if (sock.ready) sock.send({ type: "open", conversation_id: id, last_seq: 0 });
  return v;
}

function apply(id, v, m) {
  let li;
  if (m.event) {
    const text =
      m.event === "joined"
        ? fmt(S.joined_event, { name: m.author || S.staff })
        : m.event === "requeued"
          ? S.requeued_event
          : S.ended;
    li = msgItem("sys", null, text);
  } else if (m.sender === "youth") {
    li = msgItem("theirs", S.youth, m.body, m.at);
    youthTyping(id, v, false);
    if (m.seq > v.base && (id !== sel || document.hidden)) notify(id, S.new_message);
    if (m.seq > v.base && id === sel && m.body) say($("said"), S.youth + ": " + m.body); // news, not history
  } else {
    li = v.pend.get(m.client_id) || v.bySeq.get(m.seq);
    if (li) {
      v.pend.delete(m.client_id);
      outbox.take(m.client_id);
      setStatus(li, S.sent);
      setTime(li, m.at);
    } else li = msgItem("staff", m.author || S.staff, m.body, m.at);
  }
  v.bySeq.delete(m.seq);
  li.classList.remove("out");
  li.setAttribute("data-seq", m.seq);
  if (m.redacted || v.removed.has(m.seq)) showRemoved(li);
  else if (!m.event) removable(li, m.seq);
  v.ol.insertBefore(li, v.ol.querySelector(".out"));
  markRead(v);
  if (id === sel) sendRead(id, v);
}

// ----- removing a message for everyone ----------------------------------------------------

let removing = null; // {id, seq, li} while the worker is asked to confirm

function showRemoved(li) {
  li.querySelector(".body").textContent = S.removed;
  li.classList.add("removed");
  const b = li.querySelector(".msg-remove");
  if (b) b.remove();
  if (removing && removing.li === li) panels(null);
}

// A message's text was removed: shown at once, or when it arrives (it may be waiting for a
// gap to fill, or not here yet).
function redacted(v, s) {
  v.removed.add(s);
  const waiting = v.seq.buf.get(s);
  if (waiting) v.seq.buf.set(s, Object.assign({}, waiting, { body: null, redacted: true }));
  const li = v.ol.querySelector('.msg[data-seq="' + s + '"]');
  if (li) showRemoved(li);
}

function removable(li, s) {
  if (li.querySelector(".msg-remove")) return;
  const b = el("button", "msg-remove", S.remove);
  b.type = "button";
  b.setAttribute("data-testid", "remove-message");
  b.addEventListener("click", () => {
    removing = { id: sel, seq: s, li: li };
    $("redact-quote").textContent = li.querySelector(".body").textContent;
    panels("redact-confirm");
    $("redact-no").focus();
  });
  const meta = li.querySelector(".meta");
  meta.insertBefore(b, meta.firstChild);
}

// "Read" under the workers' last message once the young person has read it.
function markRead(v) {
  const staff = v.ol.querySelectorAll(".msg.staff");
  const last = staff[staff.length - 1];
  const s = last ? +last.getAttribute("data-seq") : 0;
  if (s && s <= v.youthRead) {
    if (v.readEl.parentNode !== last) last.appendChild(v.readEl);
  } else v.readEl.remove();
}

// The conversation in front has been read: at most one `read` a second, only while the
// page is seen. Leaving a conversation sends what is pending at once.
function sendRead(id, v, now) {
  const due = () => {
    v.readTimer = 0;
    if (!sock.ready || v.seq.last <= v.readSent) return;
    if (!now && (id !== sel || document.visibilityState !== "visible")) return;
    v.readSent = v.seq.last;
    v.readAt = Date.now();
    sock.send({ type: "read", conversation_id: id, seq: v.readSent });
    renderList();
  };
  if (now) {
    clearTimeout(v.readTimer);
    return due();
  }
  if (!v.readTimer && v.seq.last > v.readSent) v.readTimer = setTimeout(due, Math.max(50, v.readAt + 1000 - Date.now()));
}
document.addEventListener("visibilitychange", () => {
  visibility();
  if (sel && views.has(sel)) sendRead(sel, views.get(sel));
  if (document.hidden) typing(false);
});

function youthTyping(id, v, on) {
  clearTimeout(v.typingTimer);
  v.typing = on;
  if (on) v.typingTimer = setTimeout(() => youthTyping(id, v, false), 10000);
  if (id === sel) typingEl.hidden = !on;
}

// The worker's own typing, for the conversation in front.
let typingOn = null; // the conversation the worker is typing in, as told to the server
let typingIdle = 0;
function typing(on) {
  clearTimeout(typingIdle);
  const c = convs.get(sel);
  const want = on && sel && sock.ready && !(c && c.state === "closed") ? sel : null;
  if (want) typingIdle = setTimeout(() => typing(false), 3000);
  if (want === typingOn) return;
  if (typingOn && sock.ready) sock.send({ type: "typing", conversation_id: typingOn, active: false });
  if (want) sock.send({ type: "typing", conversation_id: want, active: true });
  typingOn = want;
}

// ----- notes ----------------------------------------------------------------------------

function noteItem(author, body, at) {
  const li = el("li", "note");
  li.setAttribute("data-testid", "note");
  const meta = el("span", "meta");
  meta.appendChild(el("strong", null, author));
  if (at) meta.appendChild(el("time", null, clock(at))).dateTime = at;
  li.appendChild(meta);
  li.appendChild(el("p", "body", body));
  li.st = el("span", "st");
  meta.appendChild(li.st);
  return li;
}

function note(f) {
  const v = views.get(f.conversation_id);
  if (!v || v.noteIds.has(f.id)) return;
  v.noteIds.add(f.id);
  if (notesOut.delete(f.client_id)) sendNote();
  const pending = v.notes.querySelector('[data-client="' + f.client_id + '"]');
  if (pending) pending.remove();
  // In the order they were written: a note published while the list was being read
  // arrives before the list that holds it, and a stored note goes before those still
  // being sent (written after it: one is in flight at a time).
  const li = noteItem(f.author, f.body, f.at);
  li.dataset.id = f.id;
  const later = Array.from(v.notes.children).find((x) => !x.dataset.id || +x.dataset.id > f.id);
  v.notes.insertBefore(li, later || null);
  if (f.conversation_id === sel) notesHead(v);
}

// One note in flight at a time, the oldest first: a note sent again (the server was busy,
// or the link was replaced) is stored before the ones written after it, so that every
// device shows the notes in the order they were written.
function sendNote() {
  const x = notesOut.values().next().value;
  if (x && sock.ready) sock.send(x);
}

function notesHead(v) {
  const n = v.notes.children.length;
  const b = $("notes-toggle");
  b.textContent = fmt(S.notes_n, { count: n });
  b.setAttribute("aria-expanded", v.notesOpen ? "true" : "false");
  $("notes").hidden = !v.notesOpen;
}

$("risk").addEventListener("toggle", () => {
  const v = views.get(sel);
  if (v) v.riskOpen = $("risk").open;
});

$("notes-toggle").addEventListener("click", () => {
  const v = views.get(sel);
  if (!v) return;
  v.notesOpen = !v.notesOpen;
  notesHead(v);
  if (v.notesOpen) $("note-text").focus();
});

$("note-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const box = $("note-text");
  const body = box.value.trim();
  if (!sel || !body) return;
  const x = { type: "note", conversation_id: sel, client_id: newId(), body: body };
  notesOut.set(x.client_id, x);
  const li = noteItem(me ? me.first_name : S.staff, body);
  li.setAttribute("data-client", x.client_id);
  li.classList.add("out");
  li.st.textContent = S.pending;
  views.get(sel).notes.appendChild(li);
  notesHead(views.get(sel));
  box.value = "";
  if (notesOut.size === 1) sendNote();
});

// ----- acks and errors ------------------------------------------------------------------

function ack(f) {
  outbox.take(f.client_id);
  if (notesOut.delete(f.client_id)) {
    document.querySelectorAll('[data-client="' + f.client_id + '"] .st').forEach((s) => (s.textContent = S.sent));
    sendNote();
  }
  views.forEach((v) => {
    const li = v.pend.get(f.client_id);
    if (!li) return;
    setStatus(li, S.sent);
    if (f.seq > v.seq.last) v.bySeq.set(f.seq, li);
    else {
      v.pend.delete(f.client_id);
      li.classList.remove("out");
    }
  });
}

function error(f) {
  const msg = f.message || S.error;
  if (f.client_id && RETRY.indexOf(f.code) >= 0) {
    if (notesOut.has(f.client_id)) return setTimeout(sendNote, 3000);
    return outbox.later(sock);
  }
  if (f.client_id && TERMINAL.indexOf(f.code) >= 0) {
    outbox.take(f.client_id);
    if (notesOut.delete(f.client_id)) {
      document.querySelectorAll('[data-client="' + f.client_id + '"]').forEach((li) => {
        li.classList.add("failed");
        li.st.textContent = fmt(S.failed, { reason: msg });
      });
      sendNote();
    }
    views.forEach((v) => {
      const li = v.pend.get(f.client_id);
      if (!li) return;
      v.pend.delete(f.client_id);
      li.classList.remove("out");
      setStatus(li, fmt(S.failed, { reason: msg }), true);
    });
    return;
  }
  if (f.code === "not_queued" && f.conversation_id) mine.delete(f.conversation_id);
  notice(msg);
}

function notice(msg) {
  const n = $("notice");
  n.textContent = msg || "";
  n.hidden = !msg;
}

// ----- the conversation in front ----------------------------------------------------------

function head() {
  const c = convs.get(sel);
  const st = c ? c.state : "";
  const open = !!c && st !== "closed";
  $("conv-title").textContent = c ? fmt(S.chat_n, { number: c.number }) : "";
  $("conv-state").textContent = c
    ? (S["state_" + st] || st) + (c.assigned ? " · " + fmt(S.with, { name: c.assigned.first_name }) : "")
    : "";
  $("conv-kind").hidden = !c || c.kind !== "question";
  $("take").hidden = st !== "queued";
  $("close").hidden = $("handover-open").hidden = $("block").hidden = !open;
  const flag = $("flag");
  flag.hidden = !open;
  flag.textContent = c && c.flagged ? S.unflag : S.flag;
  flag.setAttribute("aria-pressed", c && c.flagged ? "true" : "false");
  $("more-wrap").hidden = !open;
  $("risk").hidden = !(c && c.flagged);
  const v = views.get(sel);
  if (v && $("risk").open !== v.riskOpen) $("risk").open = v.riskOpen;
  $("risk-text").textContent = H.risk_guidance || "";
  if (!open) $("confirm").hidden = $("block-confirm").hidden = true;
  ta.disabled = sendBtn.disabled = st === "closed";
}

function panels(show) {
  $("confirm").hidden = show !== "confirm";
  $("block-confirm").hidden = show !== "block-confirm";
  $("redact-confirm").hidden = show !== "redact-confirm";
  if (show !== "redact-confirm") {
    removing = null;
    $("redact-quote").textContent = "";
  }
  more(false);
}

function select(id) {
  if (sel && views.has(sel)) {
    const pv = views.get(sel);
    pv.draft = ta.value;
    sendRead(sel, pv, true);
  }
  typing(false);
  const prev = sel;
  sel = id;
  app.setAttribute("data-view", id ? "conv" : "list");
  $("none").hidden = !!id;
  $("conv").hidden = !id;
  panels(null);
  notice("");
  thread.textContent = "";
  $("notelist").textContent = "";
  showCanned(false);
  if (id) {
    const v = view(id);
    thread.appendChild(v.ol);
    $("notelist").appendChild(v.notes);
    ta.value = v.draft;
    notesHead(v);
    typingEl.hidden = !v.typing;
    head();
    toEnd(thread);
    sendRead(id, v);
  } else $("notes").hidden = true;
  update();
  renderList();
  if (id) $("conv-title").focus({ preventScroll: true }); // the newest messages stay in view
  else if (prev) {
    const a = listEl.querySelector('[data-id="' + prev + '"]');
    if (a) a.focus();
  }
}

function route() {
  const id = location.hash.slice(1);
  const want = /^[0-9a-f]{32}$/.test(id) ? id : null;
  if (want !== sel) select(want);
}

function act(f) {
  if (!sel || !sock.ready || !sock.send(f)) notice(S.error);
}

function more(open) {
  $("more").setAttribute("aria-expanded", open ? "true" : "false");
  $("more-items").hidden = !open;
}
$("more").addEventListener("click", () => more($("more-items").hidden));
document.addEventListener("click", (e) => {
  if (!$("more-items").hidden && !$("more-wrap").contains(e.target)) more(false);
});
$("more-wrap").addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !$("more-items").hidden) {
    more(false);
    $("more").focus();
  }
});

$("take").addEventListener("click", () => {
  mine.add(sel);
  act({ type: "take", conversation_id: sel });
  ta.focus(); // the next step is the reply (the button goes away once taken)
});

// Closing: the team's topics and an outcome, then `close`.
$("close").addEventListener("click", () => {
  panels("confirm");
  $("confirm-no").focus();
});
$("confirm-no").addEventListener("click", () => {
  panels(null);
  $("close").focus();
});
$("confirm").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = $("confirm");
  const topics = Array.from(form.querySelectorAll("[name=topic]:checked")).map((i) => i.value);
  const out = form.querySelector("[name=outcome]:checked");
  const f = { type: "close", conversation_id: sel, topics: topics };
  if (out) f.outcome = out.value;
  act(f);
  form.reset();
  panels(null);
});

function choice(type, name, value, label) {
  const l = el("label", "choice");
  const i = el("input");
  i.type = type;
  i.name = name;
  i.value = value;
  l.appendChild(i);
  l.appendChild(el("span", null, label));
  return l;
}

let built = "";
function buildForms() {
  const key = JSON.stringify([me, H.topics, H.outcomes, H.colleagues]);
  if (key === built) return; // a reconnect keeps what the worker has ticked
  built = key;
  const tr = (p, k) => S[p + k] || k;
  const topics = $("topics");
  topics.textContent = "";
  (H.topics || []).forEach((k) => topics.appendChild(choice("checkbox", "topic", k, tr("topic:", k))));
  const outcomes = $("outcomes");
  outcomes.textContent = "";
  (H.outcomes || []).forEach((k) => outcomes.appendChild(choice("radio", "outcome", k, tr("outcome:", k))));
  const to = $("handover-to");
  to.textContent = "";
  (H.colleagues || []).forEach((w) => {
    if (!me || w.id !== me.id) to.appendChild(choice("radio", "to", String(w.id), w.first_name));
  });
  to.appendChild(choice("radio", "to", "", S.back_to_queue));
  to.querySelectorAll("input").forEach((i) => (i.required = true));
}

// Hand-over: to a colleague, or back to the queue, with an optional internal note.
const dialog = $("handover");
$("handover-open").addEventListener("click", () => {
  more(false);
  $("handover-form").reset();
  if (dialog.showModal) dialog.showModal();
  else dialog.setAttribute("open", "");
  const first = dialog.querySelector("input");
  if (first) first.focus();
});
const closeDialog = () => (dialog.close ? dialog.close() : dialog.removeAttribute("open"));
$("handover-cancel").addEventListener("click", () => {
  closeDialog();
  $("more").focus();
});
// Escape closes the dialog too; focus then goes back to where it was opened from.
dialog.addEventListener("close", () => {
  if (document.activeElement === document.body || dialog.contains(document.activeElement)) $("more").focus();
});
// Tab stays in the dialog: from its last control to the first (a radio group is one stop).
dialog.addEventListener("keydown", (e) => {
  if (e.key !== "Tab") return;
  const all = Array.from(dialog.querySelectorAll("input, textarea, button")).filter(
    (x) => !x.disabled && x.getClientRects().length,
  );
  const a = document.activeElement;
  const first = all[0];
  const last = all[all.length - 1];
  if (!first) return;
  const group = first.type === "radio" ? dialog.querySelector('[name="' + first.name + '"]:checked') : null;
  if (e.shiftKey && (a === first || (group && a.name === first.name))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && a === last) {
    e.preventDefault();
    (group || first).focus();
  }
});
$("handover-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const to = dialog.querySelector("[name=to]:checked");
  if (!to) return;
  act({
    type: "transfer",
    conversation_id: sel,
    to: to.value ? +to.value : null,
    note: $("handover-note").value.trim(),
  });
  closeDialog();
  $("conv-title").focus();
});

$("flag").addEventListener("click", () => {
  const c = convs.get(sel);
  more(false);
  if (c) act({ type: "flag", conversation_id: sel, flagged: !c.flagged });
});

$("block").addEventListener("click", () => {
  panels("block-confirm");
  $("block-no").focus();
});
$("block-no").addEventListener("click", () => {
  panels(null);
  $("more").focus();
});
$("block-yes").addEventListener("click", () => {
  panels(null);
  act({ type: "block", conversation_id: sel });
});

// Escape cancels a confirm step, as its Cancel button does; and closes the header's menu.
[
  ["confirm", "confirm-no"],
  ["block-confirm", "block-no"],
  ["redact-confirm", "redact-no"],
].forEach(([panel, no]) =>
  $(panel).addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    e.preventDefault();
    $(no).click();
  }),
);
const menu = document.querySelector(".menu");
if (menu) {
  menu.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !menu.open) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });
}

$("redact-no").addEventListener("click", () => {
  const b = removing && removing.li.querySelector(".msg-remove");
  panels(null);
  (b || $("conv-title")).focus();
});
$("redact-yes").addEventListener("click", () => {
  const r = removing;
  panels(null);
  if (!r) return;
  act({ type: "redact", conversation_id: r.id, seq: r.seq });
  r.li.tabIndex = -1; // the button goes away: keep the reader's place in the thread
  r.li.focus();
});

// ----- composer: replies, typing, ready replies -----------------------------------------

const update = composer($("composer"), ta, $("counter"), C.max_length || 4000, S, (body) => {
  if (!sel) return false;
  const v = view(sel);
  const c = convs.get(sel);
  if (c && c.state === "queued") mine.add(sel); // replying to a waiting one takes it
  const x = { conversation_id: sel, client_id: newId(), body: body };
  outbox.add(x);
  const li = msgItem("staff", me ? me.first_name : S.staff, body);
  li.classList.add("out");
  setStatus(li, S.pending);
  v.pend.set(x.client_id, li);
  stick(thread, () => v.ol.appendChild(li));
  toEnd(thread);
  typing(false);
  showCanned(false);
  if (sock.ready) sock.send(Object.assign({ type: "send" }, x));
});

// "/key" before the caret: the ready replies whose key starts with it.
function slash() {
  if (ta.selectionStart !== ta.selectionEnd) return null;
  const pos = ta.selectionStart;
  const m = /(^|\s)\/([^\s/]*)$/.exec(ta.value.slice(0, pos));
  if (!m) return null;
  const key = m[2].toLowerCase();
  const all = H.canned_replies || [];
  return {
    start: pos - m[2].length - 1,
    end: pos,
    exact: all.find((r) => r.key.toLowerCase() === key),
    matches: all.filter((r) => r.key.toLowerCase().indexOf(key) === 0),
  };
}

const fill = (body) => fmt(body, { name: me ? me.first_name : "", team: H.team_name || "" });

function expand(r, at) {
  const body = fill(r.body);
  ta.value = ta.value.slice(0, at.start) + body + ta.value.slice(at.end);
  const caret = at.start + body.length;
  ta.setSelectionRange(caret, caret);
  showCanned(false);
  update();
  typing(true);
}

// The ready replies: "/" in the text lists the matching ones; the button beside the text
// lists them all (one thumb, or the keyboard: arrow keys in the list, Escape back).
const cannedList = $("canned");
const cannedBtn = $("canned-toggle");
function showCanned(on) {
  cannedList.hidden = !on;
  cannedBtn.setAttribute("aria-expanded", on ? "true" : "false");
}

function suggest(all) {
  const list = cannedList;
  const at = all ? { matches: H.canned_replies || [] } : slash();
  list.textContent = "";
  showCanned(!!at && at.matches.length > 0);
  if (list.hidden) return;
  at.matches.slice(0, all ? undefined : 6).forEach((r) => {
    const b = el("button", "canned-item");
    b.type = "button";
    b.setAttribute("data-key", r.key);
    b.appendChild(el("strong", null, "/" + r.key));
    b.appendChild(el("span", "muted", " " + fill(r.body)));
    b.addEventListener("click", () => {
      expand(r, slash() || { start: ta.selectionStart, end: ta.selectionEnd });
      ta.focus();
    });
    list.appendChild(el("li")).appendChild(b);
  });
}

ta.addEventListener("keydown", (e) => {
  if ((e.key !== " " && e.key !== "Tab") || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
  const at = slash();
  const r = at && (at.exact || (e.key === "Tab" && at.matches[0]));
  if (!r) return;
  e.preventDefault();
  expand(r, at);
});
ta.addEventListener("input", () => {
  typing(ta.value.trim() !== "");
  suggest();
});
cannedBtn.addEventListener("click", () => {
  if (!cannedList.hidden) {
    showCanned(false);
    return ta.focus();
  }
  suggest(true);
  const first = cannedList.querySelector("button");
  if (first) first.focus();
});
cannedList.addEventListener("keydown", (e) => {
  const items = Array.from(cannedList.querySelectorAll("button"));
  const i = items.indexOf(document.activeElement);
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length].focus();
  } else if (e.key === "Escape") {
    showCanned(false);
    ta.focus();
  }
});

addEventListener("hashchange", route);
setInterval(renderList, 30000);
route();
if (!sel) app.setAttribute("data-view", "list");
sock.connect();
// The installable app (service worker) and its notifications on this device.
notifications($("push"), $("push-note"), S, installApp(lang));
