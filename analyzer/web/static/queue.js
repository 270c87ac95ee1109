// Poll analysis progress while anything is queued or running; reload when a row finishes.
(function () {
  const rows = () => Array.from(document.querySelectorAll("#queue tr[data-id]"));
  const busy = () => rows().some((r) => r.dataset.status === "queued" || r.dataset.status === "running");
  async function poll() {
    if (!busy()) return;
    try {
      const res = await fetch("/api/queue", { credentials: "same-origin" });
      if (!res.ok) return;
      const byId = new Map((await res.json()).map((r) => [String(r.id), r]));
      let finished = false;
      for (const row of rows()) {
        const info = byId.get(row.dataset.id);
        if (!info) continue;
        if (info.status !== row.dataset.status && (info.status === "done" || info.status === "error")) finished = true;
        const bar = row.querySelector("progress");
        if (bar) bar.value = info.progress;
        const stage = row.querySelector(".stage");
        if (stage) stage.textContent = info.stage;
        row.dataset.status = info.status;
      }
      if (finished) { window.location.reload(); return; }
    } catch (e) { /* server restarting: try again */ }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1000);
})();
