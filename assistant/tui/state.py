"""UI choices (answerer, k) remembered between sessions in a small JSON file."""

from __future__ import annotations

import json

from assistant.config import Settings

REMEMBERED = ("answerer", "k")


def load_ui_state(settings: Settings) -> Settings:
    try:
        data = json.loads(settings.ui_state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return settings
    changes = {}
    if data.get("answerer") in ("extractive", "llm"):
        changes["answerer"] = data["answerer"]
    if isinstance(data.get("k"), int) and 1 <= data["k"] <= 50:
        changes["k"] = data["k"]
    return settings.replace(**changes)


def save_ui_state(settings: Settings) -> None:
    try:
        settings.ui_state_file.parent.mkdir(parents=True, exist_ok=True)
        settings.ui_state_file.write_text(json.dumps({k: getattr(settings, k) for k in REMEMBERED}), encoding="utf-8")
    except OSError:
        pass  # remembering is a convenience; a read-only folder must not break the chat
