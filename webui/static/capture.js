// Webcam capture for face enrollment. The only script in the operator UI: getUserMedia needs it.
// Frames go to the controller for a quality check; the good ones are kept in this page's memory only
// and submitted with the ordinary upload form. Nothing is stored in the browser or on the server.
(function () {
  "use strict";
  var section = document.getElementById("webcam-section");
  var config = document.getElementById("capture-config");
  if (!section || !config || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  section.hidden = false;
  var video = document.getElementById("webcam");
  var startBtn = document.getElementById("webcam-start");
  var grabBtn = document.getElementById("webcam-grab");
  var enrollBtn = document.getElementById("webcam-enroll");
  var feedback = document.getElementById("webcam-feedback");
  var list = document.getElementById("webcam-frames");
  var maxFrames = parseInt(config.dataset.max, 10) || 12;
  var good = [];
  // The page's texts in the operator's language (data-texts, filled by the template); {n} is a number or a reason.
  var T = JSON.parse(config.dataset.texts || "{}");
  function t(key, value) { return (T[key] || key).replace("{n}", value === undefined ? "" : value); }

  function say(text) { feedback.textContent = text; }

  startBtn.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false }).then(function (stream) {
      video.srcObject = stream;
      say(t("starting"));
    }).catch(function (err) { say(t("no_webcam", err.name)); });
  });

  // Only once pictures arrive: a frame grabbed before that would be black.
  video.addEventListener("loadeddata", function () {
    grabBtn.disabled = false;
    say(t("webcam_on"));
  });

  grabBtn.addEventListener("click", function () {
    if (!video.videoWidth) { say(t("no_picture")); return; }
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { say(t("no_frame")); return; }
      var body = new FormData();
      body.append("frame", blob, "frame.jpg");
      say(t("checking"));
      fetch(config.dataset.checkUrl, { method: "POST", body: body, credentials: "same-origin",
                                       headers: { "X-CSRFToken": config.dataset.csrf } })
        .then(function (r) { return r.json(); })
        .then(function (result) {
          var item = document.createElement("li");
          if (result.accepted) {
            if (good.length < maxFrames) { good.push(blob); }
            item.textContent = t("frame_good", good.length);
            enrollBtn.disabled = false;
            say(t("good_count", good.length));
          } else {
            var why = (result.words || [result.error]).join("; ");
            item.textContent = t("not_used", why);
            say(t("not_usable", why));
          }
          list.appendChild(item);
        })
        .catch(function () { say(t("no_answer")); });
    }, "image/jpeg", 0.92);
  });

  enrollBtn.addEventListener("click", function () {
    var form = document.getElementById("upload-form");
    var input = document.getElementById("photos");
    var files = new DataTransfer();
    good.forEach(function (blob, i) { files.items.add(new File([blob], "webcam-" + i + ".jpg", { type: "image/jpeg" })); });
    input.files = files.files;
    good = [];
    if (video.srcObject) { video.srcObject.getTracks().forEach(function (t) { t.stop(); }); }
    form.submit();
  });
})();
