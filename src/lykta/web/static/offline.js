// Lykta: the offline page, which the service worker shows in place of a worker page that
// could not be loaded. It asks the server whether it answers again (when the network comes
// back, and then less and less often, up to every 30 s) and loads the page again once it
// does; "Try again" loads it at once.
let wait = 2000;
let timer = 0;

function later() {
  clearTimeout(timer);
  timer = setTimeout(check, wait);
  wait = Math.min(wait * 2, 30000);
}

function check() {
  if (!navigator.onLine) return; // the "online" event comes first
  if (document.hidden) return later();
  fetch("/healthz", { cache: "no-store" }).then((r) => (r.ok ? location.reload() : later()), later);
}

addEventListener("online", () => {
  wait = 2000;
  check();
});
document.addEventListener("visibilitychange", () => !document.hidden && check());
document.getElementById("retry").addEventListener("click", (e) => {
  e.preventDefault();
  location.reload();
});
later();
