// One server-sent event stream per tab (/live/stream, docs/live.md); every message is re-dispatched on
// `document` as a DOM event "otdel:live:<kind>" whose `detail` is the message, so features listen to
// the one stream instead of opening their own.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.liveStream;
  if (!url || !window.EventSource) return;
  var kinds = ["call", "notification"];
  var source = new EventSource(url, { withCredentials: /^https?:/.test(url) });
  window.otdelLive = { source: source, connected: false };
  source.addEventListener("open", function () { window.otdelLive.connected = true; document.documentElement.dataset.liveConnected = "1"; });
  source.addEventListener("error", function () { window.otdelLive.connected = false; document.documentElement.dataset.liveConnected = "0"; });
  kinds.forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      var detail;
      try { detail = JSON.parse(event.data); } catch (e) { return; }
      detail.id = event.lastEventId;
      document.dispatchEvent(new CustomEvent("otdel:live:" + kind, { detail: detail }));
    });
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
