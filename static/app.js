// Send the CSRF token with every HTMX request, so hx-post buttons pass Flask-WTF's check.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});

// Swap refusals too (htmx 2 drops 4xx/5xx by default): a refused Retry or Cancel (409,
// 503 queue down) answers with the panel saying why, better than a click doing nothing.
// Other 5xx stay unswapped, so a poll that hits a hiccup keeps the panel and polls on.
// (Both scripts are deferred, so htmx has run by now.)
if (window.htmx) {
  htmx.config.responseHandling = [
    {code: "204", swap: false}, {code: "[23]..", swap: true},
    {code: "4..", swap: true, error: true}, {code: "503", swap: true, error: true},
    {code: "...", swap: false}];
}
