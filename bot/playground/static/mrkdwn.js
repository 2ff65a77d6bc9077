// Slack's mrkdwn and plain_text, drawn as DOM nodes.
//
// Never builds HTML from strings: every piece of text becomes a text node, and links get an
// href only when it is http(s) or mailto. Slack's entities (&amp; &lt; &gt;) are decoded for
// display only after the control sequences (<@U1>, <#C1|name>, <!here>, <url|label>) have been
// taken out, so escaped text can never turn into markup.

const ENTITIES = { amp: "&", lt: "<", gt: ">" };

export function decodeEntities(text) {
  return text.replace(/&(amp|lt|gt);/g, (_, name) => ENTITIES[name]);
}

// A few shortcodes Slack turns into emoji; others stay as typed.
const EMOJI = {
  "+1": "👍", thumbsup: "👍", "-1": "👎", white_check_mark: "✅", heavy_check_mark: "✔️",
  x: "❌", warning: "⚠️", mag: "🔍", mag_right: "🔎", books: "📚", book: "📖",
  bulb: "💡", wave: "👋", eyes: "👀", tada: "🎉", memo: "📝", inbox_tray: "📥",
  outbox_tray: "📤", hourglass: "⌛", hourglass_flowing_sand: "⏳", no_entry: "⛔",
  no_entry_sign: "🚫", speech_balloon: "💬", bookmark: "🔖", rocket: "🚀", link: "🔗",
  lock: "🔒", star: "⭐", calendar: "📅", clipboard: "📋", pushpin: "📌", question: "❓",
  exclamation: "❗", information_source: "ℹ️", arrow_right: "➡️", construction: "🚧",
  label: "🏷️", seedling: "🌱", sparkles: "✨", raised_hands: "🙌", pencil: "✏️",
  pencil2: "✏️", point_right: "👉", busts_in_silhouette: "👥", bust_in_silhouette: "👤",
  mailbox: "📫", envelope: "✉️", bell: "🔔", new: "🆕", heavy_plus_sign: "➕",
  ballot_box_with_check: "☑️", red_circle: "🔴", large_green_circle: "🟢",
  large_yellow_circle: "🟡", large_blue_circle: "🔵", robot_face: "🤖", house: "🏠",
  scroll: "📜", shield: "🛡️", gear: "⚙️", thinking_face: "🤔", smile: "😄", slightly_smiling_face: "🙂",
};

export function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
}

function textNode(raw, { emoji = true } = {}) {
  const decoded = decodeEntities(raw);
  return document.createTextNode(emoji ? emojify(decoded) : decoded);
}

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    if (child == null) continue;
    node.append(child);
  }
  return node;
}

// plain_text: shown as written (Slack does not decode entities there); emoji when asked.
export function renderPlain(text, emoji = true) {
  const s = String(text ?? "");
  return document.createTextNode(emoji ? emojify(s) : s);
}

const SAFE_SCHEMES = /^(https?:|mailto:)/i;

// ctx: { users: {id: {handle}}, channels: {id: {name}}, onChannel(id), onPermalink(ch, ts) }
function controlSequence(body, ctx) {
  const bar = body.indexOf("|");
  const target = bar >= 0 ? body.slice(0, bar) : body;
  const label = bar >= 0 ? body.slice(bar + 1) : "";
  const first = target[0];
  if (first === "@") {
    const id = target.slice(1);
    const user = ctx.users?.[id];
    const name = user ? user.handle : label || id;
    return el("span", "mention", "@" + name);
  }
  if (first === "#") {
    const id = target.slice(1);
    const channel = ctx.channels?.[id];
    const name = channel ? channel.name : label || id;
    const chip = el("a", "mention channel-mention", "#" + decodeEntities(name));
    chip.href = "#" + id;
    chip.addEventListener("click", (event) => {
      event.preventDefault();
      ctx.onChannel?.(id);
    });
    return chip;
  }
  if (first === "!") {
    const word = target.slice(1);
    if (["here", "channel", "everyone"].includes(word)) return el("span", "mention broadcast", "@" + word);
    if (word.startsWith("subteam^")) return el("span", "mention", decodeEntities(label || "@group"));
    if (word.startsWith("date^")) return textNode(label || word);
    return textNode(label || word);
  }
  const url = decodeEntities(target);
  const shown = label ? decodeEntities(label) : url.replace(/^mailto:/i, "");
  if (!SAFE_SCHEMES.test(url)) return document.createTextNode(emojify(shown));
  const link = el("a", "link", emojify(shown));
  link.href = url;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  const archive = url.match(/\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})/);
  if (archive && ctx.isWorkspaceUrl?.(url)) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      ctx.onPermalink?.(archive[1], `${archive[2]}.${archive[3]}`);
    });
  }
  return link;
}

// Slack opens *bold*, _italic_, ~strike~ only at a word boundary and closes before one.
const OPEN_BEFORE = /[\s(\[{"'“‘.,;:!?\/-]/;
const CLOSE_AFTER = /[\s)\]}"'”’.,;:!?\/-]/;

function findStyled(text, marker, from) {
  let start = text.indexOf(marker, from);
  while (start >= 0) {
    const before = start === 0 ? " " : text[start - 1];
    const next = text[start + 1];
    if (OPEN_BEFORE.test(before) && next && !/\s/.test(next) && next !== marker) {
      let end = text.indexOf(marker, start + 1);
      while (end >= 0) {
        const prev = text[end - 1];
        const after = end + 1 >= text.length ? " " : text[end + 1];
        if (!/\s/.test(prev) && CLOSE_AFTER.test(after) && !text.slice(start + 1, end).includes("\n")) {
          return { start, end };
        }
        end = text.indexOf(marker, end + 1);
      }
    }
    start = text.indexOf(marker, start + 1);
  }
  return null;
}

const STYLES = { "*": "b", _: "i", "~": "s" };

// One line (or a run of text without line breaks) of inline mrkdwn.
export function renderInline(text, ctx = {}) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest.length) {
    const candidates = [];
    const code = rest.match(/`([^`\n]+)`/);
    if (code) candidates.push({ at: code.index, kind: "code", match: code });
    const ctrl = rest.match(/<([^<>\n]+)>/);
    if (ctrl) candidates.push({ at: ctrl.index, kind: "ctrl", match: ctrl });
    for (const marker of Object.keys(STYLES)) {
      const found = findStyled(rest, marker, 0);
      if (found) candidates.push({ at: found.start, kind: "style", marker, found });
    }
    if (!candidates.length) {
      fragment.append(textNode(rest));
      break;
    }
    candidates.sort((a, b) => a.at - b.at);
    const next = candidates[0];
    if (next.at > 0) fragment.append(textNode(rest.slice(0, next.at)));
    if (next.kind === "code") {
      fragment.append(el("code", "inline-code", textNode(next.match[1], { emoji: false })));
      rest = rest.slice(next.at + next.match[0].length);
    } else if (next.kind === "ctrl") {
      fragment.append(controlSequence(next.match[1], ctx));
      rest = rest.slice(next.at + next.match[0].length);
    } else {
      const { start, end } = next.found;
      const inner = rest.slice(start + 1, end);
      fragment.append(el(STYLES[next.marker], null, renderInline(inner, ctx)));
      rest = rest.slice(end + 1);
    }
  }
  return fragment;
}

const LIST_ITEM = /^(\s*)([•◦▪▫‣●○■□\-*]|\d+[.)])\s+(.*)$/;

// A whole mrkdwn text object: code blocks, quotes, list lines, and inline formatting.
// (`verbatim` only stops Slack from auto-linking bare names and URLs, which this renderer
// never does, so explicit <...> markup is drawn either way.)
export function renderMrkdwn(text, ctx = {}) {
  const root = el("div", "mrkdwn");
  const source = String(text ?? "");
  const parts = source.split(/```/);
  parts.forEach((part, index) => {
    const isCode = index % 2 === 1 && index < parts.length - 1;
    if (isCode) {
      root.append(el("pre", "code-block", textNode(part.replace(/^\n/, ""), { emoji: false })));
      return;
    }
    const text = index % 2 === 1 ? "```" + part : part; // an unclosed fence stays literal
    renderLines(text, root, ctx);
  });
  return root;
}

function renderLines(text, root, ctx) {
  if (!text) return;
  const lines = text.split("\n");
  let quote = null;
  let paragraph = null;
  const flushParagraph = () => {
    paragraph = null;
  };
  lines.forEach((line) => {
    if (line.startsWith(">")) {
      if (!quote) {
        quote = el("blockquote", "quote");
        root.append(quote);
      } else {
        quote.append(document.createElement("br"));
      }
      quote.append(renderInline(line.slice(1).replace(/^ /, ""), ctx));
      flushParagraph();
      return;
    }
    quote = null;
    const item = line.match(LIST_ITEM);
    if (item) {
      const indent = Math.min(Math.floor(item[1].replace(/\t/g, "    ").length / 2), 4);
      const marker = /^\d/.test(item[2]) ? item[2] : item[2] === "-" || item[2] === "*" ? "•" : item[2];
      const row = el("div", "list-item", el("span", "list-marker", marker), el("span", "list-text", renderInline(item[3], ctx)));
      row.style.marginLeft = `${indent * 1.2}em`;
      root.append(row);
      flushParagraph();
      return;
    }
    if (!paragraph) {
      paragraph = el("div", "line-group");
      root.append(paragraph);
    } else {
      paragraph.append(document.createElement("br"));
    }
    paragraph.append(renderInline(line, ctx));
  });
}
