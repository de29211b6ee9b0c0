// Lykta: the offline page, which the service worker shows in place of a worker page that
// could not be loaded. It loads that page again when the network is back (or the server
// answers again), and at once on "Try again".
const again = () => location.reload();
addEventListener("online", again);
document.getElementById("retry").addEventListener("click", (e) => {
  e.preventDefault();
  again();
});
setInterval(() => {
  if (document.hidden || !navigator.onLine) return;
  fetch("/healthz", { cache: "no-store" }).then((r) => r.ok && again(), () => {});
}, 15000);
