"""Personal data masking (第十六条): ID-card, phone, plate and licence numbers, and what must stay."""

from __future__ import annotations

import pytest

from analyzer.web.privacy import find_personal_data, mask_data, mask_recording, mask_text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("身份证号41030219900101123X", "41030219900101123X"),
        ("身份证号410302199001011234。", "410302199001011234"),
        ("身份证 410302 19900101 123x", "410302 19900101 123x"),
        ("电话13812345678", "13812345678"),
        ("手机 138-1234-5678 打给我", "138-1234-5678"),
        ("手机+86 13912345678", "13912345678"),
        ("座机0379-63212345", "0379-63212345"),
        ("座机(010)12345678", "(010)12345678"),
        ("车牌豫C12345停在门口", "豫C12345"),
        ("车牌号京A·D1234", "京A·D1234"),
        ("营业执照号码：91410300MA44ABCD1X", "91410300MA44ABCD1X"),
        ("执法证号是41030012345", "41030012345"),
        ("电话一三八一二三四五六七八", "一三八一二三四五六七八"),
    ],
)
def test_personal_numbers_are_masked(text, secret):
    masked = mask_text(text)
    assert secret not in masked and "*" in masked
    assert find_personal_data(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026年11月30日上午9时，在洛阳市瀍河区某某商店",
        "依据《审计法实施条例》第48条第1款第2项，处以5000元罚款",
        "SHA-256 3a13812345678b9f41030219900101123Xc",
        "请您在15日内缴纳罚款",
    ],
)
def test_ordinary_text_and_hashes_are_left_alone(text):
    assert mask_text(text) == text


def test_mask_data_keeps_identifier_fields():
    data = {
        "sha256": "13812345678",
        "path": "/x/13812345678.wav",
        "text": "电话13812345678",
        "n": 13812345678,
    }
    masked = mask_data(data)
    assert masked["sha256"] == "13812345678" and masked["path"] == "/x/13812345678.wav"
    assert "13812345678" not in masked["text"] and masked["n"] == 13812345678
    assert data["text"] == "电话13812345678"  # a copy; the original untouched


def test_mask_recording_drops_word_timings_that_would_leak_a_split_number():
    rec = {
        "transcript": {
            "segments": [
                {
                    "text": "电话138 1234 5678",
                    "words": [[0, 1, "电话138", 0.9], [1, 2, " 1234", 0.9], [2, 3, " 5678", 0.9]],
                },
                {"text": "您好", "words": [[3, 4, "您好", 0.9]]},
            ]
        }
    }
    masked = mask_recording(rec)
    first, second = masked["transcript"]["segments"]
    assert "5678" not in first["text"] and first["words"] == []
    assert second["words"] == [[3, 4, "您好", 0.9]]
