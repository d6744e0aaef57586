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

// A job panel swapped in whole (its job ended, or Cancel, Retry or Load it answered)
// takes away the button a keyboard user was on. Put the focus on the new panel's first
// action, else its heading's link, rather than let it fall back to the top of the page.
// (While the job runs only the panel's live part is swapped, and the buttons stay.)
var jobPanelHadFocus = false;
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  jobPanelHadFocus = !!(target && target.matches && target.matches(".job-panel")
                        && target.contains(document.activeElement));
});
document.addEventListener("htmx:afterSwap", function (event) {
  var panel = event.target;
  if (!jobPanelHadFocus || !panel.matches || !panel.matches(".job-panel")) { return; }
  jobPanelHadFocus = false;
  if (document.activeElement && document.activeElement !== document.body) { return; }
  var next = panel.querySelector(".actions button, .actions a") || panel.querySelector("h2 a");
  if (next) { next.focus(); }
});

// The report page's Print button (no inline handler: the CSP allows scripts from files).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) { window.print(); }
});
