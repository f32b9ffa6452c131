"""Practices as CSV, JSON or Markdown. Attribution is applied here exactly as on screen."""

from __future__ import annotations

import csv
import io
import json
from enum import Enum
from typing import Any

from content.practices.service import PracticeView, attribution_text, practice_ref, public_source


class ExportFormat(str, Enum):
    CSV = "csv"
    JSON = "json"
    MARKDOWN = "markdown"


MIME = {
    ExportFormat.CSV: "text/csv",
    ExportFormat.JSON: "application/json",
    ExportFormat.MARKDOWN: "text/markdown",
}
FIELDS = (
    "id",
    "title",
    "what",
    "level",
    "size",
    "policy_area",
    "region",
    "sectors",
    "how_much",
    "how_well",
    "better_off",
    "frameworks",
    "tags",
    "links",
    "shared_by",
    "source",
    "endorsements",
    "status",
    "created",
    "updated",
)
SUFFIX = {ExportFormat.CSV: "csv", ExportFormat.JSON: "json", ExportFormat.MARKDOWN: "md"}


def record(v: PracticeView) -> dict[str, Any]:
    """One practice as exported. No member id, and no name unless the author chose to be named."""
    p = v.practice
    return {
        "id": practice_ref(p.id or 0),
        "title": p.title,
        "what": p.what,
        "level": p.level or "",
        "size": p.size or "",
        "policy_area": p.policy_area or "",
        "region": p.region or "",
        "sectors": v.sectors,
        "how_much": p.how_much or "",
        "how_well": p.how_well or "",
        "better_off": p.better_off or "",
        "frameworks": v.frameworks,
        "tags": v.tags,
        "links": v.links,
        "shared_by": attribution_text(p),
        "source": public_source(p),
        "endorsements": v.endorsements,
        "status": p.status,
        "created": p.created_at.strftime("%Y-%m-%d"),
        "updated": p.updated_at.strftime("%Y-%m-%d"),
    }


def render(views: list[PracticeView], fmt: ExportFormat) -> bytes:
    rows = [record(v) for v in views]
    if fmt is ExportFormat.JSON:
        return json.dumps({"practices": rows}, indent=2, ensure_ascii=False).encode()
    if fmt is ExportFormat.CSV:
        out = io.StringIO()
        writer: csv.DictWriter[str] = csv.DictWriter(out, fieldnames=list(FIELDS))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
        return out.getvalue().encode()
    lines = ["# Shared practices", ""]
    for row in rows:
        lines += [
            f"## {row['title']} ({row['id']})",
            "",
            f"*Shared by {row['shared_by']}*" + (f" · {row['source']}" if row["source"] else ""),
            "",
            row["what"],
            "",
        ]
        context = " · ".join(x for x in (row["level"], row["size"], row["policy_area"], row["region"]) if x)
        if context:
            lines += [f"- **Context:** {context}"]
        if row["sectors"]:
            lines += [f"- **Sectors:** {', '.join(row['sectors'])}"]
        for key, label in (
            ("how_much", "How much did we do?"),
            ("how_well", "How well did we do it?"),
            ("better_off", "Is anyone better off?"),
        ):
            if row[key]:
                lines += [f"- **{label}** {row[key]}"]
        if row["frameworks"]:
            lines += [f"- **Frameworks:** {', '.join(row['frameworks'])}"]
        if row["tags"]:
            lines += [f"- **Tags:** {', '.join(row['tags'])}"]
        for link in row["links"]:
            lines += [f"- <{link}>"]
        lines += [f"- **Endorsements:** {row['endorsements']}", ""]
    return "\n".join(lines).encode()
