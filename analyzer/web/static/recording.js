// Player control for the recording page: a click on a finding, a phrase, a transcript line or the
// timeline plays the original from that time (case time is mapped to the right file and offset).
// Timeline positions come as data attributes: the Content-Security-Policy allows no inline styles.
document.querySelectorAll("#timeline [data-left], #speaker-lanes [data-left]").forEach((el) => {
  el.style.left = el.dataset.left + "%";
  if (el.dataset.width) el.style.width = el.dataset.width + "%";
});

(function () {
  const card = document.getElementById("player-card");
  if (!card) return;
  const files = JSON.parse(card.dataset.files || "[]");
  const total = parseFloat(card.dataset.total) || 0;
  const players = Array.from(document.querySelectorAll(".players .player"));
  const cursor = document.getElementById("cursor");
  const now = document.getElementById("now");

  function fmt(t) {
    t = Math.max(0, Math.round(t));
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }
  function fileIndexAt(t) {
    let idx = 0;
    files.forEach((f, i) => { if (t + 1e-6 >= (f.offset_s || 0)) idx = i; });
    return idx;
  }
  function active() { return players.find((p) => p.classList.contains("active")) || players[0]; }
  function activate(idx) {
    players.forEach((p, i) => {
      if (i === idx) p.classList.add("active");
      else { p.classList.remove("active"); p.pause(); }
    });
    return players[idx];
  }
  // t: case time; a target naming its file and file time (data-file, data-local) plays exactly there.
  function seek(t, fileIdx, fileTime) {
    const idx = Number.isInteger(fileIdx) && players[fileIdx] ? fileIdx : fileIndexAt(t);
    const el = activate(idx);
    if (!el) return;
    const local = Math.max(0, Number.isFinite(fileTime) ? fileTime : t - (files[idx].offset_s || 0));
    const go = () => {
      el.currentTime = local;
      const p = el.play();
      if (p && p.catch) p.catch(() => {});
    };
    if (el.readyState >= 1) go();
    else { el.addEventListener("loadedmetadata", go, { once: true }); el.load(); }
  }
  function caseTime(el) {
    const idx = players.indexOf(el);
    return (files[idx] ? files[idx].offset_s || 0 : 0) + el.currentTime;
  }
  players.forEach((el) => el.addEventListener("timeupdate", () => {
    if (el !== active()) return;
    const t = caseTime(el);
    if (now) now.textContent = fmt(t);
    if (cursor && total > 0) cursor.style.left = Math.min(100, (100 * t) / total) + "%";
  }));
  document.addEventListener("click", (ev) => {
    const target = ev.target.closest("[data-t]");
    if (target && (target.classList.contains("seek") || target.classList.contains("tl"))) {
      ev.preventDefault();
      const d = target.dataset;
      seek(parseFloat(d.t), d.file === undefined ? undefined : parseInt(d.file, 10), parseFloat(d.local));
      card.scrollIntoView({ behavior: "smooth", block: "nearest" });
      return;
    }
    const tl = ev.target.closest("#timeline");
    if (tl && total > 0) {
      const rect = tl.getBoundingClientRect();
      seek(((ev.clientX - rect.left) / rect.width) * total);
    }
  });
  window.scriptcheckPlayer = { seek, active, caseTime: () => caseTime(active()) };
})();
