"""Phrase-guide loading and validation (phrasebook/*.toml -> analyzer.guide)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.guide import PHRASEBOOK_DIR, GuideError, list_guides, load_guide

STABLE_IDS = [
    "opening",
    "request_id",
    "recording_notice",
    "rights_notice",
    "fine_statement",
    "sign_request",
    "return_documents",
    "obstruction_1",
    "obstruction_2",
    "obstruction_3",
    "obstruction_4",
    "interruption_reason",
]
FINDING_CODES = [
    "opening_missing",
    "opening_late",
    "opening_incomplete",
    "recording_notice_missing",
    "rights_notice_missing",
    "rights_before_penalty",
    "fine_statement_incomplete",
    "sign_request_missing",
    "escalation_out_of_order",
    "interruption_unexplained",
    "gap",
    "dropout",
    "splice",
    "low_confidence_audio",
    "phrase_missing",
    "phrase_partial",
    "order_violation",
    "clock_problem",
]


@pytest.fixture(scope="module")
def guide():
    return load_guide()


def test_default_guide_has_stable_ids_in_order(guide):
    assert [p.id for p in guide.phrases] == STABLE_IDS
    assert guide.default_profile == "inspection"


def test_default_guide_encodes_both_alternatives_of_items_4_and_6(guide):
    rights = guide.phrase("rights_notice")
    assert len(rights.standards) == 2
    assert "陈述权、申辩权和行政救济权利" in rights.standards[0]
    assert "行政复议" in rights.standards[1] and "行政诉讼" in rights.standards[1]
    assert {s.name for s in rights.slots} == {"deadline", "review_authority", "litigation_deadline", "court"}
    sign = guide.phrase("sign_request")
    assert "在签名处签名" in sign.standards[0] and "请您签字" in sign.standards[1]


def test_default_guide_covers_articles_9_and_10(guide):
    opening = guide.phrase("opening")
    assert {"time", "place", "cause"} <= {s.name for s in opening.slots if s.required}
    assert all(std.endswith("执法全过程记录开始") for std in opening.standards)
    assert "officer" in {s.name for s in opening.slots}  # 第九条: the officers
    reason = guide.phrase("interruption_reason").slot("reason")
    rx = re.compile(reason.pattern)
    for said in ["设备故障", "设备损坏", "电量不足", "存储空间不足", "天气情况恶劣", "现场有关人员阻挠"]:
        assert rx.fullmatch(said), said
    assert guide.phrase("interruption_reason").trigger_events == ("interruption",)


def test_key_terms_requirements_and_order(guide):
    terms = {t.term: t for t in guide.phrase("rights_notice").key_terms}
    assert terms["申辩权"].weight > 0 and terms["申辩权"].must
    assert guide.phrase("fine_statement").required == "triggered"
    assert "罚款" in guide.phrase("fine_statement").trigger_terms
    assert "fine_statement" in guide.phrase("rights_notice").triggered_by
    assert "obstruction_2" in guide.phrase("obstruction_1").triggered_by
    rules = {(r.first, r.then): r.code for r in guide.order_rules}
    assert rules[("rights_notice", "fine_statement")] == "rights_before_penalty"
    assert rules[("sign_request", "return_documents")] == "order_violation"
    assert rules[("obstruction_1", "obstruction_2")] == "escalation_out_of_order"
    assert all(("opening", p) in rules for p in ["request_id", "recording_notice", "fine_statement"])
    for p in guide.phrases:
        assert p.tip and p.weight > 0 and p.title


def test_profiles_findings_settings(guide):
    penalty = guide.profile("on_site_penalty")
    assert penalty.requires == (
        "opening",
        "request_id",
        "recording_notice",
        "rights_notice",
        "fine_statement",
        "sign_request",
        "return_documents",
    )
    assert {"inspection", "investigation", "service_of_documents"} <= {p.id for p in guide.profiles}
    assert set(FINDING_CODES) <= set(guide.findings)
    assert guide.findings["splice"].severity == "critical"
    for key in [
        "present_score",
        "partial_score",
        "silence_gap_s",
        "resume_window_s",
        "file_gap_tolerance_s",
        "opening_window_s",
        "dropout_min_s",
        "max_chars_per_s",
    ]:
        assert isinstance(guide.settings[key], float), key
    assert guide.settings["present_score"] > guide.settings["partial_score"]
    assert "那个" in guide.fillers and "嗯" in guide.strip_fillers


def test_examples_fill_every_slot(guide):
    for p in guide.phrases:
        for i in range(len(p.standards)):
            assert "{" not in p.example(i)
            assert "【" not in p.example(i)


def test_every_shipped_guide_loads_and_second_guide_is_different():
    paths = list_guides()
    assert len(paths) >= 2
    guides = [load_guide(p) for p in paths]
    ids = {g.id for g in guides}
    assert "chanhe-audit-2020" in ids and "market-supervision-demo" in ids
    other = load_guide("market-supervision")
    assert "show_credentials" in [p.id for p in other.phrases]
    assert other.settings["present_score"] != load_guide().settings["present_score"]


def test_python_code_does_not_hard_code_default_wording(guide):
    code = "".join(
        p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "analyzer").rglob("*.py")
    )
    for p in guide.phrases:
        literal = re.sub(r"\{[a-z_]+\}", "|", p.standards[0]).split("|")
        longest = max(literal, key=len)
        assert longest[:10] not in code, p.id


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = (PHRASEBOOK_DIR / "market-supervision.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        (
            'standards = ["本次检查全程录音录像，请您知悉"]',
            'standards = ["本次检查{nosuch}全程录音录像"]',
            r"recording_notice.*standards.*nosuch",
        ),
        (
            'required = "profile"\ntip = "陈述',
            'required = "sometimes"\ntip = "陈述',
            r"rights_notice.*required.*sometimes",
        ),
        ('severity = "critical"', 'severity = "fatal"', r"\[findings.opening_missing\].*severity"),
        ("pattern = '\\d{4,12}'", "pattern = '(\\d{4,12}'", r"\[slots.officer_no\].*pattern"),
        (
            "pattern = '\\d{4,12}'",
            "pattern = '\\d{4,12}'\nloose_pattern = '(\\d'",
            r"\[slots.officer_no\].*loose_pattern",
        ),
        (
            "pattern = '\\d{4,12}'",
            "pattern = '\\d{4,12}'\nsound_words = [7]",
            r"\[slots.officer_no\].*sound_words",
        ),
        ('title = "告知录音录像"', "", r"recording_notice.*title.*missing"),
        ('then = "sign_request"', 'then = "sign_off"', r"order.*then.*sign_off"),
        ('weight = 3.0\nrequired = "always"', 'weight = -1\nrequired = "always"', r"opening.*weight"),
        (
            '{ term = "查验", weight = 1.0',
            '{ term = "查验", weight = "high"',
            r"show_credentials.*key_terms.*weight",
        ),
        (
            '{ term = "查验", weight = 1.0',
            '{ term = "查验…", weight = 1.0',
            r"show_credentials.*key_terms.*查验…",
        ),
    ],
)
def test_validation_errors_name_file_entry_field_and_line(tmp_path, old, new, expect):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(GuideError) as err:
        load_guide(path)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    assert re.search(expect, msg), msg
    assert re.match(rf"{re.escape(str(path))}:\d+:", msg), f"no line number: {msg}"


def test_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(GuideError, match="TOML"):
        load_guide(_write(tmp_path, "[guide\nid = 1"))
    with pytest.raises(GuideError, match="nope.toml"):
        load_guide(tmp_path / "nope.toml")


def test_guide_cli_validate(tmp_path, capsys):
    from analyzer.cli import main

    assert main(["guide", "validate", "default", str(PHRASEBOOK_DIR / "market-supervision.toml")]) == 0
    bad = _write(tmp_path, GOOD.replace('severity = "critical"', 'severity = "fatal"'))
    assert main(["guide", "validate", str(bad)]) == 1
    assert "fatal" in capsys.readouterr().err
    assert main(["guide", "show", "default"]) == 0
    assert "rights_notice" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setting", "expect"),
    [
        ("listen_unsure_share = 1.5", r"listen_unsure_share.*0–1"),
        ("other_phrase_listen_below = 1.2", r"other_phrase_listen_below.*0–1"),
        ("listen_unsure_s = -1", r"listen_unsure_s.*不小于 0"),
        ("recording_notice_listen_unsure_s = -2", r"recording_notice_listen_unsure_s.*不小于 0"),
        ("resume_unclear_min_score = -5", r"resume_unclear_min_score.*不小于 0"),
        ("resume_near_reason_min_score = -1", r"resume_near_reason_min_score.*不小于 0"),
        ("listen_near_score = -1", r"listen_near_score.*不小于 0"),
        ("opening_listen_near_score = -40", r"opening_listen_near_score.*不小于 0"),
        ("opening_listen_prompt_look = 2", r"opening_listen_prompt_look.*0（关闭）或 1"),
        ("listen_prompt_look = 0.5", r"listen_prompt_look.*0（关闭）或 1"),
        ("jump_onset_margin_s = -0.1", r"jump_onset_margin_s.*不小于 0 秒"),
        ("jump_max_above_floor_db = -3", r"jump_max_above_floor_db.*不小于 0 dB"),
        ("jump_max_below_floor_db = -1", r"jump_max_below_floor_db.*不小于 0 dB"),
        ("recheck_near_min_score = -5", r"recheck_near_min_score.*不小于 0"),
        ("recheck_prompt_near = 2", r"recheck_prompt_near.*0（关闭）或 1"),
        ("recheck_prompt_min_agreement = 1.5", r"recheck_prompt_min_agreement.*0–1"),
        ("partial_min_other_terms = 2.5", r"partial_min_other_terms.*整数"),
        ("partial_min_run_chars = -1", r"partial_min_run_chars.*整数"),
        ("sign_request_partial_min_other_terms = 0.5", r"sign_request_partial_min_other_terms.*整数"),
        ("sign_request_partial_other_terms_share = 2", r"sign_request_partial_other_terms_share.*0–1"),
        ("sign_request_partial_other_terms_onward = 0.5", r"sign_request_partial_other_terms_onward.*整数"),
    ],
)
def test_listen_settings_out_of_range_name_the_line(tmp_path, setting, expect):
    """A share above 1 or negative seconds would switch the low-confidence hold off or on silently."""
    default = (PHRASEBOOK_DIR / "default.toml").read_text(encoding="utf-8")
    anchor = "[settings.continuity]\n"
    assert anchor in default
    name = setting.split(" =")[0]
    kept = "\n".join(line for line in default.splitlines() if not line.startswith(f"{name} ="))
    path = _write(tmp_path, kept.replace(anchor, anchor + setting + "\n", 1))
    with pytest.raises(GuideError) as err:
        load_guide(path)
    msg = str(err.value)
    assert re.search(expect, msg), msg
    assert re.match(rf"{re.escape(str(path))}:\d+:", msg), f"no line number: {msg}"
