"""`scriptcheck analyze` against faster-whisper alone, side by side in one run, as whole processes.

    python -m bench.bench_speed                      # everything; writes bench/results/speed.md
    python -m bench.bench_speed --only main --repeats 3
    python -m bench.bench_speed --only sweep         # batch sizes x compute types on the ASR clip

Parts (each a fresh process per measurement; runs of one part alternate, medians of `--repeats`):
- main: a 15-minute body-camera-like recording (8 scenes of guide and everyday sentences, about
  63 % speech, quiet street noise between scenes, mp4/AAC). faster-whisper alone (WhisperModel int8,
  greedy, vad_filter=True, 2 threads, word timestamps, no conditioning on previous text, as the
  pipeline decodes) vs `scriptcheck analyze --no-cache` sequential (`--batch-size 1`) vs batched.
  Wall and CPU time (wait4 of the child), peak RSS (ru_maxrss of the child; this parent stays small),
  CER of each transcript against the script.
- sweep: transcription only (`scriptcheck transcribe`-equivalent, in-process timing excluded):
  batch sizes 1-16 x int8/float32 on the 60 s ASR clip of bench_transcribe plus the recording.
- startup: a 5-second clip end to end (`scriptcheck analyze --no-cache`), wall, with a stage
  breakdown from a profiled run (imports, model load, VAD, decode, match, report).
- workers: a batch of 12 short recordings, `--workers 2 --threads 1` vs `--workers 1 --threads 2`.
  `--base /other/checkout` runs the startup part's processes from that checkout's code too, alternating.
- lengths: one `analyze` each of body-camera-like recordings of `--lengths` minutes (and, unless
  `--long-hours 0`, a quiet long file): wall, CPU, peak.
- cer: transcription only, faster-whisper alone, window by window, batched without and with the
  prompt, on the ASR clip and the 5-, 10- and 15-minute recordings: characters wrong, pooled.
- memory: `analyze` with default options on a `--hours`-hour body-camera-like recording (15-minute
  pieces, each with its own noise), peak VmHWM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".cache" / "bench_speed"
SR = 16_000

SENTENCES = [
    "现在是2024年3月15日上午9时30分，我们在瀍河区中州东路88号，对该公司财务收支情况进行审计检查，执法全过程记录开始。",
    "您好，请出示营业执照。",
    "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "请把近三年的账簿和凭证拿出来，我们需要查阅。",
    "这一笔支出的发票在哪里？请您解释一下用途。",
    "您享有陈述权、申辩权和行政救济权利。",
    "请您认真阅读法律文书内容，并在签名处签名。",
    "请您收好文书。",
    "今天天气不错，我们下午去公园散步吧。",
    "这家店的营业时间是早上八点到晚上十点。",
    "请问附近有没有可以停车的地方？",
    "我们下周一上午开会，讨论明年的工作计划。",
    "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权。",
    "请你控制情绪，执法过程已全记录，我们已报警，请等待公安民警处理。",
]


# ------------------------------------------------------------------ inputs


def bodycam_audio(minutes: float = 15.0, scenes: int = 8, seed: int = 0):
    """The body-camera-like recording's 16 kHz samples and its script (the reference text)."""
    import numpy as np

    from bench.audio_tools import add_noise, concat
    from bench.tts import synthesize

    rng = np.random.default_rng(seed)
    clips = {(i, v): synthesize(t, sr=SR, seed=v)[0] for i, t in enumerate(SENTENCES) for v in range(3)}
    total = minutes * 60
    per_scene_speech = 0.63 * total / scenes
    parts: list = []
    script: list[str] = []
    k = 0
    for scene in range(scenes):
        said = 0.0
        while said < per_scene_speech:
            i, v = k % len(SENTENCES), (k // len(SENTENCES) + scene) % 3
            clip = clips[(i, v)]
            parts += [clip, float(rng.uniform(0.4, 1.2))]
            said += len(clip) / SR
            script.append(SENTENCES[i])
            k += 1
        parts.append(0.0)  # scene break: filled below
    used = sum(len(p) / SR if not isinstance(p, float) else p for p in parts)
    gap = max(2.0, (total - used) / scenes)
    parts = [gap if isinstance(p, float) and p == 0.0 else p for p in parts]
    audio, _ = concat([1.0, *parts], SR)
    return add_noise(audio, SR, 30.0, "street", seed=seed), "".join(script)


def build_recording(path: Path, minutes: float = 15.0, scenes: int = 8, seed: int = 0) -> str:
    """Write the body-camera-like recording; return its script (the reference text)."""
    from bench.audio_tools import write_recording

    audio, script = bodycam_audio(minutes, scenes, seed)
    write_recording(path, audio, SR)
    return script


def long_bodycam(hours: float = 2.0) -> Path:
    """A long body-camera-like recording for peak memory: 15-minute body-camera-like pieces (8 scenes,
    about 63 % speech each) one after another, each with its own noise and pauses (seed = its index).
    Built piece by piece: one noise FFT over two hours would take gigabytes."""
    import numpy as np

    from bench.audio_tools import write_recording

    path = WORK / f"bodycam-{hours:g}h.mp4"
    if path.exists():
        return path
    pieces = int(round(hours * 4))
    audio = np.empty(0, np.float32)
    script: list[str] = []
    for k in range(pieces):
        piece, text = bodycam_audio(15.0, 8, seed=k)
        audio = np.concatenate([audio, piece])
        script.append(text)
    path.with_suffix(".txt").write_text("".join(script), encoding="utf-8")
    write_recording(path, audio, SR)
    return path


def inputs(minutes: float) -> tuple[Path, str]:
    """The recording and its script; built in a child process so this parent stays small."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"bodycam-{minutes:g}min.mp4"
    ref = path.with_suffix(".txt")
    if not path.exists() or not ref.exists():
        timed([sys.executable, "-m", "bench.bench_speed", "--build", str(minutes)])
    return path, ref.read_text(encoding="utf-8")


def build_inputs(minutes: float) -> None:
    path = WORK / f"bodycam-{minutes:g}min.mp4"
    path.with_suffix(".txt").write_text(build_recording(path, minutes), encoding="utf-8")
    short_clip()
    batch_folder()


def long_recording(hours: float = 2.0) -> Path:
    """A long quiet recording for peak memory: street noise above the silence gate throughout (so
    VAD and continuity read every second), with a scene of speech every 15 minutes."""
    import numpy as np

    from bench.audio_tools import make_noise, write_recording
    from bench.tts import synthesize

    path = WORK / f"long-{hours:g}h.mp4"
    if path.exists():
        return path
    n = int(hours * 3600 * SR)
    piece = 600 * SR  # noise made in 10-minute pieces: one FFT over 2 hours would take gigabytes
    audio = np.concatenate(
        [make_noise("street", min(piece, n - a), SR, seed=a // piece) for a in range(0, n, piece)]
    ) * np.float32(0.01)
    for k, at in enumerate(range(60, int(hours * 3600) - 60, 900)):
        pos = at * SR
        for i in range(6):
            clip = synthesize(SENTENCES[(k + i) % len(SENTENCES)], sr=SR, seed=k % 3)[0]
            audio[pos : pos + len(clip)] += 0.5 * clip[: n - pos]
            pos += len(clip) + SR
    write_recording(path, audio, SR)
    return path


def short_clip() -> Path:
    import numpy as np

    from bench.audio_tools import add_noise, concat, write_recording
    from bench.tts import synthesize

    path = WORK / "clip-5s.mp4"
    if not path.exists():
        speech = synthesize(SENTENCES[2], sr=SR, seed=0)[0]
        audio, _ = concat([0.5, speech], SR)
        audio = np.pad(audio, (0, max(0, 5 * SR - len(audio))))[: 5 * SR]
        write_recording(path, add_noise(audio, SR, 30.0, "street", seed=1), SR)
    return path


def batch_folder(n: int = 12) -> Path:
    from bench.audio_tools import add_noise, concat, write_recording
    from bench.tts import synthesize

    folder = WORK / f"batch{n}"
    if not folder.exists():
        tmp = folder.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for j in range(n):
            parts: list = [1.0]
            for m in range(6):
                parts += [synthesize(SENTENCES[(j + 3 * m) % len(SENTENCES)], sr=SR, seed=j % 3)[0], 1.5]
            audio, _ = concat(parts, SR)
            write_recording(tmp / f"rec{j:02d}.mp4", add_noise(audio, SR, 30.0, "street", seed=j), SR)
        tmp.rename(folder)
    return folder


# ------------------------------------------------------------------ measured processes


def timed(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Run a whole process; wall, CPU (user+sys, its reaped children included) and peak RSS (wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, stdout=out, stderr=err
        )
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.read()[-3000:]}")
        cpu = ru.ru_utime + ru.ru_stime
        return {"wall": wall, "cpu": cpu, "rss_mb": ru.ru_maxrss / 1024, "stdout": out.read()}


def fw_alone(path: Path, out: Path, threads: int = 2, compute: str = "int8") -> list[str]:
    return [sys.executable, "-m", "bench.bench_speed", "--fw", str(path), "--fw-out", str(out),
            "--threads", str(threads), "--compute", compute]  # fmt: skip


def analyze_cmd(
    paths: list[Path], out: Path, batch: int | None, threads: int = 2, workers: int = 1, *, plain=False
) -> list[str]:
    """`scriptcheck analyze` as a whole process; unless `plain`, through analyze_child, which runs the
    same CLI in-process and then writes its own peak RSS (VmHWM) next to the output. batch None: the
    default batch size (no --batch-size)."""
    launcher = ["-m", "analyzer"] if plain else ["-m", "bench.bench_speed", "--analyze-child"]
    size = [] if batch is None else ["--batch-size", str(batch)]
    return [sys.executable, *launcher, "analyze", *map(str, paths), "-o", str(out), "--no-cache",
            "--no-progress", "--threads", str(threads), "--workers", str(workers),
            *size, "--format", "json"]  # fmt: skip


def analyze_child(argv: list[str]) -> int:
    from analyzer.cli import main as cli_main

    rc = cli_main(argv)
    out = Path(argv[argv.index("-o") + 1])
    (out / "peak_rss_mb.txt").write_text(f"{_vmhwm():.1f}", encoding="utf-8")
    return rc


def peak_of(out: Path) -> float:
    return float((out / "peak_rss_mb.txt").read_text(encoding="utf-8"))


def run_fw(path: str, out: str, threads: int, compute: str) -> None:
    """faster-whisper on its own: the reference the pipeline is compared with."""
    from faster_whisper import WhisperModel

    from analyzer.models import resolve_model
    from analyzer.transcribe import DEFAULT_BEAM_SIZE

    model = WhisperModel(
        str(resolve_model(None, "faster-whisper").path), device="cpu", compute_type=compute,
        cpu_threads=threads, local_files_only=True,
    )  # fmt: skip
    segments, _ = model.transcribe(
        path, language="zh", beam_size=DEFAULT_BEAM_SIZE, vad_filter=True, word_timestamps=True,
        condition_on_previous_text=False,
    )  # fmt: skip
    text = "".join(s.text for s in segments)
    Path(out).write_text(json.dumps({"text": text, "peak_rss_mb": _vmhwm()}, ensure_ascii=False), "utf-8")


def _vmhwm() -> float:
    from bench.child import peak_rss_mb

    return peak_rss_mb()


def report_text(out_dir: Path) -> str:
    texts = []
    for f in sorted(out_dir.glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        for rec in doc.get("recordings", []):
            texts.append("".join(s["text"] for s in (rec.get("transcript") or {}).get("segments", [])))
    return "".join(texts)


def cer_of(reference: str, hypothesis: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", "import sys,json;from analyzer.eval_metrics import cer;"
         "d=json.load(sys.stdin);print(cer(d[0],d[1]))"],
        input=json.dumps([reference, hypothesis]), capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def part_main(minutes: float, repeats: int, batches: list[int], lines: list[str]) -> None:
    """faster-whisper alone at the pipeline's default beam, then `analyze` with its default options
    (no --batch-size: what a user gets), sequential, and each of `batches`."""
    from analyzer.transcribe import DEFAULT_BATCH_SIZE, DEFAULT_BEAM_SIZE

    path, script = inputs(minutes)
    beam = "greedy" if DEFAULT_BEAM_SIZE == 1 else f"beam {DEFAULT_BEAM_SIZE}"
    configs: dict[str, int | None] = {f"faster-whisper alone (int8, {beam}, its VAD)": None}
    configs[f"analyze, default options (batch size {DEFAULT_BATCH_SIZE})"] = 0
    for b in dict.fromkeys([1, *batches]):
        if b != DEFAULT_BATCH_SIZE:  # the default's row measures it
            configs[f"analyze --batch-size {b}" + (" (sequential)" if b == 1 else "")] = b
    runs: dict[str, list[dict]] = {k: [] for k in configs}
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        for r in range(repeats):
            for name, b in configs.items():
                out = Path(tmp) / f"{r}-{len(runs[name])}-{b}"
                print(f"[{time.strftime('%H:%M:%S')}] {name} run {r + 1} ...", file=sys.stderr)
                if b is None:
                    m = timed(fw_alone(path, out.with_suffix(".json")))
                    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
                    m["rss_mb"], texts[name] = data["peak_rss_mb"], data["text"]
                else:
                    m = timed(analyze_cmd([path], out, b or None))
                    texts[name], m["rss_mb"] = report_text(out), peak_of(out)
                runs[name].append(m)
                with open(Path(tmp).parent / "bench-speed-runs.jsonl", "a", encoding="utf-8") as log:
                    cer_text = texts[name]
                    log.write(
                        json.dumps({"name": name, "run": r, **m, "text": cer_text}, ensure_ascii=False) + "\n"
                    )
    base = runs[next(iter(configs))]
    bw, bc = median([m["wall"] for m in base]), median([m["cpu"] for m in base])
    base_cer = cer_of(script, texts[next(iter(configs))])
    load = os.getloadavg()
    lines += [
        f"## {minutes:g}-minute body-camera-like recording: whole processes, medians of {repeats}",
        "",
        f"Recording: `{path.name}` ({minutes:g} min, 8 scenes, about 63 % speech, street noise 30 dB SNR"
        f" under speech and between scenes). Load average at the end: {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f}.",
        "",
        "| configuration | wall s | × fw alone | CPU s | × fw alone | peak RSS MB | CER | walls |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, ms in runs.items():
        w, c = median([m["wall"] for m in ms]), median([m["cpu"] for m in ms])
        rss = max(m["rss_mb"] for m in ms)
        e = base_cer if name == next(iter(configs)) else cer_of(script, texts[name])
        lines.append(
            f"| {name} | {w:.1f} | {w / bw:.2f} | {c:.1f} | {c / bc:.2f} | {rss:.0f} | {e:.3f} | "
            f"{', '.join(format(m['wall'], '.0f') for m in ms)} |"
        )
    lines += [
        "",
        f"Commands: `{' '.join(fw_alone(Path('REC'), Path('OUT.json'))[1:])}` (faster-whisper alone, "
        "see `run_fw`), `scriptcheck analyze REC -o OUT --no-cache --no-progress --threads 2 --workers 1 "
        "--batch-size N --format json`.",
        "",
    ]


def part_sweep(
    minutes: float,
    lines: list[str],
    sizes: list[int],
    computes: list[str],
    float32_sizes=(),
    out=None,
    groups: list[int] | tuple[int, ...] = (1,),
) -> None:
    """Transcription only, in a child per configuration: decode seconds, CPU, peak, CER."""
    from bench.bench_transcribe import build_speech

    clip, clip_ref = build_speech()
    path, script = inputs(minutes)
    lines += [
        "## Batch size × compute type (transcription only, one process each)",
        "",
        f"Inputs: the 60 s ASR clip of bench_transcribe (`{clip.name}`) and the {minutes:g}-minute"
        " recording.",
        "Times exclude imports and model loading. `encoder`: chunks of a batch encoded at once"
        " (`transcribe.ENCODE_GROUP`; the decoder always takes the whole batch).",
        "",
        "| compute | batch | encoder | clip wall s | clip CER | rec wall s | rec CPU s | rec peak MB "
        "| rec CER |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    runs = [(c, b, g) for c in computes for b in sizes for g in sorted({min(x, b) for x in groups})]
    runs += [("float32", b, 1) for b in float32_sizes]
    for compute, b, g in runs:
        print(f"[{time.strftime('%H:%M:%S')}] sweep {compute} batch {b} encoder {g} ...", file=sys.stderr)
        m = timed([sys.executable, "-m", "bench.bench_speed", "--sweep-child", str(clip), str(path),
                   "--compute", compute, "--batch", str(b), "--encode-group", str(g)])  # fmt: skip
        d = json.loads(m["stdout"].strip().splitlines()[-1])
        lines.append(
            f"| {compute} | {b} | {g} | {d['clip_wall']:.1f} | {cer_of(clip_ref, d['clip_text']):.3f} | "
            f"{d['rec_wall']:.1f} | {d['rec_cpu']:.1f} | {d['peak_rss_mb']:.0f} | "
            f"{cer_of(script, d['rec_text']):.3f} |"
        )
        if out:
            Path(out).write_text("\n".join(lines), encoding="utf-8")
    lines.append("")


def sweep_child(clip: str, rec: str, compute: str, batch: int, encode_group: int = 1) -> None:
    from analyzer import transcribe as transcribe_module
    from analyzer.media import load_audio
    from analyzer.transcribe import TranscribeOptions, transcribe

    transcribe_module.ENCODE_GROUP = encode_group
    opts = TranscribeOptions(compute_type=compute, batch_size=batch, threads=2)
    out: dict = {}
    for key, path in (("clip", clip), ("rec", rec)):
        audio = load_audio(path)
        if key == "clip":
            transcribe(audio[: SR * 5], opts, cache=False)  # model load and warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        t = transcribe(audio, opts, cache=False)
        out[f"{key}_wall"], out[f"{key}_cpu"] = time.perf_counter() - t0, time.process_time() - c0
        out[f"{key}_text"] = t.text
    out["peak_rss_mb"] = _vmhwm()
    print(json.dumps(out, ensure_ascii=False))


CER_CONFIGS = {
    "faster-whisper alone (its VAD)": None,
    "window by window (--batch-size 1)": {"batch_size": 1},
    "batch 2, no prompt (batch_context_chars 0)": {"batch_size": 2, "batch_context_chars": 0},
    "batch 2, default (the text before each batch as its prompt)": {"batch_size": 2},
}


def part_cer(minutes: list[float], lines: list[str]) -> None:
    """Transcription only, one child process per configuration, on the ASR clip and the body-camera-like
    recordings of `minutes`: errors per input and pooled (characters), CPU seconds. Which audio shares
    Whisper's 30 s window moves a single recording's CER by several points either way, so configurations
    are compared on the pooled characters."""
    from bench.bench_transcribe import build_speech

    clip, clip_ref = build_speech()
    items = [("ASR clip", str(clip), clip_ref)]
    for m in minutes:
        path, script = inputs(m)
        items.append((f"{m:g} min", str(path), script))
    head = " | ".join(f"{name} ({len(ref)} chars)" for name, _, ref in items)
    lines += [
        "## CER: batched against window by window and faster-whisper alone (transcription only)",
        "",
        "Characters wrong (CER) per input, pooled over all of them; CPU s of the transcriptions (process"
        " time in one child per configuration, model load included for faster-whisper alone).",
        "",
        f"| configuration | {head} | pooled | CPU s |",
        "|---|" + "---:|" * (len(items) + 2),
    ]
    for name, config in CER_CONFIGS.items():
        print(f"[{time.strftime('%H:%M:%S')}] cer {name} ...", file=sys.stderr)
        m = timed([sys.executable, "-m", "bench.bench_speed", "--cer-child", json.dumps(config),
                   json.dumps([p for _, p, _ in items])])  # fmt: skip
        d = json.loads(m["stdout"].strip().splitlines()[-1])
        errors = [cer_of(ref, text) * len(ref) for (_, _, ref), text in zip(items, d["texts"], strict=True)]
        total = sum(len(ref) for _, _, ref in items)
        cells = [f"{e:.0f} ({e / len(ref):.3f})" for e, (_, _, ref) in zip(errors, items, strict=True)]
        pooled = f"**{sum(errors):.0f}** ({sum(errors) / total:.3f})"
        lines.append(f"| {name} | {' | '.join(cells)} | {pooled} | {d['cpu']:.1f} |")
    lines.append("")


def cer_child(config: dict | None, paths: list[str]) -> None:
    from analyzer.media import load_audio
    from analyzer.transcribe import DEFAULT_BEAM_SIZE, TranscribeOptions, transcribe

    texts, cpu = [], 0.0
    model = None
    for path in paths:
        c0 = time.process_time()
        if config is None:
            from faster_whisper import WhisperModel

            from analyzer.models import resolve_model

            model = model or WhisperModel(
                str(resolve_model(None, "faster-whisper").path), device="cpu", compute_type="int8",
                cpu_threads=2, local_files_only=True,
            )  # fmt: skip
            segments, _ = model.transcribe(
                path, language="zh", beam_size=DEFAULT_BEAM_SIZE, vad_filter=True, word_timestamps=True,
                condition_on_previous_text=False,
            )  # fmt: skip
            texts.append("".join(s.text for s in segments))
        else:
            audio = load_audio(path)
            texts.append(transcribe(audio, TranscribeOptions(threads=2, **config), cache=False).text)
        cpu += time.process_time() - c0
    print(json.dumps({"texts": texts, "cpu": cpu}, ensure_ascii=False))


def part_startup(repeats: int, batch: int, lines: list[str], base: str | None = None) -> None:
    """Wall and CPU of whole `analyze` processes on the 5-second clip; with `base` (another checkout of
    the project, e.g. main's) the same runs from there too, alternating, so before and after are
    measured side by side. The stage breakdown is one profiled process of each."""
    clip = short_clip()
    trees = {"this tree": ROOT} if not base else {"this tree": ROOT, f"base ({base})": Path(base)}
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    stages: dict[str, dict] = {}
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        for r in range(repeats):
            for name, tree in trees.items():
                out = Path(tmp) / f"s{r}-{len(stages)}-{abs(hash(name))}"
                cmd = analyze_cmd([clip], out, batch, plain=True)
                runs[name].append(timed(cmd, env={"PYTHONPATH": str(tree)}, cwd=tree))
        for name, tree in trees.items():
            prof = timed([sys.executable, "-m", "bench.bench_speed", "--startup-child", str(clip),
                          str(Path(tmp) / f"p{abs(hash(name))}"), "--batch", str(batch)],
                         env={"PYTHONPATH": str(tree)}, cwd=tree)  # fmt: skip
            stages[name] = json.loads(prof["stdout"].strip().splitlines()[-1])
    load1 = os.getloadavg()
    names = list(trees)
    lines += [
        "## Start-up: a 5-second clip end to end",
        "",
        f"`scriptcheck analyze clip-5s.mp4 --no-cache --batch-size {batch} --format json`, whole processes"
        f" (median of {repeats}{', alternating' if base else ''}); target ≤ 3 s wall. Load average"
        f" {load0[0]:.2f} at the start, {load1[0]:.2f} at the end.",
        "",
        "| code | wall s | CPU s | walls |",
        "|---|---:|---:|---|",
        *[
            f"| {name} | {median([m['wall'] for m in ms]):.2f} | {median([m['cpu'] for m in ms]):.2f} | "
            f"{', '.join(format(m['wall'], '.2f') for m in ms)} |"
            for name, ms in runs.items()
        ],
        "",
        "What it consists of (one process each, `--startup-child`, stages timed in order, wall s):",
        "",
        "| stage | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        *[
            f"| {k} | " + " | ".join(f"{stages[n][k]:.2f}" if k in stages[n] else "—" for n in names) + " |"
            for k in dict.fromkeys(k for n in names for k in stages[n])
        ],
        "",
    ]


def startup_child(clip: str, out: str, batch: int) -> None:
    t = {}
    t0 = time.perf_counter()
    import analyzer.cli  # noqa: F401
    from analyzer import batch as batch_mod  # noqa: F401
    from analyzer import report  # noqa: F401
    from analyzer.pipeline import AnalyzeOptions, load_guide_for

    t["python + analyzer imports"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    import faster_whisper  # noqa: F401

    t["faster-whisper / CTranslate2 / onnxruntime imports"] = time.perf_counter() - t1
    opts = AnalyzeOptions(cache=False, threads=2, transcribe={"batch_size": batch})
    t1 = time.perf_counter()
    load_guide_for(opts)
    t["guide"] = time.perf_counter() - t1
    from analyzer.transcribe import _engine, resolve_model

    t1 = time.perf_counter()
    topts = opts.transcribe_options()
    _engine(topts, resolve_model(None, "faster-whisper"))
    t["Whisper model load"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    from analyzer.media import load_audio
    from analyzer.vad import speech_probs

    audio = load_audio(clip)
    t["media decode"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    speech_probs(audio)
    t["Silero VAD (incl. its model load)"] = time.perf_counter() - t1
    from analyzer.pipeline import analyze_recording

    t1 = time.perf_counter()
    result = analyze_recording([clip], opts)
    tm = result.timings
    t["analyze_recording (model cached; VAD again)"] = time.perf_counter() - t1
    for k in ("transcribe", "continuity", "match", "recheck", "speakers", "rules"):
        note = " (second looks, counted in match)" if k == "recheck" else ""
        t[f"  of which {k}{note}"] = tm.get(k, 0.0)
    t1 = time.perf_counter()
    batch_mod.write_outputs(
        report.recording_to_dict(result), report.guide_to_dict(result.guide), Path(out), "clip", ("json",)
    )
    t["report (JSON)"] = time.perf_counter() - t1
    t["total"] = time.perf_counter() - t0
    print(json.dumps({k: round(v, 3) for k, v in t.items()}))


def part_workers(repeats: int, batch: int, lines: list[str]) -> None:
    folder = batch_folder()
    configs = {"--workers 1 --threads 2": (1, 2), "--workers 2 --threads 1": (2, 1)}
    runs: dict[str, list[float]] = {k: [] for k in configs}
    audio_s = 12 * 0.0
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        for r in range(repeats):
            for name, (w, th) in configs.items():
                print(f"[{time.strftime('%H:%M:%S')}] workers {name} run {r + 1} ...", file=sys.stderr)
                out = Path(tmp) / f"w{w}-{r}"
                cmd = analyze_cmd([folder], out, batch, threads=th, workers=w) + ["--no-group"]
                runs[name].append(timed(cmd)["wall"])
    import soundfile  # noqa: F401

    audio_s = sum(_duration(p) for p in folder.glob("*.mp4"))
    lines += [
        f"## Workers: a batch of 12 recordings ({audio_s / 60:.1f} min of audio), medians of {repeats}",
        "",
        "| configuration | wall s | audio minutes per wall minute | walls |",
        "|---|---:|---:|---|",
        *[
            f"| `{name}` | {median(ws):.1f} | {audio_s / median(ws):.1f} | "
            f"{', '.join(f'{w:.0f}' for w in ws)} |"
            for name, ws in runs.items()
        ],
        "",
        f"Command: `scriptcheck analyze {folder.name}/ --no-group --no-cache --batch-size {batch} "
        "--workers W --threads T --format json`.",
        "",
    ]


def part_lengths(minutes: list[float], batch: int, lines: list[str], long_hours: float = 2.0) -> None:
    """One run each: how wall time and peak memory grow with the recording's length."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        for m in minutes:
            path, _ = inputs(m)
            print(f"[{time.strftime('%H:%M:%S')}] length {m:g} min ...", file=sys.stderr)
            out = Path(tmp) / f"len{m:g}"
            r = timed(analyze_cmd([path], out, batch))
            rows.append((f"{m:g} min body-camera-like", _duration(path), r, peak_of(out)))
        if long_hours:
            if not (WORK / f"long-{long_hours:g}h.mp4").exists():
                timed([sys.executable, "-m", "bench.bench_speed", "--build-long"])
            path = WORK / f"long-{long_hours:g}h.mp4"
            print(f"[{time.strftime('%H:%M:%S')}] {long_hours:g} h ...", file=sys.stderr)
            out = Path(tmp) / "long"
            r = timed(analyze_cmd([path], out, batch))
            name = f"{long_hours:g} h, quiet street noise, 6 sentences every 15 min"
            rows.append((name, _duration(path), r, peak_of(out)))
    lines += [
        f"## Length: wall time and peak memory (`--batch-size {batch}`, one run each)",
        "",
        "| recording | audio s | wall s | wall RTF | CPU s | CPU s per audio minute | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *[
            f"| {name} | {secs:.0f} | {r['wall']:.1f} | {r['wall'] / secs:.3f} | {r['cpu']:.1f} | "
            f"{r['cpu'] / (secs / 60):.2f} | {peak:.0f} |"
            for name, secs, r, peak in rows
        ],
        "",
    ]


def part_memory(hours: float, lines: list[str]) -> None:
    """Peak memory of one `analyze` with default options on a long body-camera-like recording."""
    path = WORK / f"bodycam-{hours:g}h.mp4"
    if not path.exists():
        timed([sys.executable, "-m", "bench.bench_speed", "--build-bodycam-hours", str(hours)])
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        out = Path(tmp) / "mem"
        print(f"[{time.strftime('%H:%M:%S')}] memory {hours:g} h ...", file=sys.stderr)
        cmd = [sys.executable, "-m", "bench.bench_speed", "--analyze-child", "analyze", str(path), "-o",
               str(out), "--no-cache", "--no-progress", "--format", "json"]  # fmt: skip
        r = timed(cmd)
        peak = peak_of(out)
    secs = _duration(path)
    load = os.getloadavg()
    lines += [
        f"## Peak memory: {hours:g}-hour body-camera-like recording, default options",
        "",
        f"Recording: `{path.name}` ({secs / 60:.0f} min: 15-minute body-camera-like pieces one after"
        " another, 8 scenes each, about 63 % speech, street noise 30 dB SNR, each piece its own noise).",
        "",
        "| audio s | wall s | CPU s | CPU s per audio minute | peak RSS (VmHWM) MB |",
        "|---:|---:|---:|---:|---:|",
        f"| {secs:.0f} | {r['wall']:.0f} | {r['cpu']:.0f} | {r['cpu'] / (secs / 60):.2f} | {peak:.0f} |",
        "",
        f"Command: `scriptcheck analyze {path.name} -o OUT --no-cache --no-progress --format json` (through"
        f" `--analyze-child`, which reads VmHWM after the CLI returns). Load average at the end: "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
        "",
    ]


def _duration(path: Path) -> float:
    from analyzer.media import probe

    return probe(path).duration_s


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--analyze-child"]:
        return analyze_child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=["sweep", "main", "startup", "workers", "lengths", "memory"])
    ap.add_argument("--lengths", type=float, nargs="*", default=[1.0, 10.0], help="minutes")
    ap.add_argument("--worker-repeats", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batches", type=int, nargs="*", default=[8])
    ap.add_argument("--sweep-minutes", type=float, default=5.0, help="recording length for the sweep")
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 2, 4, 8, 16])  # int8
    ap.add_argument("--computes", nargs="*", default=["int8"])
    ap.add_argument("--float32-sizes", type=int, nargs="*", default=[1, 8])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "speed.md"))
    ap.add_argument("--build", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--build-long", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--build-bodycam-hours", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--base", help="startup: also run another checkout's code (e.g. /work/main), alternating")
    ap.add_argument("--long-hours", type=float, default=2.0, help="lengths: the quiet long file (0 = none)")
    ap.add_argument("--hours", type=float, default=2.0, help="length of the memory part's recording")
    ap.add_argument("--fw", help=argparse.SUPPRESS)
    ap.add_argument("--fw-out", help=argparse.SUPPRESS)
    ap.add_argument("--sweep-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--startup-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--cer-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--cer-minutes", type=float, nargs="*", default=[5.0, 10.0, 15.0], help="cer: recordings")
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--compute", default="int8", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=8, help=argparse.SUPPRESS)
    ap.add_argument("--encode-group", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument(
        "--encode-groups", type=int, nargs="*", default=[1], help="sweep: chunks encoded at once (≤ batch)"
    )
    args = ap.parse_args(argv)
    if args.build:
        build_inputs(args.build)
        return 0
    if args.build_long:
        long_recording()
        return 0
    if args.build_bodycam_hours:
        long_bodycam(args.build_bodycam_hours)
        return 0
    if args.fw:
        run_fw(args.fw, args.fw_out, args.threads, args.compute)
        return 0
    if args.sweep_child:
        sweep_child(*args.sweep_child, args.compute, args.batch, args.encode_group)
        return 0
    if args.startup_child:
        startup_child(*args.startup_child, args.batch)
        return 0
    if args.cer_child:
        cer_child(json.loads(args.cer_child[0]), json.loads(args.cer_child[1]))
        return 0
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "# Speed: `analyze` against faster-whisper alone, batched decoding, start-up, workers",
        "",
        f"Command: `python -m bench.bench_speed {' '.join(argv)}`"
        f" ({machine}). Load average at the start: {os.getloadavg()[0]:.1f}.",
        "",
    ]
    batch = args.batches[-1] if args.batches else 8
    parts = {
        "sweep": lambda: part_sweep(
            args.sweep_minutes,
            lines,
            args.sizes,
            args.computes,
            args.float32_sizes,
            args.out,
            args.encode_groups,
        ),
        "main": lambda: part_main(args.minutes, args.repeats, args.batches, lines),
        "startup": lambda: part_startup(args.repeats, batch, lines, args.base),
        "workers": lambda: part_workers(args.worker_repeats or args.repeats, batch, lines),
        "lengths": lambda: part_lengths(args.lengths, batch, lines, args.long_hours),
        "memory": lambda: part_memory(args.hours, lines),
        "cer": lambda: part_cer(args.cer_minutes, lines),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        parts[name]()
        Path(args.out).write_text("\n".join(lines), encoding="utf-8")  # what is done so far
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
