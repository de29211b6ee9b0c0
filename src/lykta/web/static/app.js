// Lykta: the worker app. The conversation list updates live; the open conversation is in
// the URL hash (#<id>) so the phone's back button returns to the list.
import {
  $, readJSON, fmt, el, newId, msgItem, setStatus, setTime, stick, composer, toDate, clock,
  Sequencer, Outbox, ReliableSocket, TERMINAL,
} from "./wsclient.js";

const S = readJSON("lykta-strings");
const C = readJSON("lykta-config");
const lang = document.documentElement.lang;
const app = $("main");
const listEl = $("convs");
const thread = $("thread");
const ta = $("text");
const sendBtn = $("send");
const baseTitle = document.title;
const ORDER = { queued: 0, active: 1, closed: 2 };
const convs = new Map(); // id -> summary
const views = new Map(); // id -> {seq, ol, pend, bySeq, draft}
const outbox = new Outbox();
let me = null;
let sel = null;
let seen = {};
try {
  seen = JSON.parse(sessionStorage.getItem("lykta-seen")) || {};
} catch (err) {
  /* nothing stored */
}

const sock = new ReliableSocket("/ws/staff", {
  open() {},
  frame: frame,
  status(up) {
    $("conn").hidden = up;
  },
  closed(code) {
    if (code === 4401) {
      location.href = "/app/login";
      return false;
    }
  },
});

function frame(f) {
  if (f.type === "hello") {
    me = f.me && f.me.first_name;
    views.forEach((v, id) => sock.send({ type: "open", conversation_id: id, last_seq: v.seq.last }));
    sock.ready = true;
    outbox.flush(sock);
  } else if (f.type === "conversations") {
    const open = convs.get(sel);
    convs.clear();
    if (open) convs.set(open.id, open); // keep the open one even if it left the list
    f.items.forEach((c) => convs.set(c.id, c));
    listEl.setAttribute("aria-busy", "false");
    renderList();
    if (sel) head();
  } else if (f.type === "conversation") {
    convs.set(f.conversation.id, f.conversation);
    renderList();
    if (f.conversation.id === sel) head();
  } else if (f.type === "message") {
    const v = views.get(f.conversation_id);
    if (v) stick(thread, () => v.seq.push(f));
  } else if (f.type === "ack") ack(f);
  else if (f.type === "error") error(f);
}

function view(id) {
  let v = views.get(id);
  if (v) return v;
  const ol = el("ol", "msgs");
  ol.setAttribute("aria-live", "polite");
  ol.setAttribute("aria-relevant", "additions");
  ol.setAttribute("data-testid", "messages");
  v = { ol: ol, pend: new Map(), bySeq: new Map(), draft: "" };
  v.seq = new Sequencer(
    (m) => apply(id, v, m),
    (last) => sock.send({ type: "sync", conversation_id: id, last_seq: last }),
  );
  views.set(id, v);
  if (sock.ready) sock.send({ type: "open", conversation_id: id, last_seq: 0 });
  return v;
}

function markSeen(id, n) {
  if ((seen[id] || 0) >= n) return;
  seen[id] = n;
  try {
    sessionStorage.setItem("lykta-seen", JSON.stringify(seen));
  } catch (err) {
    /* not important */
  }
}

function apply(id, v, m) {
  let li;
  if (m.event) {
    li = msgItem("sys", null, m.event === "joined" ? fmt(S.joined_event, { name: m.author || S.staff }) : S.ended);
  } else if (m.sender === "youth") {
    li = msgItem("theirs", S.youth, m.body, m.at);
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
  v.ol.insertBefore(li, v.ol.querySelector(".out"));
  if (id === sel) markSeen(id, m.seq);
}

function ack(f) {
  outbox.take(f.client_id);
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
  if (f.client_id && f.code === "busy") return outbox.later(sock);
  if (f.client_id && TERMINAL.indexOf(f.code) >= 0) {
    outbox.take(f.client_id);
    views.forEach((v) => {
      const li = v.pend.get(f.client_id);
      if (!li) return;
      v.pend.delete(f.client_id);
      li.classList.remove("out");
      setStatus(li, fmt(S.failed, { reason: msg }), true);
    });
    return;
  }
  notice(msg);
}

function notice(msg) {
  const n = $("notice");
  n.textContent = msg || "";
  n.hidden = !msg;
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
const unread = (c) => (c.state === "closed" || c.id === sel ? 0 : Math.max(0, c.last_seq - (seen[c.id] || 0)));

function renderList() {
  const items = Array.from(convs.values()).sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.state === "queued" ? ts(a.created_at) - ts(b.created_at) : ts(b.last_activity_at) - ts(a.last_activity_at)),
  );
  const focused = document.activeElement && document.activeElement.getAttribute("data-id");
  let waiting = 0;
  listEl.textContent = "";
  items.forEach((c) => {
    if (c.state === "queued") waiting++;
    const a = el("a", "conv-link " + c.state);
    a.href = "#" + c.id;
    a.setAttribute("data-id", c.id);
    a.setAttribute("data-testid", "conv-item");
    a.setAttribute("data-state", c.state);
    if (c.id === sel) a.setAttribute("aria-current", "true");
    const top = el("span", "row");
    top.appendChild(el("strong", null, fmt(S.chat_n, { number: c.number })));
    top.appendChild(el("span", "badge " + c.state, S["state_" + c.state] || c.state));
    const n = unread(c);
    if (n) {
      const u = el("span", "unread");
      u.setAttribute("data-testid", "unread");
      u.appendChild(el("span", null, String(n))).setAttribute("aria-hidden", "true");
      u.appendChild(el("span", "sr", fmt(S.unread, { count: n })));
      top.appendChild(u);
    }
    a.appendChild(top);
    a.appendChild(
      el(
        "span",
        "small muted",
        c.state === "queued"
          ? fmt(S.waiting_for, { time: dur(Date.now() - ts(c.created_at)) })
          : fmt(S.last_activity, { time: ago(c.last_activity_at) }),
      ),
    );
    if (c.assigned) a.appendChild(el("span", "small muted", fmt(S.with, { name: c.assigned.first_name })));
    listEl.appendChild(el("li")).appendChild(a);
    if (c.id === focused) a.focus();
  });
  $("empty").hidden = items.length > 0 || listEl.getAttribute("aria-busy") === "true";
  document.title = (waiting ? "(" + waiting + ") " : "") + baseTitle;
}

function head() {
  const c = convs.get(sel);
  const st = c ? c.state : "";
  $("conv-title").textContent = c ? fmt(S.chat_n, { number: c.number }) : "";
  $("conv-state").textContent = c
    ? (S["state_" + st] || st) + (c.assigned ? " · " + fmt(S.with, { name: c.assigned.first_name }) : "")
    : "";
  $("take").hidden = st !== "queued";
  $("close").hidden = !c || st === "closed";
  if (st === "closed") $("confirm").hidden = true;
  ta.disabled = sendBtn.disabled = st === "closed";
}

function select(id) {
  if (sel && views.has(sel)) views.get(sel).draft = ta.value;
  const prev = sel;
  sel = id;
  app.setAttribute("data-view", id ? "conv" : "list");
  $("none").hidden = !!id;
  $("conv").hidden = !id;
  $("confirm").hidden = true;
  notice("");
  thread.textContent = "";
  if (id) {
    const v = view(id);
    thread.appendChild(v.ol);
    ta.value = v.draft;
    markSeen(id, v.seq.last);
    head();
    thread.scrollTop = thread.scrollHeight;
  }
  update();
  renderList();
  if (id) $("conv-title").focus();
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

function act(frame) {
  if (!sel || !sock.send(frame)) notice(S.error);
}

$("take").addEventListener("click", () => act({ type: "take", conversation_id: sel }));
$("close").addEventListener("click", () => {
  $("confirm").hidden = false;
  $("confirm-no").focus();
});
$("confirm-no").addEventListener("click", () => {
  $("confirm").hidden = true;
  $("close").focus();
});
$("confirm-yes").addEventListener("click", () => {
  $("confirm").hidden = true;
  act({ type: "close", conversation_id: sel });
});

const update = composer($("composer"), ta, $("counter"), C.max_length || 4000, S, (body) => {
  if (!sel) return false;
  const v = view(sel);
  const x = { conversation_id: sel, client_id: newId(), body: body };
  outbox.add(x);
  const li = msgItem("staff", me || S.staff, body);
  li.classList.add("out");
  setStatus(li, S.pending);
  v.pend.set(x.client_id, li);
  stick(thread, () => v.ol.appendChild(li));
  thread.scrollTop = thread.scrollHeight;
  if (sock.ready) sock.send(Object.assign({ type: "send" }, x));
});

addEventListener("hashchange", route);
setInterval(renderList, 30000);
route();
if (!sel) app.setAttribute("data-view", "list");
sock.connect();
