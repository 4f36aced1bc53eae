"""A conversation as Markdown, with every citation's source and quote."""

from __future__ import annotations

from datetime import datetime

from assistant.config import short_path
from assistant.records import Answer


def conversation_markdown(answers: list[Answer], title: str = "Conversation") -> str:
    lines = [f"# {title}", "", f"_Saved {datetime.now():%Y-%m-%d %H:%M}_", ""]
    for ans in answers:
        lines += [f"## {ans.question}", ""]
        if ans.searched_for():
            lines += [f"_searched for: {ans.searched_for()}_", ""]
        lines += [ans.answer, ""]
        for w in ans.warnings:
            lines.append(f"> warning: {w}")
        for d in ans.dropped:
            lines.append(f"> dropped: ~~{d.get('claim', '')}~~ ({d.get('reason', '')})")
        if ans.citations:
            lines.append("")
            for c in ans.citations:
                byline = ", ".join(filter(None, [" and ".join(c.authors), c.published or ""]))
                lines.append(f"{c.n}. **{c.title}**" + (f" — {byline}" if byline else "") + f" (`{short_path(c.source)}`, chars {c.start}–{c.end})")
                lines.append(f"   > {c.quote}")
        lines.append("")
    return "\n".join(lines)
