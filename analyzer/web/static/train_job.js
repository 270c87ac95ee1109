// The training attempt's page: poll its job until the feedback is ready, then open it.
(function () {
  const card = document.getElementById("train-job");
  const status = document.getElementById("job-status");
  if (!card || !status) return;
  const error = document.getElementById("train-error");
  async function poll() {
    try {
      const res = await fetch(card.dataset.statusUrl, { credentials: "same-origin" });
      if (res.ok) {
        const job = await res.json();
        if (job.status === "done" && job.result) { window.location = job.result; return; }
        if (job.status === "error") {
          status.hidden = true;
          error.hidden = false;
          error.textContent = "无法评分：" + job.error;
          return;
        }
      }
    } catch (e) { /* the server restarting: try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
})();
