// The playground page: a Slack-like client for the stand-in's workspace.
//
// It long-polls /play/api/state for a snapshot of what the person you act as can see, draws
// it, and sends what you do (type, click, choose, submit) to the stand-in, which turns it into
// the signed requests Slack would send the app. Nothing here talks to the bot directly.

import { applyValues, clientErrors, collectValues, renderBlocks, setInputErrors } from "./blockkit.js";
import { renderMrkdwn, renderPlain } from "./mrkdwn.js";

const state = {
  me: localStorage.getItem("playground.me") || "",
  snap: null,
  info: null,
  route: "",
  thread: null, // {channel, ts}
  side: null, // "thread" | "activity" | null
  seen: {}, // channel id -> messages seen
  poll: null,
  modalKey: "",
  modalId: "",
  homeKey: "",
  mainKey: "",
  openedHomeFor: "",
};

// --- helpers ----------------------------------------------------------------------------------

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) if (child != null && child !== false) node.append(child);
  return node;
}

function button(label, className, onClick, attrs = {}) {
  const node = el("button", className, label);
  node.type = "button";
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.addEventListener("click", onClick);
  return node;
}

async function api(path, body) {
  try {
    const response = await fetch(`/play/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: state.me, ...body }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || answer.ok === false) toast(answer.error || `The playground answered ${response.status}`, "error");
    return answer;
  } catch (error) {
    toast("The playground is not answering. Is it still running?", "error");
    return { ok: false };
  }
}

function toast(text, kind = "info") {
  const node = el("div", `toast toast-${kind}`, text);
  document.getElementById("toasts").append(node);
  setTimeout(() => node.remove(), 6000);
}

function time(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function user(id) {
  return state.snap?.users?.[id] || { id, handle: id, real_name: id, is_bot: false };
}

function channels() {
  return state.snap?.channels || [];
}

function channel(id) {
  return channels().find((c) => c.id === id);
}

function dm() {
  return channels().find((c) => c.kind === "im");
}

function appName() {
  return state.info?.app?.bot_name || "glossary";
}

function markupContext() {
  const byId = {};
  for (const c of channels()) byId[c.id] = c;
  return {
    users: state.snap?.users || {},
    channels: byId,
    onChannel: (id) => navigate(id),
    onPermalink: (channelId, ts) => showMessage(channelId, ts),
    isWorkspaceUrl: (url) => !!state.info && url.startsWith(state.info.workspace.url),
  };
}

// --- routing ----------------------------------------------------------------------------------

function navigate(route) {
  if (location.hash !== "#" + route) location.hash = route;
  onRoute(); // now, not at the hashchange event, so the caller sees the new view
}

function onRoute() {
  const wanted = decodeURIComponent(location.hash.slice(1));
  let route = wanted || channels()[0]?.id || "home";
  if (route === "dm") route = dm()?.id || route;
  if (state.snap && !["home", "preview"].includes(route) && !channel(route)) route = channels()[0]?.id || "home";
  if (route !== state.route) {
    state.route = route;
    state.mainKey = "";
    if (state.side === "thread" && state.thread?.channel !== route) closeSide();
  }
  if (route === "home") openHome();
  render();
}

function openHome() {
  if (state.openedHomeFor === state.me) return;
  state.openedHomeFor = state.me;
  api("open-app", { tab: "home" });
}

function showMessage(channelId, ts) {
  navigate(channelId);
  const message = (state.snap?.messages?.[channelId] || []).find((m) => m.ts === ts);
  if (message?.is_reply) openThread(channelId, message.thread_ts);
  requestAnimationFrame(() => {
    const node = document.querySelector(`.msg[data-ts="${CSS.escape(ts)}"]`);
    if (node) {
      node.scrollIntoView({ block: "center" });
      node.classList.add("flash");
      setTimeout(() => node.classList.remove("flash"), 1600);
    }
  });
}

// --- polling ------------------------------------------------------------------------------------

function startPolling() {
  if (state.poll) state.poll.abort();
  const controller = new AbortController();
  state.poll = controller;
  (async () => {
    let after = -1;
    while (!controller.signal.aborted) {
      try {
        const query = new URLSearchParams({ user: state.me, after: String(after) });
        const response = await fetch(`/play/api/state?${query}`, { signal: controller.signal });
        const snap = await response.json();
        after = snap.version;
        receive(snap);
      } catch (error) {
        if (controller.signal.aborted) return;
        document.body.classList.add("offline");
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
  })();
}

function receive(snap) {
  document.body.classList.remove("offline");
  const first = !state.snap || state.snap.me !== snap.me;
  state.snap = snap;
  if (state.me !== snap.me) {
    state.me = snap.me;
    localStorage.setItem("playground.me", snap.me);
  }
  if (first) {
    for (const c of snap.channels) state.seen[c.id] = unreadBase(c.id);
    renderPeople();
    onRoute();
  } else {
    render();
  }
  for (const notice of snap.notices || []) toast(notice, "warning");
}

function unreadBase(channelId) {
  return (state.snap?.messages?.[channelId] || []).filter((m) => m.user !== state.me).length;
}

// --- drawing ------------------------------------------------------------------------------------

function render() {
  if (!state.snap) return;
  if (channel(state.route)) state.seen[state.route] = unreadBase(state.route);
  renderSidebar();
  renderMain();
  renderSide();
  renderModal();
}

function renderPeople() {
  const select = document.getElementById("acting-as");
  select.replaceChildren(
    ...state.snap.people.map((id) => {
      const person = user(id);
      const option = el("option", null, `${person.real_name}${person.triager ? " (triager)" : ""}`);
      option.value = id;
      option.selected = id === state.me;
      return option;
    }),
  );
}

function sidebarItem(label, route, { icon = "", badge = 0, extra = null, name = "" } = {}) {
  const item = el("a", "side-item" + (state.route === route ? " active" : "") + (badge ? " unread" : ""));
  item.href = "#" + route;
  item.setAttribute("aria-label", (name || label) + (badge ? `, ${badge} new` : ""));
  item.append(el("span", "side-icon", icon), el("span", "side-label", label));
  if (extra) item.append(extra);
  if (badge) item.append(el("span", "side-badge", String(badge)));
  return item;
}

function renderSidebar() {
  const nav = document.getElementById("sidebar");
  const unread = (id) => (state.route === id ? 0 : Math.max(0, unreadBase(id) - (state.seen[id] ?? 0)));
  const sections = [el("div", "side-heading", "Channels")];
  for (const c of channels().filter((c) => c.kind === "channel")) {
    sections.push(sidebarItem(c.name, c.id, { icon: "#", badge: unread(c.id), name: `#${c.name}` }));
  }
  const direct = dm();
  sections.push(el("div", "side-heading", "Direct messages"));
  if (direct) {
    const extra = el("span", "app-badge", "APP");
    sections.push(sidebarItem(appName(), direct.id, { icon: "●", badge: unread(direct.id), extra, name: `${appName()} (direct message)` }));
  }
  sections.push(el("div", "side-heading", "Apps"));
  sections.push(sidebarItem(`${appName()} · Home`, "home", { icon: "⌂" }));
  sections.push(el("div", "side-heading", "Tools"));
  sections.push(sidebarItem("Preview a term", "preview", { icon: "◧" }));
  const activity = el("a", "side-item" + (state.side === "activity" ? " active" : ""), el("span", "side-icon", "⇄"), el("span", "side-label", "Activity"));
  activity.href = "#";
  activity.addEventListener("click", (event) => {
    event.preventDefault();
    toggleActivity();
  });
  sections.push(activity);
  nav.replaceChildren(...sections);
}

function renderMain() {
  const main = document.getElementById("main");
  const route = state.route;
  const key = `${route}|${state.me}`;
  if (state.mainKey !== key) {
    state.mainKey = key;
    state.homeKey = "";
    if (route === "preview") main.replaceChildren(buildPreview());
    else if (route === "home") main.replaceChildren(buildHome());
    else main.replaceChildren(buildConversation(route));
  }
  if (route === "home") updateHome();
  else if (route !== "preview") updateConversation(main, route);
}

// --- conversations ----------------------------------------------------------------------------

function appTabs(active) {
  const tabs = el("div", "app-tabs");
  tabs.setAttribute("role", "tablist");
  const tab = (label, route, name) => {
    const node = el("a", "app-tab" + (active === name ? " active" : ""), label);
    node.href = "#" + route;
    node.setAttribute("role", "tab");
    node.setAttribute("aria-selected", String(active === name));
    return node;
  };
  tabs.append(tab("Home", "home", "home"), tab("Messages", dm()?.id || "dm", "messages"));
  return tabs;
}

function appHeader(active) {
  return el(
    "header",
    "conversation-header app-header",
    el("div", "title-row", el("span", "app-avatar", "📖"), el("h1", "conversation-title", appName()), el("span", "app-badge", "APP")),
    appTabs(active),
  );
}

function buildConversation(channelId) {
  const c = channel(channelId);
  if (!c) return el("div", "empty", "No such conversation.");
  const header =
    c.kind === "im"
      ? appHeader("messages")
      : el(
          "header",
          "conversation-header",
          el("div", "title-row", el("h1", "conversation-title", `# ${c.name}`)),
          c.topic ? el("div", "conversation-topic", c.topic) : null,
        );
  const list = el("div", "message-list");
  list.setAttribute("aria-label", "Messages");
  const scroller = el("div", "messages", introFor(c), list);
  const composer = buildComposer({
    placeholder: c.kind === "im" ? `Message ${appName()}` : `Message #${c.name}`,
    onSend: (text) => api("send", { channel: c.id, text }),
    label: "Message composer",
  });
  return el("section", "conversation", header, scroller, composer);
}

function introFor(c) {
  const examples = state.info?.examples || [];
  const intro = el("div", "intro");
  if (c.kind === "im") {
    intro.append(
      el("h2", null, `This is your direct message with ${appName()}`),
      el("p", null, "Ask about a term in plain words; the answer arrives here."),
    );
  } else if (c.purpose === "intake") {
    intro.append(
      el("h2", null, `This is the very beginning of #${c.name}`),
      el("p", null, `Term requests arrive here (this channel is the bot's GLOSSARY_INTAKE_CHANNEL). Ask for a missing term with “Request this term”, or type /define request <term>. Only triagers may use the buttons on a request: switch “Acting as” to see what others are told.`),
    );
    return intro;
  } else {
    intro.append(
      el("h2", null, `This is the very beginning of #${c.name}`),
      el("p", null, "Try one of these, or type your own. Answers to /define are only visible to you until you share them; mention the app and it answers in a thread."),
    );
  }
  const chips = el("div", "example-chips");
  for (const example of examples) {
    let text = example;
    if (c.kind === "im") text = example.replace(/^@\S+\s+/, "");
    chips.append(
      button(text, "chip", () => {
        const box = intro.closest(".conversation")?.querySelector(".composer textarea");
        if (box) {
          box.value = text;
          box.focus();
        }
      }),
    );
  }
  intro.append(chips);
  return intro;
}

function buildComposer({ placeholder, onSend, label }) {
  const box = el("textarea", "composer-input");
  box.placeholder = placeholder;
  box.rows = 1;
  box.setAttribute("aria-label", label);
  const hints = el("div", "command-hints");
  hints.hidden = true;
  const send = async () => {
    const text = box.value;
    if (!text.trim()) return;
    box.value = "";
    hints.hidden = true;
    await onSend(text);
  };
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      send();
    }
  });
  box.addEventListener("input", () => {
    const text = box.value;
    const commands = state.info?.app?.commands || [];
    const matches = /^\/\S*$/.test(text) ? commands.filter((c) => c.command.startsWith(text)) : [];
    hints.hidden = matches.length === 0;
    hints.replaceChildren(
      ...matches.map((c) =>
        button(el("span", null, el("b", null, c.command), " ", el("span", "hint-usage", c.usage_hint || ""), el("div", "hint-description", c.description || "")), "command-hint", () => {
          box.value = c.command + " ";
          hints.hidden = true;
          box.focus();
        }),
      ),
    );
  });
  const sendButton = button("Send", "composer-send", send, { "aria-label": "Send" });
  return el("div", "composer", hints, el("div", "composer-box", box, sendButton));
}

function topLevel(messages) {
  return messages.filter((m) => (!m.is_reply || m.broadcast) && !(m.ephemeral && m.thread_ts));
}

function updateConversation(main, channelId) {
  const list = main.querySelector(".message-list");
  const scroller = main.querySelector(".messages");
  if (!list || !scroller) return;
  const messages = state.snap.messages[channelId] || [];
  stickToBottom(scroller);
  if (reconcile(list, topLevel(messages), (m) => renderMessage(m, channelId, false))) scroller._stick = true;
  if (scroller._stick) scroller.scrollTop = scroller.scrollHeight;
}

// A message list follows new messages while it is scrolled to the bottom, also when its
// width changes (the thread pane opens) and when a message grows.
function stickToBottom(scroller) {
  if (scroller._watched) return;
  scroller._watched = true;
  scroller._stick = true;
  scroller.addEventListener("scroll", () => {
    scroller._stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  });
  const follow = () => {
    if (scroller._stick) scroller.scrollTop = scroller.scrollHeight;
  };
  const observer = new ResizeObserver(follow);
  observer.observe(scroller);
  observer.observe(scroller.firstElementChild || scroller);
  for (const child of scroller.children) observer.observe(child);
}

// Keeps unchanged messages' nodes in place (so a half-chosen menu is not reset); returns
// whether a message was added.
function reconcile(container, messages, draw) {
  const cache = container._cache || (container._cache = new Map());
  const people = JSON.stringify(state.snap.users);
  const wanted = [];
  let added = false;
  for (const message of messages) {
    const sig = JSON.stringify(message) + people;
    let entry = cache.get(message.ts);
    if (!entry) added = true;
    if (!entry || entry.sig !== sig) {
      entry = { sig, node: draw(message) };
      cache.set(message.ts, entry);
    }
    wanted.push(entry.node);
  }
  let cursor = container.firstChild;
  for (const node of wanted) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    container.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
  const keep = new Set(messages.map((m) => m.ts));
  for (const ts of cache.keys()) if (!keep.has(ts)) cache.delete(ts);
  return added;
}

function avatar(person) {
  if (person.id === state.snap.bot) return el("div", "avatar avatar-app", "📖");
  if (person.is_bot) return el("div", "avatar avatar-slackbot", "✦");
  const initials = person.real_name.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  const node = el("div", "avatar", initials);
  let hash = 0;
  for (const ch of person.id) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
  node.style.background = `hsl(${hash}, 45%, 42%)`;
  return node;
}

function renderMessage(m, channelId, inThread) {
  const author = user(m.user);
  const node = el("article", "msg" + (m.ephemeral ? " msg-ephemeral" : "") + (m.deleted ? " msg-deleted" : ""));
  node.dataset.ts = m.ts;
  node.dataset.user = m.user;
  const body = el("div", "msg-body");
  if (m.ephemeral) {
    body.append(
      el(
        "div",
        "ephemeral-label",
        el("span", "eye", "👁"),
        " Only visible to you",
        button("Dismiss", "link-button", () => api("dismiss", { channel: channelId, ts: m.ts })),
      ),
    );
  }
  const name = author.id === state.snap.bot ? appName() : author.is_bot ? author.real_name : author.real_name;
  const head = el("div", "msg-head", el("span", "msg-author", name));
  if (author.id === state.snap.bot) head.append(el("span", "app-badge", "APP"));
  head.append(el("time", "msg-time", time(m.ts)));
  body.append(head);
  const content = el("div", "msg-content");
  const ctx = {
    ...markupContext(),
    surface: "message",
    onAction: (blockId, element, selection) =>
      api("action", {
        channel: channelId,
        ts: m.ts,
        block_id: blockId,
        action_id: element.action_id,
        selection,
        values: collectValues(content),
      }),
  };
  if (m.deleted) content.append(el("div", "deleted", "This message was deleted."));
  else if (m.blocks?.length) content.append(renderBlocks(m.blocks, ctx));
  else content.append(renderMrkdwn(m.text, ctx));
  if (m.edited && !m.bot) content.append(el("span", "edited", " (edited)"));
  for (const attachment of m.attachments || []) content.append(renderAttachment(attachment, ctx));
  body.append(content);
  if (m.reactions?.length) {
    body.append(el("div", "reactions", ...m.reactions.map((r) => el("span", "reaction", renderMrkdwn(`:${r.name}: ${r.count}`)))));
  }
  if (!inThread && m.reply_count) {
    const people = el("span", "reply-avatars", ...m.reply_users.map((id) => avatar(user(id))));
    body.append(
      el(
        "div",
        "thread-summary",
        people,
        button(`${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`, "link-button thread-link", () => openThread(channelId, m.ts)),
        m.latest_reply ? el("span", "thread-last", `Last reply ${time(m.latest_reply)}`) : null,
      ),
    );
  }
  node.append(avatar(author), body);
  if (!m.ephemeral && !m.deleted) node.append(messageTools(m, channelId, inThread));
  return node;
}

function renderAttachment(attachment, ctx) {
  const box = el("div", "attachment");
  if (attachment.color) box.style.borderLeftColor = /^#?[0-9a-f]{3,8}$/i.test(attachment.color) ? (attachment.color.startsWith("#") ? attachment.color : "#" + attachment.color) : "";
  if (attachment.pretext) box.append(renderMrkdwn(attachment.pretext, ctx));
  if (attachment.title) box.append(el("div", "attachment-title", String(attachment.title)));
  if (attachment.text) box.append(renderMrkdwn(attachment.text, ctx));
  if (attachment.blocks) box.append(renderBlocks(attachment.blocks, { ...ctx, onAction: undefined }));
  for (const field of attachment.fields || []) box.append(el("div", "attachment-field", el("b", null, String(field.title ?? "")), renderMrkdwn(String(field.value ?? ""), ctx)));
  if (attachment.footer) box.append(el("div", "attachment-footer", String(attachment.footer)));
  return box;
}

function messageTools(m, channelId, inThread) {
  const tools = el("div", "msg-tools");
  if (!inThread) tools.append(button("💬", "tool", () => openThread(channelId, m.thread_ts || m.ts), { title: "Reply in thread", "aria-label": "Reply in thread" }));
  const shortcuts = (state.info?.app?.shortcuts || []).filter((s) => s.type === "message");
  if (shortcuts.length) {
    const menu = el("div", "tool-menu");
    menu.hidden = true;
    for (const shortcut of shortcuts) {
      menu.append(
        button(shortcut.name, "tool-menu-item", () => {
          menu.hidden = true;
          api("shortcut", { callback_id: shortcut.callback_id, channel: channelId, ts: m.ts });
        }),
      );
    }
    const more = button("⋮", "tool", () => {
      for (const other of document.querySelectorAll(".tool-menu")) if (other !== menu) other.hidden = true;
      menu.hidden = !menu.hidden;
    }, { title: "More actions", "aria-label": "More actions" });
    tools.append(el("div", "tool-wrap", more, menu));
  }
  return tools;
}

// --- the side pane: a thread, or the activity log ---------------------------------------------

function openThread(channelId, ts) {
  state.thread = { channel: channelId, ts };
  state.side = "thread";
  document.getElementById("pane").replaceChildren();
  render();
}

function closeSide() {
  state.side = null;
  state.thread = null;
  document.getElementById("pane").replaceChildren();
  document.getElementById("pane").hidden = true;
}

function toggleActivity() {
  if (state.side === "activity") closeSide();
  else {
    state.side = "activity";
    document.getElementById("pane").replaceChildren();
  }
  render();
}

function renderSide() {
  const pane = document.getElementById("pane");
  pane.hidden = !state.side;
  document.getElementById("app").classList.toggle("with-pane", !!state.side);
  if (state.side === "thread") renderThread(pane);
  if (state.side === "activity") renderActivity(pane);
}

function paneHeader(title, subtitle) {
  return el("header", "pane-header", el("div", null, el("h2", null, title), subtitle ? el("div", "pane-subtitle", subtitle) : null), button("×", "pane-close", closeSide, { "aria-label": "Close" }));
}

function renderThread(pane) {
  const { channel: channelId, ts } = state.thread;
  const c = channel(channelId);
  if (!pane.firstChild) {
    const list = el("div", "message-list thread-list");
    const composer = buildComposer({
      placeholder: "Reply…",
      onSend: (text) => api("send", { channel: channelId, text, thread_ts: ts }),
      label: "Reply composer",
    });
    pane.append(paneHeader("Thread", c ? (c.kind === "im" ? appName() : `#${c.name}`) : ""), el("div", "messages thread-messages", list), composer);
    pane.classList.add("thread-pane");
    pane.classList.remove("activity-pane");
  }
  const messages = state.snap.messages[channelId] || [];
  const thread = messages.filter((m) => m.ts === ts || m.thread_ts === ts);
  const scroller = pane.querySelector(".messages");
  stickToBottom(scroller);
  if (reconcile(pane.querySelector(".message-list"), thread, (m) => renderMessage(m, channelId, true))) scroller._stick = true;
  if (scroller._stick) scroller.scrollTop = scroller.scrollHeight;
}

function renderActivity(pane) {
  if (!pane.firstChild) {
    pane.classList.add("activity-pane");
    pane.classList.remove("thread-pane");
    pane.append(
      paneHeader("Activity", "What Slack sent the app, and the Web API calls the app made"),
      el("div", "activity-list"),
    );
  }
  const list = pane.querySelector(".activity-list");
  const items = [...(state.snap.activity || [])].reverse();
  const existing = new Map([...list.children].map((node) => [node.dataset.id, node]));
  const nodes = items.map((item) => existing.get(String(item.id)) || activityRow(item));
  list.replaceChildren(...nodes);
}

function activityRow(item) {
  const arrow = item.direction === "to_app" ? "Slack → app" : "app → Slack";
  const row = el("div", "activity-row" + (item.ok ? "" : " failed"));
  row.dataset.id = String(item.id);
  const detail = el("pre", "activity-body");
  detail.hidden = true;
  const head = button(
    el("span", null, el("span", "activity-arrow", arrow), " ", el("b", null, item.kind), " ", el("span", "activity-detail", item.detail), el("span", "activity-time", new Date(item.at * 1000).toLocaleTimeString())),
    "activity-head",
    async () => {
      if (!detail.hidden) {
        detail.hidden = true;
        return;
      }
      const response = await fetch(`/play/api/activity/${item.id}`);
      const full = await response.json();
      detail.textContent = JSON.stringify(full.body, null, 2);
      detail.hidden = false;
    },
  );
  row.append(head, detail);
  return row;
}

// --- modals -----------------------------------------------------------------------------------

function renderModal() {
  const root = document.getElementById("modal-root");
  const modal = state.snap.modal;
  if (!modal) {
    if (root.firstChild) root.replaceChildren();
    state.modalKey = state.modalId = "";
    return;
  }
  const key = `${modal.id}|${modal.hash}`;
  if (state.modalKey === key) {
    const body = root.querySelector(".modal-body");
    setInputErrors(body, modal.errors);
    setTrouble(root, modal.trouble);
    return;
  }
  // Slack keeps what was typed into the inputs of an updated modal (same block and action ids).
  const kept = state.modalId === modal.id ? collectValues(root, { inputsOnly: true }) : null;
  state.modalKey = key;
  state.modalId = modal.id;
  const view = modal.view;
  const title = el("h2", "modal-title", renderPlain(view.title?.text || ""));
  const ctx = {
    ...markupContext(),
    surface: "modal",
    errors: modal.errors,
    onAction: (blockId, element, selection) =>
      api("action", { view_id: modal.id, block_id: blockId, action_id: element.action_id, selection, values: collectValues(body) }),
  };
  const body = el("div", "modal-body", el("div", "trouble"), renderBlocks(view.blocks, ctx));
  const close = () => api("close", { view_id: modal.id });
  const footer = el("div", "modal-footer");
  footer.append(button(view.close?.text || "Cancel", "bk-button modal-cancel", close));
  if (view.submit) {
    const submit = button(view.submit.text, "bk-button bk-primary modal-submit", async () => {
      const errors = clientErrors(body);
      if (Object.keys(errors).length) {
        setInputErrors(body, errors);
        return;
      }
      submit.disabled = true;
      submit.classList.add("is-busy");
      try {
        await api("submit", { view_id: modal.id, values: collectValues(body) });
      } finally {
        submit.disabled = false;
        submit.classList.remove("is-busy");
      }
    });
    footer.append(submit);
  }
  const dialog = el(
    "div",
    "dialog modal",
    el("header", "modal-header", el("span", "modal-app", "📖"), title, button("×", "modal-x", close, { "aria-label": "Close" })),
    body,
    footer,
  );
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-modal", "true");
  dialog.setAttribute("aria-label", view.title?.text || "Modal");
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  if (kept) applyValues(body, kept);
  setTrouble(dialog, modal.trouble);
  root.replaceChildren(el("div", "overlay", dialog));
  (dialog.querySelector("input:not([type=checkbox]):not([type=radio]), textarea, select") || dialog.querySelector(".modal-submit"))?.focus();
}

function setTrouble(root, trouble) {
  const node = root.querySelector(".trouble");
  if (!node) return;
  node.textContent = trouble || "";
  node.hidden = !trouble;
}

// --- App Home ---------------------------------------------------------------------------------

function buildHome() {
  const body = el("div", "home-body", el("div", "home-waiting", `Opening ${appName()}'s Home…`));
  return el("section", "conversation home", appHeader("home"), body);
}

function updateHome() {
  const body = document.querySelector(".home-body");
  if (!body) return;
  const home = state.snap.home;
  if (!home) return;
  const key = `${home.id}|${home.hash}`;
  if (state.homeKey === key) return;
  state.homeKey = key;
  const ctx = {
    ...markupContext(),
    surface: "home",
    onAction: (blockId, element, selection) =>
      api("action", { view_id: home.id, block_id: blockId, action_id: element.action_id, selection, values: collectValues(body) }),
  };
  body.replaceChildren(renderBlocks(home.view.blocks, ctx));
}

// --- preview a term ---------------------------------------------------------------------------

function buildPreview() {
  const picker = el("select", "preview-picker");
  picker.setAttribute("aria-label", "Term file");
  picker.append(Object.assign(el("option", null, "Pick a term file from the glossary…"), { value: "" }));
  const filename = el("input", "preview-filename");
  filename.placeholder = "file name (optional), e.g. my-term.yml";
  filename.setAttribute("aria-label", "File name");
  const source = el("textarea", "preview-source");
  source.placeholder = "…or paste a term file's YAML here";
  source.setAttribute("aria-label", "Term YAML");
  source.spellcheck = false;
  const results = el("div", "preview-results");
  const show = (answer) => drawPreview(results, answer);
  picker.addEventListener("change", async () => {
    if (!picker.value) return;
    const answer = await api("preview", { slug: picker.value });
    if (answer.ok) {
      source.value = answer.source;
      filename.value = answer.slug + ".yml";
      show(answer);
    }
  });
  const run = button("Preview", "bk-button bk-primary preview-run", async () => {
    const answer = await api("preview", { yaml: source.value, filename: filename.value });
    if (answer.ok) show(answer);
  });
  fetch("/play/api/terms")
    .then((r) => r.json())
    .then((answer) => {
      for (const file of answer.files || []) {
        const option = el("option", null, file.broken ? `${file.term} (does not load)` : file.term);
        option.value = file.slug;
        picker.append(option);
      }
    });
  return el(
    "section",
    "preview",
    el("header", "conversation-header", el("div", "title-row", el("h1", "conversation-title", "Preview a term")), el("div", "conversation-topic", "See a term file as the Slack answer for every role, checked as `python -m bot validate` checks it. Nothing is saved.")),
    el("div", "preview-layout", el("div", "preview-editor", picker, filename, source, run), results),
  );
}

function drawPreview(results, answer) {
  const problems = el("div", "preview-problems");
  if (answer.problems.length) {
    problems.append(el("h3", null, `${answer.problems.length} problem${answer.problems.length === 1 ? "" : "s"}`));
    for (const p of answer.problems) {
      problems.append(el("div", `problem problem-${p.severity}`, el("code", "problem-where", p.where), " ", el("span", "problem-severity", p.severity), ": ", p.message));
    }
  } else {
    problems.append(el("div", "problem-none", `✓ ${answer.path}: no problems found`));
  }
  const answers = el("div", "preview-answers");
  if (!answer.answers.length) answers.append(el("p", "preview-none", "The term cannot be built, so there is no answer to show. Fix the errors above."));
  const tabs = el("div", "preview-tabs");
  for (const a of answer.answers) {
    const card = el("div", "preview-card");
    card.dataset.role = a.role || "none";
    const message = el(
      "article",
      "msg msg-ephemeral",
      el("div", "avatar avatar-app", "📖"),
      el(
        "div",
        "msg-body",
        el("div", "ephemeral-label", el("span", "eye", "👁"), " Only visible to you"),
        el("div", "msg-head", el("span", "msg-author", appName()), el("span", "app-badge", "APP")),
        el("div", "msg-content", renderBlocks(a.message.blocks, { ...markupContext(), surface: "preview" })),
      ),
    );
    const warnings = a.limits.length ? el("div", "problem problem-error", "Slack would refuse this message: " + a.limits.join("; ")) : null;
    card.append(...[el("h3", "preview-role", a.title), warnings, message].filter(Boolean));
    answers.append(card);
    tabs.append(button(a.title, "chip chip-plain", () => card.scrollIntoView({ behavior: "smooth", block: "start" })));
  }
  results.replaceChildren(...[problems, answer.answers.length ? tabs : null, answers].filter(Boolean));
}

// --- start ------------------------------------------------------------------------------------

async function boot() {
  const response = await fetch("/play/api/info");
  state.info = await response.json();
  document.getElementById("workspace-name").textContent = state.info.workspace.name;
  const select = document.getElementById("acting-as");
  select.addEventListener("change", () => {
    const wasDm = channel(state.route)?.kind === "im";
    state.me = select.value;
    localStorage.setItem("playground.me", state.me);
    state.snap = null;
    state.openedHomeFor = "";
    state.mainKey = state.modalKey = state.modalId = "";
    closeSide();
    if (wasDm) location.hash = "dm";
    startPolling();
  });
  document.getElementById("reset").addEventListener("click", async () => {
    if (confirm("Clear every message, modal and Home tab? (The bot's database is kept.)")) await api("reset", {});
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".tool-wrap")) for (const menu of document.querySelectorAll(".tool-menu")) menu.hidden = true;
  });
  window.addEventListener("hashchange", onRoute);
  startPolling();
}

boot();
