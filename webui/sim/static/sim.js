(function () {
  "use strict";
  const base = document.getElementById("sim").dataset.base.replace(/\/$/, "");
  function post(path, body) {
    return fetch(base + path, {method: "POST", headers: {"Content-Type": "application/json"},
      credentials: "same-origin", body: JSON.stringify(body)}).then(refresh);
  }
  document.getElementById("card-form").addEventListener("submit", function (e) {
    e.preventDefault(); post("/card", {number: document.getElementById("card").value});
  });
  document.querySelectorAll("#keypad button").forEach(function (b) {
    b.addEventListener("click", function () { post("/keys", {keys: b.textContent}); });
  });
  const faces = document.getElementById("faces");
  fetch(base + "/faces").then(function (r) { return r.json(); }).then(function (names) {
    names.forEach(function (n) { const o = document.createElement("option"); o.value = n; o.textContent = n; faces.appendChild(o); });
  });
  faces.addEventListener("change", function () { post("/photo", {face: faces.value}); });
  document.getElementById("photo-clear").addEventListener("click", function () { faces.value = ""; post("/photo", {face: ""}); });
  document.getElementById("upload-form").addEventListener("submit", function (e) {
    e.preventDefault();
    const file = document.getElementById("upload").files[0];
    if (!file) return;
    const data = new FormData(); data.append("photo", file);
    fetch(base + "/photo", {method: "POST", body: data, credentials: "same-origin"}).then(refresh);
  });
  function render(s) {
    document.getElementById("relay").textContent = s.rig.relays[0] ? "RELEASED" : "locked";
    document.getElementById("relay").className = s.rig.relays[0] ? "on" : "off";
    document.getElementById("door").textContent = s.door.state + (s.door.door_open ? " (open)" : "");
    document.getElementById("alarms").textContent = s.alarms.length ? s.alarms.join(", ") : "none";
    document.getElementById("phase").textContent = s.phase;
    document.getElementById("message").textContent = s.message;
    document.getElementById("camera-state").textContent = s.camera_on ? "\u25CF Camera ON" : "Camera off";
    document.getElementById("photo").textContent = s.rig.photo || "nothing";
    const inputs = document.getElementById("inputs");
    if (!inputs.childElementCount) {
      s.rig.inputs.forEach(function (i) {
        const label = document.createElement("label");
        const box = document.createElement("input"); box.type = "checkbox"; box.dataset.index = i.index;
        box.addEventListener("change", function () { post("/input", {index: i.index, on: box.checked}); });
        label.appendChild(box); label.appendChild(document.createTextNode(" " + i.name));
        inputs.appendChild(label); inputs.appendChild(document.createElement("br"));
      });
    }
    s.rig.inputs.forEach(function (i) {
      const box = inputs.querySelector('input[data-index="' + i.index + '"]');
      if (box && document.activeElement !== box) box.checked = i.on;
    });
    const list = document.getElementById("events"); list.textContent = "";
    s.events.forEach(function (ev) {
      const li = document.createElement("li");
      li.textContent = ev.at.slice(11, 19) + " " + (ev.kind === "access" ? ev.method + " " + (ev.granted ? "granted" : "refused") + " " + ev.reason : ev.event);
      list.appendChild(li);
    });
  }
  function refresh() { return fetch(base + "/state").then(function (r) { return r.json(); }).then(render).catch(function () {}); }
  refresh(); setInterval(refresh, 500);
})();
