// The gate's screen: shows what the gate service says and posts what the person taps. Nothing is
// decided here; the camera is never touched by this page (the gate service owns it).
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  const stateUrl = root.dataset.stateUrl;
  const actionUrl = root.dataset.actionUrl;
  const message = document.getElementById("message");
  const camera = document.getElementById("camera-indicator");
  const codeForm = document.getElementById("code-form");
  const pinForm = document.getElementById("pin-form");
  const cancel = document.getElementById("cancel");
  const buttons = Array.from(document.querySelectorAll("#ways button"));
  const pad = document.getElementById("pad");
  const selfService = document.getElementById("self-service");
  const deleteFace = document.getElementById("delete-face");
  const receipt = document.getElementById("receipt");
  let lastPhase = null;

  function post(action, value) {
    return fetch(actionUrl, {
      method: "POST", headers: {"Content-Type": "application/json"}, credentials: "same-origin",
      body: JSON.stringify({action: action, value: value || ""}),
    }).then(refresh);
  }

  function render(s) {
    message.textContent = s.message;
    camera.hidden = !s.camera_on;
    document.body.dataset.phase = s.phase;
    document.body.classList.toggle("granted", s.phase === "open");
    document.body.classList.toggle("refused", s.phase === "refusal");
    const showWays = ["idle", "refusal", "choice", "claim"].includes(s.phase);
    buttons.forEach(function (b) {
      const way = b.dataset.way;
      // In "choice" the claim is known: only face (and the PIN field below) make sense.
      const fits = s.phase !== "choice" || way === "face";
      b.hidden = !(showWays && fits && s.offered.includes(way));
    });
    // "My face data" reuses the code and PIN fields: a card or resident code, then the PIN.
    codeForm.hidden = !["claim", "self_claim"].includes(s.phase);
    pinForm.hidden = !["choice", "self_pin"].includes(s.phase);
    selfService.hidden = !s.self_service;
    deleteFace.hidden = s.phase !== "self_menu";
    receipt.hidden = s.receipt === null || s.receipt === undefined;
    receipt.textContent = receipt.hidden ? "" : "Receipt number " + s.receipt;
    pad.hidden = codeForm.hidden && pinForm.hidden;
    cancel.hidden = s.phase === "idle";
    if (s.phase !== lastPhase) {
      if (s.phase === "claim" || s.phase === "self_claim") document.getElementById("code").focus();
      if (s.phase === "choice" || s.phase === "self_pin") document.getElementById("pin").focus();
      lastPhase = s.phase;
    }
  }

  function refresh() {
    return fetch(stateUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(render)
      .catch(function () { message.textContent = "The gate service is not answering. Card still works."; });
  }

  buttons.forEach(function (b) { b.addEventListener("click", function () { post("choose", b.dataset.way); }); });
  codeForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const input = document.getElementById("code");
    post("code", input.value); input.value = "";
  });
  pinForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const input = document.getElementById("pin");
    post("pin", input.value); input.value = "";
  });
  cancel.addEventListener("click", function () { post("cancel"); });
  selfService.addEventListener("click", function () { post("self_service"); });
  deleteFace.addEventListener("click", function () { post("delete_face_data"); });
  // The on-screen keypad types into whichever field is shown (a touch screen may have no keyboard).
  pad.querySelectorAll("button").forEach(function (b) {
    b.addEventListener("click", function () {
      const form = !codeForm.hidden ? codeForm : pinForm;
      const input = form.querySelector("input");
      if (b.dataset.key === "back") input.value = input.value.slice(0, -1);
      else if (b.dataset.key === "ok") form.requestSubmit();
      else if (input.value.length < Number(input.maxLength)) input.value += b.textContent;
    });
  });
  refresh();
  setInterval(refresh, 500);
})();
