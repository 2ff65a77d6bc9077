"""Deterministic synthetic glossaries (1k, 10k, 100k valid terms) and the queries to time on them.

    python -m benchmarks.generate [--sizes 1000 10000 100000] [--out benchmarks/data] [--seed 7]

Each size is written to `<out>/<size>/terms/*.yml` with a `manifest.json` beside it holding
the seed, the generator version and labelled queries: exact names, declared aliases,
acronyms, names with one typo, and phrases that name nothing, each with the slug a correct
answer has. The same seed always gives the same files, and a smaller glossary is the first
terms of a larger one. A size whose manifest already matches is left as it is.

Every term passes `python -m bot validate` with no errors: slugs match names, definitions have
the lengths the rules want, names and aliases are unique, relationships point at terms that
exist, citations are http(s) links.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from benchmarks import wordlists as wl
from bot.glossary.model import ROLE_NAMES, slugify
from bot.glossary.normalize import light_key
from bot.glossary.resolve import RESERVED_ACRONYMS
from bot.glossary.validate import name_key

try:
    from yaml import CSafeDumper as Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as Dumper  # type: ignore[assignment]

GENERATOR_VERSION = 1
DEFAULT_SEED = 7
DEFAULT_SIZES = (1_000, 10_000, 100_000)
DEFAULT_OUT = Path(__file__).resolve().parent / "data"
QUERIES_PER_KIND = 1_000
QUERY_KINDS = ("exact", "alias", "acronym", "typo", "not_found")
REVIEW_BASE = date(2026, 6, 1)  # fixed, so the files do not change with the day they are made

_KEYBOARD_NEIGHBOURS = {
    "a": "qsz",
    "b": "vgn",
    "c": "xdv",
    "d": "sfe",
    "e": "wrd",
    "f": "dgr",
    "g": "fht",
    "h": "gjy",
    "i": "uok",
    "j": "hku",
    "k": "jli",
    "l": "kop",
    "m": "nj",
    "n": "bmh",
    "o": "ipl",
    "p": "ol",
    "q": "wa",
    "r": "etf",
    "s": "adw",
    "t": "ryg",
    "u": "yij",
    "v": "cbf",
    "w": "qes",
    "x": "zcs",
    "y": "tuh",
    "z": "xa",
}


@dataclass(frozen=True)
class Generated:
    """One synthetic term: its slug, the fields as written to YAML, and its queryable names."""

    slug: str
    fields: dict[str, Any]
    acronym: str | None
    plain_aliases: tuple[str, ...]


class _Names:
    """Every name and alias key handed out so far, so no two terms share one."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.slugs: set[str] = set()

    @staticmethod
    def _forms(text: str) -> set[str]:
        return {name_key(text), light_key(text), name_key(text).replace(" ", "")}

    def free(self, text: str) -> bool:
        return not (self._forms(text) & self.keys)

    def take(self, text: str) -> None:
        self.keys |= self._forms(text)


def _name_words(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.40:
        return [rng.choice(wl.MODIFIERS), rng.choice(wl.DOMAINS), rng.choice(wl.HEADS)]
    if roll < 0.60:
        return [rng.choice(wl.HYPHENATED_MODIFIERS), rng.choice(wl.DOMAINS), rng.choice(wl.HEADS)]
    if roll < 0.75:
        return [rng.choice(wl.MODIFIERS), rng.choice(wl.HEADS)]
    if roll < 0.85:
        return [rng.choice(wl.HYPHENATED_MODIFIERS), rng.choice(wl.HEADS)]
    if roll < 0.95:
        return [rng.choice(wl.DOMAINS), rng.choice(wl.HEADS)]
    return [rng.choice(wl.ACRONYM_WORDS), rng.choice(wl.DOMAINS), rng.choice(wl.HEADS)]


def _initials(name_words: list[str]) -> str:
    letters = []
    for word in name_words:
        if word.isupper() or any(c.isupper() for c in word[1:]):
            letters.append(word.upper())  # KV stays KV in "KVMB"
        else:
            letters.extend(part[0].upper() for part in word.split("-"))
    return "".join(letters)


def _aliases(
    rng: random.Random, name_words: list[str], names: _Names
) -> tuple[str | None, list[str]]:
    """An acronym (when free and not a reserved one) and up to two worded aliases."""
    acronym = None
    initials = _initials(name_words)
    if (
        len(initials) >= 3
        and initials.lower() not in RESERVED_ACRONYMS
        and rng.random() < 0.6
        and names.free(initials)
    ):
        acronym = initials
        names.take(initials)
    worded: list[str] = []
    swappable = [i for i, w in enumerate(name_words) if w in wl.SYNONYMS]
    if swappable and rng.random() < 0.75:
        i = rng.choice(swappable)
        swapped = [*name_words[:i], rng.choice(wl.SYNONYMS[name_words[i]]), *name_words[i + 1 :]]
        worded.append(" ".join(swapped))
    if len(name_words) == 3 and rng.random() < 0.5:
        head, rest = name_words[-1], name_words[:-1]
        worded.append(f"{head} for {' '.join(rest)}")
    kept = []
    for alias in worded:
        if names.free(alias):
            names.take(alias)
            kept.append(alias)
    return acronym, kept


def _fill(template: str, rng: random.Random, name: str, other: str) -> str:
    goal, goal2 = rng.sample(wl.GOALS, 2)
    verb, verb2 = rng.sample(wl.VERBS, 2)
    obj, obj2 = rng.sample(wl.OBJECTS, 2)
    return template.format(
        name=name,
        other=other,
        kind=rng.choice(wl.KINDS),
        verb=verb,
        verb2=verb2,
        gerund=verb.removesuffix("es").removesuffix("s").removesuffix("e") + "ing",
        object=obj,
        object2=obj2,
        goal=goal,
        goal2=goal2,
        team=rng.choice(wl.TEAMS),
    )


def _long_def(rng: random.Random, name: str, other: str) -> str:
    sentences: list[str] = []
    count = 0
    for template in rng.sample(wl.SENTENCES, len(wl.SENTENCES)):
        sentence = _fill(template, rng, name, other)
        if count + len(sentence.split()) > 200:
            break
        sentences.append(sentence)
        count += len(sentence.split())
        if count >= 95 and rng.random() < 0.35:
            break
    opening = f"The {name} is a {rng.choice(wl.KINDS)} used across AI and data teams."
    return " ".join([opening, *sentences])


def _citations(rng: random.Random, name: str, slug: str) -> list[dict[str, str]]:
    out = []
    for n in range(rng.randint(1, 2)):
        author = rng.choice(wl.AUTHORS)
        year = rng.randint(2012, 2025)
        host = rng.choice(wl.CITATION_HOSTS)
        out.append(
            {
                "source": f"{author} et al., {string.capwords(name)} in Practice ({year})",
                "url": f"https://{host}/{slug}-{n + 1}",
            }
        )
    return out


def generate(count: int, seed: int = DEFAULT_SEED) -> Iterator[Generated]:
    """`count` valid, distinct terms; the first n are the same for any count >= n."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not a secret
    names = _Names()
    made: list[str] = []
    while len(made) < count:
        name_words = _name_words(rng)
        name = " ".join(name_words)
        slug = slugify(name)
        if slug in names.slugs or not names.free(name):
            continue
        names.slugs.add(slug)
        names.take(name)
        acronym, worded = _aliases(rng, name_words, names)
        other = rng.choice(made) if made else "manual review process"
        related = rng.sample(made, min(len(made), rng.randint(1, 3)))
        broader = [rng.choice(made)] if made and rng.random() < 0.4 else []
        aliases = ([acronym] if acronym else []) + worded
        fields: dict[str, Any] = {
            "term": name,
            "aliases": aliases,
            "categories": [
                c.replace("-", " ") for c in rng.sample(wl.CATEGORIES, rng.randint(1, 2))
            ],
            "roles": rng.sample(ROLE_NAMES, rng.randint(1, 4)),
            "part_of_speech": rng.choice(("noun_phrase", "noun_phrase", "process", "concept")),
            "short_def": _fill(rng.choice(wl.SHORT_DEFS), rng, name, other),
            "long_def": _long_def(rng, name, other),
            "audiences": {
                "exec": _fill(rng.choice(wl.EXEC_LINES), rng, name, other),
                "engineer": _fill(rng.choice(wl.ENGINEER_LINES), rng, name, other),
            },
            "examples": {
                "do": [_fill(t, rng, name, other) for t in rng.sample(wl.DO_LINES, 2)],
                "dont": [_fill(t, rng, name, other) for t in rng.sample(wl.DONT_LINES, 1)],
            },
            "governance": {
                "nist_rmf_tags": rng.sample(wl.NIST_TAGS, rng.randint(1, 3)),
                "risk_notes": _fill(rng.choice(wl.RISK_LINES), rng, name, other),
            },
            "relationships": {"broader": broader, "narrower": [], "related": related},
            "citations": _citations(rng, name, slug),
            "license": "CC BY-SA 4.0",
            "status": rng.choices(("reviewed", "approved", "draft", "deprecated"), (50, 30, 15, 5))[
                0
            ],
            "last_reviewed": REVIEW_BASE - timedelta(days=rng.randint(0, 150)),
        }
        made.append(name)
        yield Generated(slug, fields, acronym, tuple(worded))


# -- queries ----------------------------------------------------------------------------------


def typo(text: str, rng: random.Random) -> str:
    """One realistic slip in one word of five letters or more, never in its first letter."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word = words[i]
    at = rng.randint(1, len(word) - 2)
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap" and word[at] != word[at + 1]:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    elif kind == "drop":
        word = word[:at] + word[at + 1 :]
    elif kind == "double":
        word = word[:at] + word[at] + word[at:]
    else:
        neighbours = _KEYBOARD_NEIGHBOURS.get(word[at].lower(), "e")
        word = word[:at] + rng.choice(neighbours) + word[at + 1 :]
    words[i] = word
    return " ".join(words)


def queries(terms: list[Generated], seed: int) -> dict[str, list[tuple[str, str | None]]]:
    """Labelled queries of each kind, sampled with their own seed."""
    rng = random.Random(seed * 7919 + len(terms))  # noqa: S311 - reproducible sampling
    picked = rng.sample(terms, min(len(terms), QUERIES_PER_KIND))
    out: dict[str, list[tuple[str, str | None]]] = {kind: [] for kind in QUERY_KINDS}
    for term in picked:
        name = term.fields["term"]
        out["exact"].append((name if rng.random() < 0.7 else name.title(), term.slug))
        typed = typo(name, rng)
        if typed != name:
            out["typo"].append((typed, term.slug))
    with_alias = [t for t in terms if t.plain_aliases]
    for term in rng.sample(with_alias, min(len(with_alias), QUERIES_PER_KIND)):
        out["alias"].append((rng.choice(term.plain_aliases), term.slug))
    with_acronym = [t for t in terms if t.acronym]
    for term in rng.sample(with_acronym, min(len(with_acronym), QUERIES_PER_KIND)):
        out["acronym"].append((term.acronym or "", term.slug))
    for _ in range(QUERIES_PER_KIND):
        first = rng.choice(wl.UNRELATED_PHRASES + wl.UNRELATED_WORDS)
        out["not_found"].append((f"{first} {rng.choice(wl.UNRELATED_WORDS)}", None))
    return out


# -- writing ----------------------------------------------------------------------------------


def size_label(count: int) -> str:
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def glossary_dir(out: Path, count: int) -> Path:
    return out / size_label(count)


def write_glossary(out: Path, count: int, seed: int = DEFAULT_SEED) -> Path:
    """Write the glossary of `count` terms and its manifest; skip when already there."""
    folder = glossary_dir(out, count)
    manifest_path = folder / "manifest.json"
    wanted = {"generator": GENERATOR_VERSION, "seed": seed, "count": count}
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = {}
        if all(manifest.get(k) == v for k, v in wanted.items()):
            return folder
    if folder.exists():
        shutil.rmtree(folder)
    terms_dir = folder / "terms"
    terms_dir.mkdir(parents=True)
    terms = list(generate(count, seed))
    for term in terms:
        text = yaml.dump(term.fields, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)
        (terms_dir / f"{term.slug}.yml").write_text(text, encoding="utf-8")
    manifest = {**wanted, "queries": queries(terms, seed)}
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return folder


def load_manifest(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for count in args.sizes:
        folder = write_glossary(args.out, count, args.seed)
        print(f"{count} terms in {folder / 'terms'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
