// Lykta widget: one line on a team's own site adds a button that opens the team's chat.
//   <script src="(this Lykta's address)/widget.js" data-team="SLUG" async></script>
// Optional: data-label="…" (the button's text; else "Chat with us" in the page's language).
// The chat is Lykta's own page in an iframe of Lykta's origin, made only when the button is
// first pressed: the host page cannot read it, and the frame is asked for without the host
// page's address (referrerpolicy="no-referrer"). The widget's elements live in a shadow
// root with their own styles, so the host's CSS and this one leave each other alone; no
// inline style or innerHTML, so a strict CSP on the host page needs only script-src and
// frame-src for Lykta. Messages from the frame count only from Lykta's origin and the
// widget's own frame: {"lykta": "close"} (Esc in the chat) and {"lykta": "exit", "url"}
// (quick exit: the whole tab leaves). Esc twice on the widget is quick exit, as in the chat.
// Plain ES2017 in one function, no dependencies. Served by web/widget.py, which fills in
// the labels below.
(function (config) {
  "use strict";
  const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
  const ESC_TWICE_MS = 1000;

  // document.currentScript is this script while it first runs; else find our tag by src.
  const script =
    document.currentScript ||
    Array.prototype.find.call(
      document.querySelectorAll("script[src][data-team]"),
      (s) => /\/widget\.js(?:[?#]|$)/.test(s.src) && !s.lyktaWidget,
    );
  if (!script || script.lyktaWidget) return;
  script.lyktaWidget = true;
  const team = script.getAttribute("data-team") || "";
  if (!SLUG.test(team)) {
    console.error("Lykta widget: data-team must be a team's short name, such as \"molndal\"");
    return;
  }
  const origin = new URL(script.src, location.href).origin;

  // The labels in the host page's language (Norwegian and Danish read Swedish, as on the
  // chat page); the chat follows the same language when Lykta has it.
  const labels = config.labels || {};
  const tag = (document.documentElement.lang || "").toLowerCase().split(/[-_]/)[0];
  const lang = labels[tag] ? tag : /^(nb|nn|no|da)$/.test(tag) && labels.sv ? "sv" : "";
  const T = labels[lang || config.default] || { open: "Chat", close: "×", title: "Chat" };
  const custom = (script.getAttribute("data-label") || "").trim().slice(0, 60);
  const src =
    origin + "/chat/" + team + "?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "");

  const CSS = `
:host { all: initial !important; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.launcher, .panel { font: max(1rem, 16px)/1.25 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
button {
  display: inline-flex; align-items: center; justify-content: center; gap: .5em;
  min-width: 48px; min-height: 48px; margin: 0; cursor: pointer;
  font: inherit; font-weight: 600; border-radius: 999px;
}
button:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
svg { width: 1.5em; height: 1.5em; flex: none; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.launcher {
  position: fixed; right: 16px; bottom: 16px; z-index: 2147483646;
  padding: .5em 1.25em .5em 1em; color: #fff; background: #8a4600;
  border: 2px solid #fff; box-shadow: 0 2px 8px rgba(0, 0, 0, .35);
}
.panel {
  position: fixed; inset: 0; z-index: 2147483647;
  display: flex; flex-direction: column; background: #fff; color: #1b1b1b;
}
.bar {
  flex: none; display: flex; align-items: center; justify-content: space-between;
  padding: 2px 2px 2px 16px; background: #f6f3ee; border-bottom: 1px solid #ddd;
}
.title { font-weight: 600; }
.close { color: #1b1b1b; background: transparent; border: 2px solid transparent; }
iframe { flex: 1; display: block; width: 100%; min-height: 0; border: 0; background: #fff; }
@media (min-width: 40em) and (min-height: 30em) {
  .panel {
    inset: auto 16px 80px auto; width: 400px; height: min(640px, calc(100vh - 96px));
    border: 1px solid #767676; border-radius: 12px; overflow: hidden;
    box-shadow: 0 4px 24px rgba(0, 0, 0, .35);
  }
}
@media (prefers-color-scheme: dark) {
  .panel, iframe { background: #141414; color: #ececec; }
  .bar { background: #1f1f1f; border-color: #333; }
  .close { color: #ececec; }
}`;

  const SVG = "http://www.w3.org/2000/svg";
  function icon(paths) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    for (const d of paths) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    }
    return svg;
  }
  function button(cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    return b;
  }

  const host = document.createElement("lykta-widget");
  const root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    const sheet = new CSSStyleSheet(); // not an inline style: a strict host CSP allows it
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }

  const panel = document.createElement("div");
  panel.className = "panel";
  panel.id = "panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "title");
  const bar = document.createElement("div");
  bar.className = "bar";
  const title = bar.appendChild(document.createElement("span"));
  title.className = "title";
  title.id = "title";
  title.textContent = T.title;
  const closer = button("close");
  closer.setAttribute("aria-label", T.close);
  closer.appendChild(icon(["M6 6l12 12M18 6L6 18"]));
  bar.appendChild(closer);
  panel.appendChild(bar);

  const launcher = button("launcher");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "panel");
  launcher.appendChild(icon(["M4 5h16v11H9l-5 4z"]));
  launcher.appendChild(document.createElement("span")).textContent = custom || T.open;
  root.appendChild(launcher);
  root.appendChild(panel);

  let frame = null;
  let lastEsc = 0;

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = T.title;
      frame.setAttribute("referrerpolicy", "no-referrer"); // before src: the first request too
      frame.src = src;
      panel.appendChild(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    frame.focus();
  }

  // Hidden, not removed: the conversation goes on in the frame and is there when reopened.
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function escape() {
    const t = Date.now();
    if (!panel.hidden) close();
    else if (frame && t - lastEsc < ESC_TWICE_MS) frame.contentWindow.postMessage({ lykta: "exit" }, origin);
    lastEsc = t;
  }

  launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
  closer.addEventListener("click", close);
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" || e.key === "Esc") escape();
  });

  window.addEventListener("message", (e) => {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
    const d = e.data && typeof e.data === "object" ? e.data : {};
    if (d.lykta === "close") escape();
    else if (d.lykta === "exit" && typeof d.url === "string" && /^https?:\/\//i.test(d.url)) {
      panel.hidden = true;
      location.replace(d.url); // replaces the host page: Back does not lead to the chat
    }
  });

  function mount() {
    document.body.appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})(/*CONFIG*/ {});
