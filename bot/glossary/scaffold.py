"""The starting text of a new term file: every field present, placeholders marked TODO.

The scaffold must load without schema errors (so an author can see it in `validate` and fill
it in field by field) and still fail validation until every placeholder is replaced. Each
placeholder therefore contains the word PLACEHOLDER_MARKER, which the validator looks for.
Enum fields (roles, part_of_speech, status) cannot hold a marker and keep the schema, so they
get valid values and a comment telling the author to choose. The text is pure so the intake
flow can post the same scaffold into Slack.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from bot.glossary.model import FIELD_ORDER, ROLE_NAMES, Status

__all__ = ["PLACEHOLDER_MARKER", "PLACEHOLDER_URL", "scaffold_term"]

PLACEHOLDER_MARKER = "TODO"
PLACEHOLDER_URL = "https://example.com/TODO"

HEADER = (
    "# New glossary term. Replace every TODO, delete the roles that do not apply,\n"
    "# then run: python -m bot validate\n"
)

# One comment above each field: what belongs there. Keys follow model.FIELD_ORDER.
FIELD_HELP: dict[str, str] = {
    "term": "The name as people write it.",
    "aliases": "Other names and abbreviations people use; write [] if there are none.",
    "categories": "One or more subject areas, e.g. Governance, Data, Generative AI.",
    "roles": "Who needs this term; keep only those that apply.",
    "part_of_speech": "One of: noun, noun_phrase, verb, adjective, process, concept.",
    "short_def": "One plain sentence, at most 40 words.",
    "long_def": "80 to 220 words: what it is, how it works, why it matters here.",
    "audiences": "How to frame the term for decision makers (exec) and builders (engineer).",
    "examples": "Concrete good practice (do) and mistakes to avoid (dont).",
    "governance": "NIST AI RMF characteristics it touches, and the risks to watch.",
    "relationships": "Names of broader, narrower and related terms; [] where none.",
    "citations": "Reputable public sources, each with a title and an http(s) URL.",
    "license": "The licence of this text, e.g. CC BY-SA 4.0.",
    "status": "draft, reviewed, approved or deprecated.",
    "last_reviewed": "The date of the last review, YYYY-MM-DD.",
}


def scaffold_term(name: str, today: date) -> str:
    """The YAML text of a new term called `name`, last reviewed `today`."""
    term = " ".join(name.split())
    todo = PLACEHOLDER_MARKER
    values: dict[str, Any] = {
        "term": term,
        "aliases": [f"{todo}: another name for {term}"],
        "categories": [f"{todo}: category"],
        "roles": list(ROLE_NAMES),
        "part_of_speech": "noun",
        "short_def": f"{todo}: say in one sentence what {term} is.",
        "long_def": f"{todo}: explain {term} in 80 to 220 words.",
        "audiences": {
            "exec": f"{todo}: why {term} matters to a decision maker.",
            "engineer": f"{todo}: what {term} means for someone building systems.",
        },
        "examples": {
            "do": [f"{todo}: a good way to use or apply {term}."],
            "dont": [f"{todo}: a common mistake with {term}."],
        },
        "governance": {
            "nist_rmf_tags": [f"{todo}: e.g. validity, privacy, accountability"],
            "risk_notes": f"{todo}: the risks {term} brings and how to watch them.",
        },
        "relationships": {
            "broader": [f"{todo}: a broader term"],
            "narrower": [f"{todo}: a narrower term"],
            "related": [f"{todo}: a related term"],
        },
        "citations": [{"source": f"{todo}: publisher - title", "url": PLACEHOLDER_URL}],
        "license": f"{todo}: licence, e.g. CC BY-SA 4.0",
        "status": Status.DRAFT.value,
        "last_reviewed": today,
    }
    parts = [HEADER]
    for key in FIELD_ORDER:
        parts.append(f"\n# {FIELD_HELP[key]}\n")
        parts.append(
            yaml.safe_dump(
                {key: values[key]},
                sort_keys=False,
                allow_unicode=True,
                default_flow_style=False,
                width=88,
            )
        )
    return "".join(parts)
