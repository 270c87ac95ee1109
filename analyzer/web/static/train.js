// Browser microphone -> MediaRecorder (webm/ogg) -> the same form post as a file upload.
(function () {
  const form = document.getElementById("train-form");
  if (!form) return;
  const select = document.getElementById("target");
  const standard = document.getElementById("standard-text");
  const start = document.getElementById("rec-start");
  const stop = document.getElementById("rec-stop");
  const status = document.getElementById("rec-status");
  const box = document.getElementById("recorder");
  function showStandard() {
    const opt = select.options[select.selectedIndex];
    standard.textContent = "";
    if (!opt) return;
    const std = document.createElement("div");
    std.textContent = "标准用语：" + (opt.dataset.text || "");
    const ex = document.createElement("div");
    ex.className = "hint";
    ex.textContent = "示例（【】处换成实际内容）：" + (opt.dataset.example || "");
    standard.append(std, ex);
  }
  select.addEventListener("change", showStandard);
  showStandard();
  let recorder = null, chunks = [];
  async function submitBlob(blob, name) {
    const data = new FormData(form);
    data.delete("audio");
    data.append("audio", blob, name);
    status.textContent = "正在评分，请稍候……";
    const res = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    window.location = res.url;
  }
  start.addEventListener("click", async () => {
    if (!navigator.mediaDevices || !window.MediaRecorder) { status.textContent = "此浏览器不支持录音，请上传文件。"; return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t)) || "";
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      chunks = [];
      recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
      recorder.onstop = () => {
        stream.getTracks().forEach((t) => t.stop());
        const mime = recorder.mimeType || "audio/webm";
        submitBlob(new Blob(chunks, { type: mime }), mime.includes("ogg") ? "attempt.ogg" : "attempt.webm");
      };
      recorder.start();
      box.classList.add("on");
      start.disabled = true; stop.disabled = false;
      status.textContent = "正在录音……读完后点“停止并提交”。";
    } catch (e) { status.textContent = "无法使用麦克风：" + e.message; }
  });
  stop.addEventListener("click", () => {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    box.classList.remove("on");
    start.disabled = false; stop.disabled = true;
  });
})();
