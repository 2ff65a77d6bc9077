"""What people type, turned into the keys the resolver looks up.

Slack delivers markup (mentions, links, `*bold*`, entities), people type questions around the
term ("what does X mean?") in any case, with smart quotes, dashes and inflections. Everything
here is a pure function from text to text, so each step can be tested on its own and the index
and the queries go through exactly the same steps.

Keys come in two strengths. The *light* form undoes what never changes meaning: case, accents,
punctuation, hyphens, possessives and plurals (`KV-Caches'` -> `kv cach`). The *stem* form also
strips derivational endings (`-ing`, `-ed`, `-ability`, `-ization`), which is how `reward
modeling` reaches "reward model"; a match only at that strength is reported as fuzzy.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Characters NFKC leaves alone but people paste from documents and phones.
_CHAR_MAP = str.maketrans(
    {
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2015": "-",  # horizontal bar
        "\u2212": "-",  # minus sign
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u0060": "`",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)

# <@U123>, <@U123|name>, <#C123|general>, <!here>, <!subteam^S1|@team>, <https://x|label>
_SLACK_ANGLE = re.compile(r"<([^<>\n]*)>")
_BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMOJI = re.compile(r":[a-z0-9_+'-]+:", re.IGNORECASE)
_MARKUP = re.compile(r"[*_~`]+")
# Emoji and other pictographs typed as characters rather than :shortcodes:.
_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Cs", "Co"})
_ASCII_SYMBOLS = str.maketrans({"^": " ", "`": " "})  # the only ASCII characters of those
_SPACES = re.compile(r"\s+")
_EDGE_PUNCT = " \t\n\"'()[]{}<>.,;:!?¿¡|/\\-–—>*#"


def clean(text: str, *, link_labels: bool = False) -> str:
    """Slack markup, entities and Unicode variants removed; case and words kept.

    Links are dropped, because a pasted link next to a term is context rather than the term,
    unless `link_labels` asks for their labels or nothing else is left.
    """
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    labels: list[str] = []

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner[:1] in ("@", "#", "!"):
            return " "
        _, _, label = inner.partition("|")
        if label:
            labels.append(label)
        return f" {label} " if link_labels else " "

    text = _SLACK_ANGLE.sub(replace, text)
    text = _plain(text)
    if not text and labels:
        text = _plain(" ".join(labels))
    return text


def _plain(text: str) -> str:
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    text = _BARE_URL.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    if text.isascii():  # the common case: one C call instead of a lookup per character
        text = text.translate(_ASCII_SYMBOLS)
    else:
        text = "".join(
            " " if unicodedata.category(c) in _SYMBOL_CATEGORIES or c == "\ufe0f" else c
            for c in text
        )
    return _SPACES.sub(" ", text).strip(_EDGE_PUNCT)


# ---------------------------------------------------------------------------------------------
# Question phrasing


def _phrases(*words: str) -> re.Pattern[str]:
    """One pattern for phrases at the start of a text, longer phrases tried first."""
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return re.compile(rf"^(?:{alternatives})(?:\b|(?<=\W))[\s,:;.!?-]*", re.IGNORECASE)


# Openers people put before a term; stripped repeatedly, so they combine in any order.
_LEADING = _phrases(
    r"hey",
    r"hi",
    r"hello",
    r"yo",
    r"ok(?:ay)?",
    r"so",
    r"um+",
    r"uh+",
    r"hm+",
    r"sorry",
    r"please",
    r"pls",
    r"plz",
    r"quick q(?:uestion)?",
    r"q",
    r"question",
    r"random question",
    r"dumb question",
    r"stupid question",
    r"noob question",
    r"(?:does|do) (?:any(?:one|body)|some(?:one|body)|you|we|u) (?:know|remember)",
    r"(?:any(?:one|body)|some(?:one|body)) (?:know|knows|remember)",
    r"(?:can|could|would|will) (?:you|u|someone|somebody|anyone|anybody|we|i) (?:please )?"
    r"(?:quickly |briefly )?(?:get|have)?",
    r"i (?:don'?t|do not|dont) (?:really )?(?:know|understand|get)",
    r"(?:i'?m|i am) (?:not sure|confused about|confused by|wondering|curious)",
    r"not sure",
    r"i was wondering",
    r"wondering",
    r"curious",
    r"(?:help me|help us) (?:understand|grok)",
    r"remind (?:me|us)(?: of)?",
    r"tell (?:me|us)(?: more)?(?: about)?",
    r"explain(?: to (?:me|us))?",
    r"describe",
    r"define",
    r"def",
    r"definition(?: of| for)?",
    r"(?:the )?meaning of",
    r"what is meant by",
    r"meant by",
    r"exactly",
    r"actually",
    r"really",
    r"even",
    r"like (?:i'?m|im|i am) (?:5|five)",
    r"teach (?:me|us)(?: about)?",
    r"learn about",
    r"what do (?:you|we|they|people|folks|ppl) mean by",
    r"what does it mean (?:to|by)",
    r"eli5",
    r"tl;?dr",
    r"look ?up",
    r"search(?: for)?",
    r"(?:wtf|wth|who|what|how|why|when) (?:is|are|was|were|'s|'re)",
    r"what'?s",
    r"whats",
    r"wat is",
    r"wut is",
    r"what (?:does|do|did)",
    r"how (?:does|do|did|is|are)",
    r"what",
    r"is there(?: a)?(?: definition)?(?: for| of)?",
    r"do we have(?: a)?(?: definition)?(?: for| of)?",
    r"is",
    r"are",
    r"a",
    r"an",
    r"the",
    r"this",
    r"that",
    r"our",
    r"the term",
    r"term",
    r"the word",
    r"the acronym",
    r"acronym",
    r"the concept of",
    r"concept of",
    r"about",
    r"by",
    r"@?glossary(?: ?bot)?",
    r"@?bot",
)

# Courtesy and filler after a term.
_TRAILING_COURTESY = re.compile(
    r"[\s,:;.!?-]*\b(?:please|pls|plz|thanks|thank you|thx|ty|tia|lol|again|exactly|"
    r"actually|anyway|anyways|anyone|someone|anybody|folks|guys|y'?all|team|all|btw|here|"
    r"in (?:simple|plain|layman'?s?) (?:terms|english|words)|simply|for me|for us|"
    r"for dummies|like (?:i'?m|im) (?:5|five)|eli5|quickly|briefly|"
    r"meaning|definition|defn|def|explained|explanation|means what|mean what)$",
    re.IGNORECASE,
)

# Verbs that close a question ("what does X mean", "how does X work"); only stripped when an
# opener was, so a term ending in one of these words is still found when asked plainly.
_TRAILING_VERB = re.compile(
    r"[\s,:;.!?-]*\b(?:mean|means|meant|stand for|stands for|refer to|refers to|do|does|"
    r"work|works|used for|for|is|are|is about|about|is all about|all about|"
    r"mean here|mean in practice)$",
    re.IGNORECASE,
)

# The domain a question places the term in ("hallucination in LLMs").
_TRAILING_CONTEXT = re.compile(
    r"[\s,:;.!?-]*\b(?:in|for|with|within|of|when using|in the context of) (?:the )?"
    r"(?:llms?|ml|ai|genai|gen ai|nlp|machine learning|deep learning|"
    r"(?:large )?language models?|ai (?:models?|systems?)|models?|practice|this context|"
    r"context|general|production)$",
    re.IGNORECASE,
)

# Words that only say "in AI" when they lead or trail a term ("explainable AI", "LLM evals").
DOMAIN_QUALIFIERS = frozenset({"ai", "ml", "llm", "nlp"})


@dataclass(frozen=True)
class Extraction:
    """The term a message asks about, at increasing levels of stripping.

    `candidates` runs from least to most stripped, so a term whose name starts with an
    opener ("A/B testing") is still found as typed before "a" is taken away.
    """

    text: str
    candidates: tuple[str, ...]


def extract(text: str) -> Extraction:
    """The term inside a question such as "can someone explain the KV cache pls?".

    When the words outside links are only a question ("what is <https://...|RAG>?"), the
    link labels are the term; otherwise they are tried last.
    """
    plain = clean(text)
    primary, filler_only = _strip_question(plain)
    secondary: list[str] = []
    # Without a "<" there is no link, and so no label to keep: ASCII text cannot gain one from
    # Unicode normalisation, so cleaning it again would give the same text.
    labelled = clean(text, link_labels=True) if "<" in text or not text.isascii() else plain
    if labelled != plain:
        secondary, _ = _strip_question(labelled)
        if filler_only:
            primary, secondary = secondary, primary
    candidates = tuple(dict.fromkeys(s for s in primary + secondary if s))
    return Extraction(text=primary[-1], candidates=candidates)


def _strip_question(cleaned: str) -> tuple[list[str], bool]:
    """The text at each step of stripping, and whether only question words were left."""
    steps = [cleaned]
    current = cleaned
    asked = filler_only = False
    for _ in range(12):
        stripped = _LEADING.sub("", current, count=1).strip(_EDGE_PUNCT)
        if stripped == current:
            break
        if not stripped:
            filler_only = True
            break
        asked = True
        current = stripped
    steps.append(current)
    current = _strip_repeatedly(current, _TRAILING_COURTESY)
    steps.append(current)
    if asked:
        current = _strip_repeatedly(current, _TRAILING_VERB)
        current = _strip_repeatedly(current, _TRAILING_CONTEXT)
        current = _strip_repeatedly(current, _TRAILING_VERB)
        current = _strip_repeatedly(current, _TRAILING_COURTESY)
        steps.append(current)
    return steps, filler_only


def _strip_repeatedly(text: str, pattern: re.Pattern[str]) -> str:
    for _ in range(6):
        stripped = pattern.sub("", text).strip(_EDGE_PUNCT)
        if stripped == text or not stripped:
            return text
        text = stripped
    return text


# ---------------------------------------------------------------------------------------------
# Tokens and keys

_TOKEN = re.compile(r"[^\W_]+(?:&[^\W_]+)*|&")
_POSSESSIVE = re.compile(r"(?<=\w)'s\b|(?<=s)'(?=\s|$)", re.IGNORECASE)
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")

# Plurals the suffix rules would get wrong.
_IRREGULAR = {
    "matrices": "matrix",
    "indices": "index",
    "vertices": "vertex",
    "appendices": "appendix",
    "analyses": "analysis",
    "hypotheses": "hypothesis",
    "criteria": "criterion",
    "phenomena": "phenomenon",
    "schemata": "schema",
    "corpora": "corpus",
}
_KEEP_S = ("ss", "us", "is")
_VOWELS = frozenset("aeiouy")
_DOUBLE_END = re.compile(r"([b-df-hj-np-tv-z])\1$")


def words(text: str, *, keep_case: bool = False) -> list[str]:
    """Lower-case words without accents, possessives or apostrophes; hyphens split words."""
    if not keep_case:
        text = text.casefold()
    if not text.isascii():  # ASCII, the common case, has nothing to fold
        text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        )
    if "'" in text:  # both patterns need one; skipping them halves the cost of long texts
        text = _POSSESSIVE.sub("", text)
        text = _APOSTROPHE.sub("", text)
    tokens: list[str] = _TOKEN.findall(text)
    if "&" in text:
        return ["and" if w == "&" else w for w in tokens]
    return tokens


@lru_cache(maxsize=1 << 16)  # a glossary repeats its words; so do the people asking
def light(word: str) -> str:
    """A word without its plural and final e: `policies` -> `policy`, `caches` -> `cach`.

    Endings come off until none is left, so a singular that ends in s meets its plural
    (`bias` and `biases` both become `bia`): keys need to agree, not to be English.
    """
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if not word.isalpha():
        return word
    word = word.replace("isation", "ization")
    while len(word) > 3:
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("e") or (word.endswith("s") and not word.endswith(_KEEP_S)):
            word = word[:-1]
        else:
            break
    return word


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A word reduced further, so derived forms meet: `modeling` -> `model`, `tuned` -> `tun`."""
    word = light(word)
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("ization", "iz"), ("ability", "abl"), ("ibility", "ibl")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    # -ed needs a longer rest than -ing, or base forms ending in "ed" (embed, speed) would lose it.
    for suffix, shortest in (("ing", 3), ("ed", 4), ("abl", 3), ("ibl", 3)):
        rest = word[: -len(suffix)]
        if word.endswith(suffix) and len(rest) >= shortest and has_vowel(rest):
            word = rest
            break
    # hallucination, hallucinate, hallucinated: -ation and -ate meet on a long enough rest.
    for suffix in ("ation", "at"):
        rest = word[: -len(suffix)]
        if word.endswith(suffix) and len(rest) >= 5:
            word = rest
            break
    return _DOUBLE_END.sub(r"\1", word)


def light_key(text: str) -> str:
    """The light key of a text: `KV-Caches` -> `kv cach`."""
    return " ".join(light(w) for w in words(text))


def stem_key(text: str) -> str:
    """The stem key of a text: `reward modeling` -> `reward model`."""
    return " ".join(stem(w) for w in words(text))


def compact_keys(tokens: Sequence[str]) -> tuple[str, str]:
    """Light and stem keys of words written as one: `fine-tuning` = `finetuning`."""
    joined = "".join(tokens)
    return light(joined), stem(joined)


def has_vowel(word: str) -> bool:
    return bool(_VOWELS & set(word))
