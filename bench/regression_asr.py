"""The ASR outputs that tests/test_match.py's regression tests read (tests/data/asr/*.json).

Each is one recording of a scenario corpus (bench/scenarios.py, 48 scenarios at clean / 10 / 5 dB,
as in `python -m bench.scenarios <dir> --count 48 --snr clean 10 5 --seed S`), analysed by the real
pipeline with product defaults, as bench/eval.py does; the file keeps where it came from (corpus seed,
scenario, engine, model, the transcript cache's code fingerprint) and the case transcript.

    python -m bench.regression_asr [--only seed11_037]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "tests" / "data" / "asr"
# name -> (corpus seed, scenario index): the recordings the matcher changes were made for.
RECORDINGS = {
    "seed0_019": (0, 19),  # babble 10 dB: too garbled for n-gram seeds, found by 执法全过程…开始
    "seed0_023": (0, 23),  # babble 10 dB: the opening's key term heard as 执法权过程进步开始
    "seed7_019": (7, 19),  # babble 10 dB: an opening said in its structure, key words garbled
    "seed13_021": (13, 21),  # the generator's garbled opening: 全过程 -> 权过程, 记录 -> 纪录
    "seed19_021": (19, 21),  # street 10 dB: the garbled opening without its cause and 开始
    "seed11_037": (11, 37),  # 5 dB: the rest of a window must not read slot values back
    "seed29_005": (29, 5),  # a later phrase sounding closer hid a garbled opening
}


def regenerate(name: str, seed: int, index: int) -> Path:
    from analyzer import cache
    from analyzer.pipeline import AnalyzeOptions, analyze_recording
    from bench.scenarios import build_scenario, make_corpus_plan

    scenario = make_corpus_plan(48, seed=seed, snr_levels=(None, 10.0, 5.0))[index]
    with tempfile.TemporaryDirectory() as tmp:
        truth = build_scenario(scenario, tmp)
        paths = [str(Path(tmp) / scenario.id / f["name"]) for f in truth["files"]]
        result = analyze_recording(paths, AnalyzeOptions())
    if result.error or result.transcript is None:
        raise SystemExit(f"{name}: {result.error}")
    transcript = result.transcript.to_dict()
    doc = {
        "provenance": {
            "corpus": f"python -m bench.scenarios DIR --count 48 --snr clean 10 5 --seed {seed}",
            "scenario": scenario.id,
            "engine": transcript["engine"],
            "model_id": transcript["options"].get("model_id", ""),
            "code_fingerprint": cache.code_fingerprint(transcript["engine"]),
            "second_look": None if result.recheck is None else list(result.recheck.found),
            "made_by": "python -m bench.regression_asr",
        },
        "text": result.transcript.text,
        "transcript": transcript,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def load_text(name: str) -> str:
    """The case transcript's text of one stored recording."""
    return json.loads((OUT / f"{name}.json").read_text(encoding="utf-8"))["text"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args(argv)
    for name, (seed, index) in RECORDINGS.items():
        if args.only and name not in args.only:
            continue
        path = regenerate(name, seed, index)
        print(f"{name}: {path.relative_to(ROOT)}: {load_text(name)[:120]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
