// Inside the signup widget's frame: tells the embedding page how tall the
// form is, so the frame fits it (a file, as no page may run inline script).
(function () {
  "use strict";
  function tell() { parent.postMessage({ relabelHeight: document.documentElement.scrollHeight }, "*"); }
  window.addEventListener("load", tell);
  window.addEventListener("resize", tell);
})();
