// Open folded <details> that hold the target of an in-page link (#opportunity-12, #round-3),
// so a timeline entry or a shared link shows what it points at. Loaded as a static file:
// the Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function reveal(hash) {
    if (!hash || hash.length < 2) return;
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) node.open = true;
    }
    target.scrollIntoView({ block: "start" });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (link) reveal(link.getAttribute("href"));
  });
  window.addEventListener("hashchange", function () { reveal(window.location.hash); });
  reveal(window.location.hash);
})();
