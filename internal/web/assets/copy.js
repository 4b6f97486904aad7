// The copy buttons of the Self-service Portal. Without this script the
// buttons stay hidden and the commands can still be selected by hand.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el) return;
      var done = function (text) {
        b.textContent = text;
        setTimeout(function () { b.textContent = "Copy"; }, 2000);
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
        navigator.clipboard.writeText(el.textContent).then(function () { done("Copied"); }, select);
      } else {
        select();
      }
    });
  });
});
