"""The labelled matcher corpus: what is spoken, and which phrases a reviewer would accept in it.

Each item is spoken with bench/tts.py, transcribed by analyzer.transcribe (the real embedded Whisper
model), and stored with its transcript in tests/data/match_corpus.jsonl by bench/make_match_corpus.py.
Labels: phrase id -> "present" | "partial"; every phrase not named is "absent" for that item.
Negatives include unrelated speech and near-miss wordings a reviewer would reject.
"""

from __future__ import annotations

P, H = "present", "partial"

# (id, text, {phrase: label})
ITEMS: list[tuple[str, str, dict[str, str]]] = [
    # -- opening ---------------------------------------------------------------------------------
    (
        "open_std_1",
        "二零二零年十二月二十八日上午九时三十分，瀍河区中州东路八十八号鸿达商贸有限公司，"
        "对该公司财务收支情况进行审计检查，执法全过程记录开始。",
        {"opening": P},
    ),
    (
        "open_alt_1",
        "现在是二零二一年三月五日下午两点十分，我们是瀍河回族区审计局执法人员张明和李华，"
        "在瀍河区东关大街十二号，依法对华信建材公司进行审计检查，执法全过程记录开始。",
        {"opening": P},
    ),
    (
        "open_std_2",
        "二零二二年六月十日上午十点，在瀍河区北窑社区服务中心，就专项资金使用情况进行调查取证，"
        "执法全过程记录开始。",
        {"opening": P},
    ),
    (
        "open_std_3",
        "二零二四年一月十五日下午三时，瀍河区塔湾路二十号宏远物流公司，审计检查，执法全过程记录开始。",
        {"opening": P},
    ),
    (
        "open_para_1",
        "今天是二零二三年五月八日上午九点，我们在启明路六号的利民超市进行检查，现在开始执法全过程记录。",
        {"opening": P},
    ),
    ("open_part_1", "现在是上午十点，执法全过程记录开始。", {"opening": H}),
    ("open_part_2", "二零二五年四月二日上午八点半，在瀍河区杏园路五号，执法记录开始。", {"opening": H}),
    (
        "open_std_4",
        "现在是二零二五年九月一日上午十时，我是审计局执法人员王强，在瀍河区九都路一百号金鼎酒店，"
        "对酒店专项资金使用情况进行检查，执法全过程记录开始。",
        {"opening": P},
    ),
    ("open_neg_1", "好的，执法记录仪我已经打开了。", {}),
    ("open_neg_2", "您好，我们是审计局的，今天过来了解一下情况。", {}),
    ("open_neg_3", "执法人员请到这边来，记录本放在桌子上。", {}),
    ("open_neg_4", "您好，执法记录的文件我们下午再整理。", {}),
    # -- request_id --------------------------------------------------------------------------------
    ("req_std_1", "您好，请出示营业执照。", {"request_id": P}),
    ("req_std_2", "您好，请出示您的身份证。", {"request_id": P}),
    ("req_std_3", "你好，请出示一下相关的许可证。", {"request_id": P}),
    ("req_std_4", "您好，请出示你们公司的食品经营许可证。", {"request_id": P}),
    ("req_part_1", "请出示一下你的证件。", {"request_id": H}),
    ("req_neg_1", "您好，请问你们负责人在吗？", {}),
    ("req_neg_2", "您好，请坐，我们简单聊几句。", {}),
    ("req_neg_3", "这个证件我们需要复印一份。", {}),
    # -- recording_notice ---------------------------------------------------------------------------
    ("rec_std_1", "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。", {"recording_notice": P}),
    ("rec_std_2", "为保护您的合法权益，监督执法行为，本次执法全过程录音录像。", {"recording_notice": P}),
    ("rec_alt_1", "现在告知您和现场其他人员，本次执法正在进行全过程录音录像。", {"recording_notice": P}),
    ("rec_part_1", "为保护您的合法权益，本次执法全过程录音录像。", {"recording_notice": P}),
    ("rec_para_1", "跟您说一下，我们这次执法全程都在录音录像。", {"recording_notice": H}),
    ("rec_neg_1", "这个是我们的执法记录仪。", {}),
    ("rec_neg_2", "请您配合我们的工作，谢谢。", {}),
    ("rec_neg_3", "我们要对现场的货物拍照留存。", {}),
    # -- rights_notice -------------------------------------------------------------------------------
    ("rights_std_1", "您享有陈述权、申辩权和行政救济权利。", {"rights_notice": P}),
    (
        "rights_alt_1",
        "您可以在六十日内向瀍河回族区人民政府提起行政复议，六个月内向瀍河回族区人民法院提起行政诉讼。",
        {"rights_notice": P},
    ),
    (
        "rights_alt_2",
        "您可以在六十日内向洛阳市审计局提起行政复议，六个月内向洛阳市中级人民法院提起行政诉讼。",
        {"rights_notice": P},
    ),
    ("rights_drop_1", "您享有陈述权和行政救济权利。", {"rights_notice": H}),
    (
        "rights_para_1",
        "你有陈述和申辩的权利，对处罚不服可以申请行政复议或者提起行政诉讼。",
        {"rights_notice": H},
    ),
    ("rights_neg_1", "您还有什么要说的吗？", {}),
    ("rights_neg_2", "这个事情我们会依法处理的，请你放心。", {}),
    ("rights_neg_3", "你的权利我们都清楚，先把材料准备好。", {}),
    # -- fine_statement ---------------------------------------------------------------------------
    (
        "fine_std_1",
        "您的拒绝提供与审计事项有关的资料的行为违反了《中华人民共和国审计法》，依据《中华人民共和国"
        "审计法实施条例》第四十九条第一款第二项的规定，对您处以五千元的罚款。",
        {"fine_statement": P},
    ),
    (
        "fine_std_2",
        "您的转移隐匿会计资料的行为违反了《中华人民共和国会计法》，依据《中华人民共和国会计法》"
        "第四十二条第一款的规定，对您处以三千元的罚款。",
        {"fine_statement": P},
    ),
    (
        "fine_std_3",
        "您的违规占道经营行为违反了《城市市容和环境卫生管理条例》，依据《城市市容和环境卫生管理条例》"
        "第三十六条第二项的规定，对您处以二百元的罚款。",
        {"fine_statement": P},
    ),
    ("fine_part_1", "您的行为违反了《中华人民共和国审计法》，对您处以两千元的罚款。", {"fine_statement": H}),
    ("fine_neg_1", "你这个行为是不对的，下次要注意。", {}),
    ("fine_neg_2", "罚款的事情我们回去以后再研究。", {}),
    ("fine_neg_3", "这些资料要符合法律法规的规定。", {}),
    # -- sign_request -------------------------------------------------------------------------------
    ("sign_std_1", "请您认真阅读法律文书内容，并在签名处签名。", {"sign_request": P}),
    ("sign_std_2", "请您认真阅读法律文书内容，并在签名处签名。", {"sign_request": P}),
    ("sign_alt_1", "我已经向您宣读了文书内容，请您签字。", {"sign_request": P}),
    ("sign_part_1", "请您看一下文书内容，在这里签个字。", {"sign_request": H}),
    ("sign_neg_1", "这份文件你先放在一边。", {}),
    ("sign_neg_2", "签名笔在桌子上，你自己拿。", {}),
    # -- return_documents -----------------------------------------------------------------------------
    ("ret_std_1", "请您收好文书。", {"return_documents": P}),
    ("ret_std_2", "请您收好证件。", {"return_documents": P}),
    ("ret_std_3", "请您收好营业执照和处罚决定书。", {"return_documents": P}),
    ("ret_neg_1", "东西都在这里了，我们走吧。", {}),
    ("ret_neg_2", "请您坐好，我们马上开始。", {}),
    # -- obstruction ----------------------------------------------------------------------------------
    (
        "ob1_std_1",
        "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权，"
        "但您现在必须服从并配合执法工作。",
        {"obstruction_1": P},
    ),
    ("ob1_part_1", "我是执法人员，正在执行公务，请你服从并配合执法工作。", {"obstruction_1": H}),
    (
        "ob2_std_1",
        "我是执法人员，正在执行公务，你的行为已全过程记录，已经涉嫌阻碍公务，违反了《治安管理处罚法》"
        "第五十条第二项规定。即刻起，如果停止阻挠行为，没有造成后果的，我们将不予以追究，请你控制情绪，理性对待。",
        {"obstruction_2": P},
    ),
    ("ob2_part_1", "你的行为已经涉嫌阻碍公务，违反了治安管理处罚法，请你控制情绪。", {"obstruction_2": H}),
    (
        "ob3_std_1",
        "你不听劝阻继续妨害执法的行为，已被全过程记录，涉嫌违反《刑法》第二百七十七条的规定，你可能构成"
        "妨害公务罪，将承担刑事责任。即刻起，如果停止阻挠行为，没有造成后果的，我们将不予以追究，请你控制情绪，"
        "理性对待。",
        {"obstruction_3": P},
    ),
    ("ob3_part_1", "你这样继续妨害执法，可能构成妨害公务罪，要承担刑事责任。", {"obstruction_3": H}),
    ("ob4_std_1", "请你控制情绪，执法过程已全记录，我们已报警，请等待公安民警处理。", {"obstruction_4": P}),
    ("ob4_part_1", "我们已经报警了，请等待民警处理。", {"obstruction_4": H}),
    ("ob_neg_1", "请你不要激动，有话好好说。", {}),
    ("ob_neg_2", "我们是来检查工作的，希望你能理解。", {}),
    # -- interruption_reason --------------------------------------------------------------------
    ("int_std_1", "因执法记录仪电量不足，音像记录中止，现在重新开始记录。", {"interruption_reason": P}),
    ("int_std_2", "因设备故障，音像记录中止，现在重新开始记录。", {"interruption_reason": P}),
    ("int_std_3", "因现场有关人员阻挠，音像记录中止，现在重新开始记录。", {"interruption_reason": P}),
    ("int_alt_1", "刚才由于存储空间不足中断了记录，现在继续执法全过程记录。", {"interruption_reason": P}),
    ("int_alt_2", "刚才由于天气情况恶劣中断了记录，现在继续执法全过程记录。", {"interruption_reason": P}),
    ("int_part_1", "刚才设备没电了，现在重新开始记录。", {"interruption_reason": H}),
    ("int_neg_1", "好了，我们继续吧。", {}),
    ("int_neg_2", "刚才说到哪里了？你再说一遍。", {}),
    # -- unrelated speech -----------------------------------------------------------------------
    ("unrel_1", "今天天气不错，中午我们去食堂吃饭吧，听说新来了一个厨师。", {}),
    ("unrel_2", "下午三点开会讨论明年的预算，请各科室提前准备好材料。", {}),
    ("unrel_3", "这条路早上特别堵，我一般七点就出门，坐地铁比较快。", {}),
    ("unrel_4", "孩子下周要考试了，最近每天晚上都在复习数学和语文。", {}),
    ("unrel_5", "这家超市的水果挺新鲜的，价格也不贵，周末人特别多。", {}),
    ("unrel_6", "我们单位组织了一次体检，大家的身体情况总体还不错。", {}),
    # -- sequences (phrases across segment boundaries) ------------------------------------------
    (
        "seq_penalty_2",
        "现在是二零二四年三月八日下午两点，我们是瀍河回族区审计局执法人员，在瀍河区东关大街八号，"
        "对宏达公司进行审计检查，执法全过程记录开始。您好，请出示您的身份证。"
        "您的拒绝提供资料的行为违反了《中华人民共和国审计法》，依据《中华人民共和国审计法》第四十七条的规定，"
        "对您处以两万元的罚款。我已经向您宣读了文书内容，请您签字。请您收好证件。",
        {"opening": P, "request_id": P, "fine_statement": P, "sign_request": P, "return_documents": P},
    ),
    (
        "seq_inspect_1",
        "二零二二年十月九日上午九时，瀍河区启明路十号，对民生药店进行检查，执法全过程记录开始。"
        "您好，请出示药品经营许可证。为保护您的合法权益，监督执法行为，本次执法全过程录音录像。",
        {"opening": P, "request_id": P, "recording_notice": P},
    ),
    (
        "seq_obstruct_1",
        "我是执法人员，正在执行公务，执法过程已全程记录，您可以拨打110或通过其他方式行使您的监督权，"
        "但您现在必须服从并配合执法工作。请你控制情绪，执法过程已全记录，我们已报警，请等待公安民警处理。",
        {"obstruction_1": P, "obstruction_4": P},
    ),
    (
        "seq_resume_1",
        "因执法记录仪存储空间不足，音像记录中止，现在重新开始记录。您好，请出示营业执照。",
        {"interruption_reason": P, "request_id": P},
    ),
]


def rendition(index: int) -> tuple[int, float, str, float]:
    """(seed, speed, noise kind or "", SNR dB) of item `index`: deterministic and varied."""
    speed = (1.0, 0.9, 1.1, 1.2, 0.95)[index % 5]
    noise = ("", "street", "", "white", "")[index % 5]
    snr = (20.0, 15.0, 20.0, 18.0, 20.0)[index % 5]
    return index, speed, noise, snr


def split_of(item_id: str) -> str:
    """Deterministic stratified half split: items alternate between 'cal' (thresholds are calibrated
    there) and 'regression' (figures are reported there) within each group (open_, rights_, ob2_,
    unrel_ ...), so every phrase has positives and negatives on both sides. Both halves were visible
    while the matcher's rules were developed: 'regression' guards against regressions, it is not a
    held-out estimate of accuracy."""
    group = item_id.split("_")[0]
    same = [i for i, _, _ in ITEMS if i.split("_")[0] == group]
    return "cal" if same.index(item_id) % 2 == 0 else "regression"
