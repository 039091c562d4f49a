// Consent banner for web analytics: nothing is loaded before the visitor
// accepts; the answer is kept for a year in the cookie `relabel_consent`.
(function () {
  "use strict";
  var box = document.getElementById("consent");
  if (!box) return;
  var answer = (document.cookie.match(/(?:^|; )relabel_consent=(yes|no)/) || [])[1];

  function remember(value) {
    document.cookie = "relabel_consent=" + value + "; Max-Age=31536000; Path=/; SameSite=Lax";
  }

  function load() {
    var kind = box.getAttribute("data-kind");
    var s = document.createElement("script");
    s.async = true;
    if (kind === "matomo") {
      var url = box.getAttribute("data-url");
      var site = box.getAttribute("data-site");
      window._paq = window._paq || [];
      window._paq.push(["trackPageView"], ["enableLinkTracking"], ["setTrackerUrl", url + "matomo.php"], ["setSiteId", site]);
      s.src = url + "matomo.js";
    } else if (kind === "google") {
      var id = box.getAttribute("data-id");
      window.dataLayer = window.dataLayer || [];
      window.gtag = function () { window.dataLayer.push(arguments); };
      window.gtag("js", new Date());
      window.gtag("config", id, { anonymize_ip: true });
      s.src = "https://www.googletagmanager.com/gtag/js?id=" + encodeURIComponent(id);
    } else {
      return;
    }
    document.head.appendChild(s);
  }

  if (answer === "yes") {
    load();
    return;
  }
  if (answer === "no") return;
  box.hidden = false;
  box.addEventListener("click", function (e) {
    var choice = e.target && e.target.getAttribute("data-consent");
    if (!choice) return;
    remember(choice);
    box.hidden = true;
    if (choice === "yes") load();
  });
})();
