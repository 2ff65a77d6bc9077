"""glossary-bot: a Slack app that answers "what does this term mean?" from YAML files in git."""

from pathlib import Path

# The starter glossary beside the package: what the bot and every command read when no
# folder is named (GLOSSARY_TERMS_DIR or an argument).
DEFAULT_TERMS_DIR = Path(__file__).resolve().parents[1] / "terms"
