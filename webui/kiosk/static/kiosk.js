// The gate's screen: shows what the gate service says and posts what the person taps. Nothing is
// decided here; the camera is never touched by this page (the gate service owns it). The words come
// from the page (both languages, translated on the server); the state is pushed by /kiosk/events.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("kiosk-config").textContent);
  const $ = function (id) { return document.getElementById(id); };
  const body = document.body;
  const headline = $("headline"), lines = $("lines"), greeting = $("greeting"), message = $("message");
  const camera = $("camera-indicator"), toggle = $("language");
  const codeForm = $("code-form"), pinForm = $("pin-form"), pad = $("pad");
  const tiles = Array.from(document.querySelectorAll("#ways .tile"));
  const CHOSEN_IDLE_MS = 30000;  // a toggle pressed at idle lapses if no transaction follows
  const CAMERA_HOLD_MS = 1500;   // the indicator stays at least this long, however short the opening
  let chosen = config.chosen ? {lang: config.chosen, at: Date.now()} : null;
  let last = null, lastPhase = null, seenUses = null, cameraUntil = 0, progressTimer = null;

  function lang() { return chosen ? chosen.lang : config.site; }
  function w(key) { return config.words[lang()][key]; }

  function post(action, value) {
    return fetch(config.action, {
      method: "POST", headers: {"Content-Type": "application/json"}, credentials: "same-origin",
      body: JSON.stringify({action: action, value: value || ""}),
    });
  }

  // One audio context for the page's life (a new one per tone would pile up on a screen that runs for
  // months). body[data-tones] counts the tones played, body[data-sound] names the last one.
  let audio = null;
  function sound(kind) {
    if (!config.sound) return;  // [gate] kiosk_sound = false
    try {
      const ctx = audio || (audio = new (window.AudioContext || window.webkitAudioContext)());
      if (ctx.state === "suspended") ctx.resume();
      const notes = kind === "open" ? [[880, 0], [1320, 0.16]] : [[220, 0]];
      notes.forEach(function (n) {
        const osc = ctx.createOscillator(), gain = ctx.createGain();
        osc.frequency.value = n[0]; gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(ctx.destination);
        osc.start(ctx.currentTime + n[1]); osc.stop(ctx.currentTime + n[1] + (kind === "open" ? 0.15 : 0.4));
      });
      body.dataset.sound = kind;
      body.dataset.tones = String(Number(body.dataset.tones) + 1);
    } catch (e) { /* no audio device: the screen still says it */ }
  }

  function tileLabel(way, s) {
    const m = s.methods || [];
    if (way === "card") return m.includes("card") || m.includes("card+face") ? w("card") : w("card_pin");
    if (way === "pin") return w("code_pin");
    const by = s.face_claims || [];
    if (by.length === 1) return by[0] === "card" ? w("face_card") : w("face_code");
    return w("face");
  }

  function viewOf(s) {
    if (s.alarms && s.alarms.length) return "alarm";
    return {idle: "idle", claim: "claim", choice: "choice", decision: "wait", precheck: "wait",
            capture: "capture", open: "open", refusal: "refusal", self_claim: "claim", self_pin: "choice",
            self_check: "wait", self_menu: "self", self_delete: "wait", self_done: "self"}[s.phase] || "idle";
  }

  function setLines(texts) {
    lines.replaceChildren.apply(lines, texts.map(function (t) {
      const p = document.createElement("p"); p.textContent = t; return p;
    }));
  }

  function render(s) {
    last = s;
    if (chosen && s.phase === "idle" && ((lastPhase && lastPhase !== "idle") || Date.now() - chosen.at > CHOSEN_IDLE_MS)) {
      chosen = null;  // the transaction ended: back to the site's language
    }
    if (chosen && s.phase !== "idle") chosen.at = Date.now();
    const language = lang(), view = viewOf(s);
    document.documentElement.lang = config.html_lang[language];
    body.dataset.view = view;
    body.dataset.phase = s.phase;
    document.querySelectorAll("[data-w]").forEach(function (el) { el.textContent = w(el.dataset.w); });
    document.querySelectorAll("[data-w-label]").forEach(function (el) { el.setAttribute("aria-label", w(el.dataset.wLabel)); });
    const other = config.words[language === "en" ? "zh_Hans_CN" : "en"] ? (language === "en" ? "zh_Hans_CN" : "en") : language;
    toggle.textContent = other === "en" ? "EN" : "中文";
    toggle.dataset.other = other;
    $("full-notice").href = $("full-notice").href.split("?")[0] + "?lang=" + language;

    const said = s.lines[language] || [];
    message.textContent = s.message;
    greeting.hidden = !(view === "open" && s.greeting);
    greeting.textContent = s.greeting || "";
    $("result-icon").hidden = !(view === "open" || view === "refusal");
    $("result-mark").setAttribute("d", view === "open" ? "M26 50 l14 14 l30 -32" : "M30 30 L66 66 M66 30 L30 66");
    $("alarm-icon").hidden = view !== "alarm";
    if (view === "alarm") {
      const fire = s.alarms[0] === "fire_alarm";
      headline.textContent = w(fire ? "fire" : "held"); setLines([w(fire ? "fire_line" : "held_line")]);
    } else if (view === "idle") {
      headline.textContent = w("present"); setLines([w("or_choose")]);
    } else if (view === "open") {
      headline.textContent = w("welcome"); setLines(said);
    } else if (view === "refusal") {
      headline.textContent = w("denied"); setLines(said.slice(0, 2));
    } else if (view === "wait") {
      headline.textContent = w("one_moment"); setLines([]);
    } else {
      headline.textContent = said[0] || ""; setLines(said.slice(1));
    }

    // Tiles: only the ways the gate accepts now (the server's `offered`), labelled by what they start with.
    const tilesShown = ["idle", "refusal"].includes(view) || (view === "choice" && s.phase === "choice");
    tiles.forEach(function (b) {
      const way = b.dataset.way;
      const fits = view !== "choice" || way === "face";  // with a claim held, only face adds anything
      b.hidden = !(tilesShown && fits && s.offered.includes(way));
      b.querySelector(".label").textContent = tileLabel(way, s);
    });
    $("other-ways").hidden = !(view === "refusal" && tiles.some(function (b) { return !b.hidden; }));
    // The card picture wherever a card is what the gate waits for.
    const wantsCard = (s.phase === "claim" && (s.intent === "card" || (s.intent === "face" && s.face_claims.includes("card"))))
      || s.phase === "self_claim";
    const wantsCode = (s.phase === "claim" && (s.intent === "pin" || (s.intent === "face" && s.face_claims.includes("code"))))
      || s.phase === "self_claim";
    $("tap-card").hidden = !(view === "idle" || wantsCard);
    codeForm.hidden = !wantsCode;
    pinForm.hidden = !["choice", "self_pin"].includes(s.phase);
    pad.hidden = codeForm.hidden && pinForm.hidden;
    $("to-letters").hidden = codeForm.hidden;  // letters only for resident codes, never for a PIN
    if (codeForm.hidden) { $("letters").hidden = true; $("digits").hidden = false; }
    $("capture").hidden = view !== "capture";
    $("self-service").hidden = !s.self_service || view !== "idle";
    $("delete-face").hidden = s.phase !== "self_menu";
    $("receipt").hidden = s.receipt === null || s.receipt === undefined;
    $("receipt").textContent = $("receipt").hidden ? "" : w("receipt") + " " + s.receipt;
    $("cancel").hidden = ["idle", "open"].includes(s.phase) || view === "alarm";
    $("notice").hidden = view !== "idle";

    // The camera indicator: on while the camera is, and at least CAMERA_HOLD_MS for every opening,
    // counted by the server, so an opening shorter than one push still shows.
    if (seenUses !== null && s.camera_uses > seenUses) cameraUntil = Date.now() + CAMERA_HOLD_MS;
    seenUses = s.camera_uses;
    if (s.camera_on) cameraUntil = Math.max(cameraUntil, Date.now() + 300);
    showCamera();

    if (s.phase !== lastPhase) {
      if (view === "open") sound("open");
      if (view === "refusal") sound("refusal");
      if (view === "capture") startProgress(); else stopProgress();
      if (!codeForm.hidden) $("code").focus();
      if (!pinForm.hidden) $("pin").focus();
      lastPhase = s.phase;
    }
  }

  function showCamera() {
    camera.hidden = Date.now() >= cameraUntil;
    if (!camera.hidden) setTimeout(showCamera, cameraUntil - Date.now() + 10);
  }

  function startProgress() {
    const bar = $("progress-bar"), started = Date.now();
    stopProgress();
    progressTimer = setInterval(function () {
      const pct = Math.min(95, (Date.now() - started) / 40);  // about 4 s to the end of a usual check
      bar.style.width = pct + "%";
      bar.parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
    }, 100);
  }
  function stopProgress() { if (progressTimer) clearInterval(progressTimer); progressTimer = null; }

  function offline() { headline.textContent = w("offline"); setLines([]); }

  function poll() {
    fetch(config.state, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(render)
      .catch(offline);
  }

  // Pushed by the server; if EventSource is missing or keeps failing, poll instead.
  let polling = null, failures = 0;
  function startPolling() { if (!polling) { polling = setInterval(poll, 500); poll(); } }
  if (window.EventSource) {
    const source = new EventSource(config.events);
    source.onmessage = function (e) { failures = 0; render(JSON.parse(e.data)); };
    source.onerror = function () { if (++failures >= 3) { source.close(); startPolling(); } };
  } else {
    startPolling();
  }

  toggle.addEventListener("click", function () {
    chosen = {lang: toggle.dataset.other, at: Date.now()};
    if (last) render(last);
  });
  tiles.forEach(function (b) { b.addEventListener("click", function () { post("choose", b.dataset.way); }); });
  codeForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const input = $("code");
    post("code", input.value); input.value = "";
  });
  pinForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const input = $("pin");
    post("pin", input.value); input.value = "";
  });
  $("cancel").addEventListener("click", function () { post("cancel"); });
  $("self-service").addEventListener("click", function () { post("self_service"); });
  $("delete-face").addEventListener("click", function () { post("delete_face_data"); });
  // The on-screen keypad types into whichever field is shown (a touch screen may have no keyboard).
  pad.querySelectorAll("button").forEach(function (b) {
    b.addEventListener("click", function () {
      const form = !codeForm.hidden ? codeForm : pinForm;
      const input = form.querySelector("input");
      const key = b.dataset.key;
      if (key === "back") input.value = input.value.slice(0, -1);
      else if (key === "ok") form.requestSubmit();
      else if (key === "letters" || key === "digits") {
        $("letters").hidden = key === "digits"; $("digits").hidden = key === "letters";
      } else if (input.value.length < Number(input.maxLength)) input.value += b.textContent.trim();
    });
  });
})();
