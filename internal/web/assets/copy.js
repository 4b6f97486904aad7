// The pages' one script, a file of this server (the pages' policy allows
// no inline script). It only improves what works without it:
// - copy buttons (the portal's commands, the console's codes), hidden
//   until this script shows them: without it the text is selectable;
// - times, written in UTC by the server, rewritten in the viewer's own
//   time zone, with UTC kept in the title (shown on hover).
// - confirmations, for a browser that does not know invoker commands
//   (commandfor, command="show-modal"), which open them without a script
//   everywhere else;
// - a dialog the server rendered open (the portal's "code incorrect"),
//   reopened as a modal one: the page behind inert, Escape closes it, and
//   the focus then goes to the field it is about.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (!("commandForElement" in HTMLButtonElement.prototype)) {
    document.querySelectorAll("button[commandfor]").forEach(function (b) {
      b.addEventListener("click", function () {
        var d = document.getElementById(b.getAttribute("commandfor"));
        var cmd = b.getAttribute("command");
        if (d && d.showModal && cmd === "show-modal") {
          d.showModal();
        } else if (d && d.close && cmd === "close") {
          d.close();
        } else if (b.getAttribute("data-fallback")) {
          window.location.href = b.getAttribute("data-fallback");
        }
      });
    });
  }
  document.querySelectorAll("dialog[open][data-return-focus]").forEach(function (d) {
    if (!d.showModal) return;
    d.close();
    d.showModal();
    d.addEventListener("close", function () {
      var f = document.getElementById(d.getAttribute("data-return-focus"));
      if (f) f.focus();
    });
  });
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var zone = "";
  try {
    zone = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(new Date())
      .filter(function (p) { return p.type === "timeZoneName"; }).map(function (p) { return p.value; })[0] || "";
  } catch (e) { /* no zone name: the numbers alone */ }
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (isNaN(d)) return;
    t.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + (zone ? " " + zone : "");
  });
  document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    var label = b.textContent;
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el) return;
      var done = function (text) {
        b.textContent = text;
        setTimeout(function () { b.textContent = label; }, 2000);
      };
      var select = function () {
        var r = document.createRange();
        r.selectNodeContents(el);
        var s = window.getSelection();
        s.removeAllRanges();
        s.addRange(r);
        done("Selected: press Ctrl+C");
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(el.textContent.trim()).then(function () { done("Copied"); }, select);
      } else {
        select();
      }
    });
  });
});
