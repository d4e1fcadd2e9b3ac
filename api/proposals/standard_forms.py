"""The standard forms shipped as seed data (issue 10 §1): the 工事打合せ簿 with 発議事項
指示・協議・通知・承諾・提出・報告・届出・その他 and 処理・回答 by both sides, the 業務打合せ簿,
材料確認書, 段階確認書, 確認・立会依頼書, 工事履行報告書 and 休日・夜間作業届 (the usual
様式 of the 土木工事共通仕様書 / 調査測量設計業務共通仕様書, seed 001 別表1-1 3(1)).

They are plain definitions checked by ``api.proposals.forms.check_definition`` like any form
an operator adds; ``ensure_standard_forms`` stores version 1 of each once (an operator's later
revision is never overwritten).
"""

from __future__ import annotations

from typing import Any

_CONSTRUCTION = ["construction"]
_SERVICE = ["service"]


def _work_fields(service: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "key": "work_title",
            "label": "業務名" if service else "工事名",
            "type": "text",
            "required": True,
            "default": {"from": "work.title"},
        },
        {
            "key": "work_number",
            "label": "業務番号" if service else "工事番号",
            "type": "text",
            "max_length": 50,
            "default": {"from": "work.number"},
        },
    ]


def _answer(side: str, label: str, choices: list[str]) -> list[dict[str, Any]]:
    prefix = "orderer" if side == "orderer" else "contractor"
    return [
        {
            "key": f"answer_{prefix}",
            "label": f"処理・回答（{label}）",
            "type": "choice",
            "choices": choices,
            "part": "answer",
            "side": side,
        },
        {
            "key": f"answer_{prefix}_text",
            "label": f"処理・回答の内容（{label}）",
            "type": "textarea",
            "max_length": 2000,
            "part": "answer",
            "side": side,
        },
    ]


MATTERS = ["指示", "協議", "通知", "承諾", "提出", "報告", "届出", "その他"]

STANDARD_FORMS: dict[str, dict[str, Any]] = {
    "koji_uchiawase": {
        "name": "工事打合せ簿",
        "work_kinds": _CONSTRUCTION,
        "description": "受発注者間の指示・協議・通知・承諾・提出・報告・届出に用いる。",
        "fields": [
            {
                "key": "proposer_side",
                "label": "発議者",
                "type": "choice",
                "choices": ["発注者", "受注者"],
                "required": True,
                "default": {"from": "proposer.side"},
            },
            {
                "key": "proposed_date",
                "label": "発議年月日",
                "type": "date",
                "required": True,
                "default": {"from": "today"},
            },
            {
                "key": "matter",
                "label": "発議事項",
                "type": "choice",
                "choices": MATTERS,
                "required": True,
            },
            {
                "key": "matter_other",
                "label": "発議事項（その他）",
                "type": "text",
                "max_length": 100,
                "required": True,
                "show_if": {"field": "matter", "equals": "その他"},
            },
            *_work_fields(),
            {"key": "subject", "label": "件名", "type": "text", "required": True},
            {
                "key": "content",
                "label": "内容",
                "type": "textarea",
                "required": True,
                "max_length": 4000,
            },
            {"key": "drawings", "label": "添付図", "type": "number", "min": 0, "max": 999},
            {"key": "attached_other", "label": "その他添付図書", "type": "text"},
            *_answer("orderer", "発注者", ["指示", "承諾", "協議", "提出", "受理", "その他"]),
            *_answer("contractor", "受注者", ["承諾", "協議", "提出", "報告", "届出", "その他"]),
        ],
        "layout": {
            "title": "工事打合せ簿",
            "sections": [
                {"fields": ["proposer_side", "proposed_date"], "style": "kv"},
                {"heading": "発議事項", "fields": ["matter"], "style": "checks"},
                {"fields": ["matter_other", "work_title", "work_number", "subject"]},
                {"heading": "内容", "fields": ["content"], "style": "text"},
                {"fields": ["drawings", "attached_other"]},
                {
                    "heading": "処理・回答",
                    "fields": ["answer_orderer", "answer_orderer_text"],
                    "style": "checks",
                },
                {"fields": ["answer_contractor", "answer_contractor_text"], "style": "checks"},
            ],
        },
    },
    "gyomu_uchiawase": {
        "name": "業務打合せ簿",
        "work_kinds": _SERVICE,
        "description": "委託業務の打合せ記録。",
        "fields": [
            *_work_fields(service=True),
            {
                "key": "meeting_date",
                "label": "打合せ日",
                "type": "date",
                "required": True,
                "default": {"from": "today"},
            },
            {
                "key": "method",
                "label": "打合せ方式",
                "type": "choice",
                "choices": ["対面", "電話", "Web会議", "書面", "その他"],
                "required": True,
            },
            {"key": "place", "label": "場所", "type": "text", "max_length": 100},
            {
                "key": "attendees_orderer",
                "label": "出席者（発注者）",
                "type": "textarea",
                "max_length": 500,
            },
            {
                "key": "attendees_contractor",
                "label": "出席者（受注者）",
                "type": "textarea",
                "max_length": 500,
            },
            {"key": "subject", "label": "件名", "type": "text", "required": True},
            {"key": "content", "label": "打合せ内容", "type": "textarea", "required": True},
            *_answer("orderer", "発注者", ["了解", "指示", "協議", "その他"]),
            *_answer("contractor", "受注者", ["了解", "協議", "報告", "その他"]),
        ],
        "layout": {
            "title": "業務打合せ簿",
            "sections": [
                {"fields": ["work_title", "work_number", "meeting_date", "method", "place"]},
                {"fields": ["attendees_orderer", "attendees_contractor", "subject"]},
                {"heading": "打合せ内容", "fields": ["content"], "style": "text"},
                {
                    "heading": "処理・回答",
                    "fields": [
                        "answer_orderer",
                        "answer_orderer_text",
                        "answer_contractor",
                        "answer_contractor_text",
                    ],
                    "style": "checks",
                },
            ],
        },
    },
    "zairyo_kakunin": {
        "name": "材料確認書",
        "work_kinds": _CONSTRUCTION,
        "description": "工事に使用する材料の確認を求める。",
        "fields": [
            *_work_fields(),
            {
                "key": "request_date",
                "label": "確認依頼日",
                "type": "date",
                "required": True,
                "default": {"from": "today"},
            },
            {
                "key": "materials",
                "label": "材料",
                "type": "table",
                "required": True,
                "max_rows": 30,
                "columns": [
                    {"key": "name", "label": "材料名", "type": "text"},
                    {"key": "spec", "label": "規格", "type": "text"},
                    {"key": "quantity", "label": "数量", "type": "number"},
                    {"key": "unit", "label": "単位", "type": "text"},
                    {"key": "maker", "label": "製造会社", "type": "text"},
                ],
            },
            {
                "key": "method",
                "label": "確認方法",
                "type": "multichoice",
                "choices": ["見本", "資料", "立会", "試験成績表"],
                "required": True,
            },
            {"key": "remarks", "label": "摘要", "type": "textarea", "max_length": 1000},
            {
                "key": "answer_orderer",
                "label": "確認結果",
                "type": "choice",
                "choices": ["合格", "条件付き合格", "不合格"],
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "answer_orderer_text",
                "label": "監督員所見",
                "type": "textarea",
                "max_length": 2000,
                "part": "answer",
                "side": "orderer",
            },
        ],
        "layout": {
            "title": "材料確認書",
            "sections": [
                {"fields": ["work_title", "work_number", "request_date"]},
                {"heading": "材料", "fields": ["materials"], "style": "table"},
                {"fields": ["method"], "style": "checks"},
                {"fields": ["remarks"], "style": "text"},
                {
                    "heading": "確認結果",
                    "fields": ["answer_orderer", "answer_orderer_text"],
                    "style": "checks",
                },
            ],
        },
    },
    "dankai_kakunin": {
        "name": "段階確認書",
        "work_kinds": _CONSTRUCTION,
        "description": "施工の段階ごとの確認（段階確認）を求める。",
        "fields": [
            *_work_fields(),
            {"key": "kind", "label": "種別", "type": "text", "required": True, "max_length": 100},
            {"key": "detail", "label": "細別", "type": "text", "max_length": 100},
            {"key": "stage", "label": "確認時期項目", "type": "text", "required": True},
            {"key": "planned_date", "label": "確認予定日", "type": "date", "required": True},
            {"key": "place", "label": "確認箇所", "type": "text", "required": True},
            {
                "key": "method",
                "label": "確認方法",
                "type": "choice",
                "choices": ["臨場", "机上", "遠隔臨場"],
                "required": True,
            },
            {
                "key": "answer_orderer",
                "label": "確認結果",
                "type": "choice",
                "choices": ["確認", "再確認"],
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "confirmed_date",
                "label": "確認日",
                "type": "date",
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "answer_orderer_text",
                "label": "指示事項",
                "type": "textarea",
                "max_length": 2000,
                "part": "answer",
                "side": "orderer",
            },
        ],
        "layout": {
            "title": "段階確認書",
            "sections": [
                {"fields": ["work_title", "work_number", "kind", "detail", "stage"]},
                {"fields": ["planned_date", "place"]},
                {"fields": ["method"], "style": "checks"},
                {
                    "heading": "確認結果",
                    "fields": ["answer_orderer", "confirmed_date", "answer_orderer_text"],
                    "style": "checks",
                },
            ],
        },
    },
    "kakunin_tachiai": {
        "name": "確認・立会依頼書",
        "work_kinds": _CONSTRUCTION,
        "description": "監督員の確認または立会を依頼する。",
        "fields": [
            *_work_fields(),
            {
                "key": "request_kind",
                "label": "依頼区分",
                "type": "choice",
                "choices": ["確認", "立会"],
                "required": True,
            },
            {"key": "work_type", "label": "工種", "type": "text", "required": True},
            {"key": "place", "label": "確認・立会箇所", "type": "text", "required": True},
            {"key": "wished_date", "label": "希望日", "type": "date", "required": True},
            {"key": "wished_time", "label": "希望時刻", "type": "text", "max_length": 30},
            {"key": "content", "label": "内容", "type": "textarea", "required": True},
            {
                "key": "answer_orderer",
                "label": "回答",
                "type": "choice",
                "choices": ["了解", "日時変更"],
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "done_date",
                "label": "実施日",
                "type": "date",
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "answer_orderer_text",
                "label": "所見",
                "type": "textarea",
                "max_length": 2000,
                "part": "answer",
                "side": "orderer",
            },
        ],
        "layout": {
            "title": "確認・立会依頼書",
            "sections": [
                {"fields": ["request_kind"], "style": "checks"},
                {"fields": ["work_title", "work_number", "work_type", "place"]},
                {"fields": ["wished_date", "wished_time"]},
                {"heading": "内容", "fields": ["content"], "style": "text"},
                {
                    "heading": "回答",
                    "fields": ["answer_orderer", "done_date", "answer_orderer_text"],
                    "style": "checks",
                },
            ],
        },
    },
    "rikou_houkoku": {
        "name": "工事履行報告書",
        "work_kinds": _CONSTRUCTION,
        "description": "工事の履行状況（月ごとの進捗）を報告する。",
        "fields": [
            *_work_fields(),
            {
                "key": "period",
                "label": "工期",
                "type": "text",
                "max_length": 60,
                "default": {"from": "work.period"},
            },
            {
                "key": "report_date",
                "label": "報告日",
                "type": "date",
                "required": True,
                "default": {"from": "today"},
            },
            {"key": "month", "label": "対象月", "type": "text", "required": True, "max_length": 20},
            {
                "key": "planned_rate",
                "label": "予定工程（%）",
                "type": "number",
                "min": 0,
                "max": 100,
            },
            {
                "key": "actual_rate",
                "label": "実施工程（%）",
                "type": "number",
                "min": 0,
                "max": 100,
            },
            {"key": "work_done", "label": "主な作業内容", "type": "textarea", "required": True},
            {"key": "notes", "label": "記事", "type": "textarea", "max_length": 2000},
            {
                "key": "answer_orderer",
                "label": "確認",
                "type": "choice",
                "choices": ["受理", "その他"],
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "answer_orderer_text",
                "label": "所見",
                "type": "textarea",
                "max_length": 2000,
                "part": "answer",
                "side": "orderer",
            },
        ],
        "layout": {
            "title": "工事履行報告書",
            "sections": [
                {"fields": ["work_title", "work_number", "period", "report_date", "month"]},
                {"fields": ["planned_rate", "actual_rate"]},
                {"heading": "主な作業内容", "fields": ["work_done"], "style": "text"},
                {"fields": ["notes"], "style": "text"},
                {
                    "heading": "確認",
                    "fields": ["answer_orderer", "answer_orderer_text"],
                    "style": "checks",
                },
            ],
        },
    },
    "kyujitsu_yakan": {
        "name": "休日・夜間作業届",
        "work_kinds": _CONSTRUCTION,
        "description": "休日または夜間に作業を行うときの届出。",
        "fields": [
            *_work_fields(),
            {
                "key": "kind",
                "label": "区分",
                "type": "choice",
                "choices": ["休日", "夜間", "休日・夜間"],
                "required": True,
            },
            {"key": "work_date", "label": "作業日", "type": "date", "required": True},
            {
                "key": "hours",
                "label": "作業時間",
                "type": "text",
                "required": True,
                "max_length": 40,
            },
            {"key": "content", "label": "作業内容", "type": "textarea", "required": True},
            {"key": "reason", "label": "理由", "type": "textarea", "required": True},
            {"key": "responsible", "label": "作業責任者", "type": "text", "max_length": 60},
            {"key": "contact", "label": "連絡先", "type": "text", "max_length": 60},
            {
                "key": "answer_orderer",
                "label": "処理",
                "type": "choice",
                "choices": ["受理", "その他"],
                "part": "answer",
                "side": "orderer",
            },
            {
                "key": "answer_orderer_text",
                "label": "所見",
                "type": "textarea",
                "max_length": 2000,
                "part": "answer",
                "side": "orderer",
            },
        ],
        "layout": {
            "title": "休日・夜間作業届",
            "sections": [
                {"fields": ["kind"], "style": "checks"},
                {"fields": ["work_title", "work_number", "work_date", "hours"]},
                {"heading": "作業内容", "fields": ["content"], "style": "text"},
                {"heading": "理由", "fields": ["reason"], "style": "text"},
                {"fields": ["responsible", "contact"]},
                {
                    "heading": "処理",
                    "fields": ["answer_orderer", "answer_orderer_text"],
                    "style": "checks",
                },
            ],
        },
    },
}
