// The operations view's live part: the server re-renders the panel and sends it whole over SSE; the
// stream ends every ~25 s and EventSource reconnects by itself (the server's `retry:`).
(function () {
  "use strict";
  var panel = document.getElementById("ops-panel");
  var note = document.getElementById("live-note");
  if (!panel || !window.EventSource) { return; }
  var source = new EventSource(panel.getAttribute("data-stream"));
  source.onmessage = function (event) {
    panel.innerHTML = event.data;
    if (note) { note.classList.remove("stale"); }
  };
  source.onerror = function () {
    if (note) { note.classList.add("stale"); }
  };
}());
