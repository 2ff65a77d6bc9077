// Block Kit, drawn as DOM nodes: blocks, elements and text objects as Slack lays them out.
//
// renderBlocks(blocks, ctx) returns an element. ctx:
//   surface    "message" | "modal" | "home" | "preview"
//   onAction   async (blockId, element, selection) => void; absent: elements are inert
//   errors     {block_id: message} shown under input blocks (modals)
//   users, channels, onChannel, onPermalink, isWorkspaceUrl   (for mrkdwn, see mrkdwn.js)
// collectValues(root) reads what was typed and chosen, as {block_id: {action_id: raw}}, where
// raw is a string, a list of strings, or "" for nothing; applyValues puts such values back.

import { renderMrkdwn, renderPlain } from "./mrkdwn.js";

function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) if (child != null) node.append(child);
  return node;
}

export function renderText(obj, ctx, className = "bk-text") {
  if (!obj || typeof obj !== "object") return el("span", className);
  if (obj.type === "mrkdwn") {
    const node = renderMrkdwn(obj.text, ctx);
    node.classList.add(className);
    return node;
  }
  return el("span", className + " plain", renderPlain(obj.text, obj.emoji !== false));
}

function plainString(obj) {
  return obj && typeof obj === "object" ? String(obj.text ?? "") : "";
}

const SAFE_URL = /^(https?:|mailto:)/i;

export function renderBlocks(blocks, ctx) {
  const root = el("div", `bk bk-${ctx.surface || "message"}`);
  for (const block of Array.isArray(blocks) ? blocks : []) {
    if (!block || typeof block !== "object") continue;
    const node = renderBlock(block, ctx);
    node.dataset.blockType = String(block.type ?? "");
    if (block.block_id != null) node.dataset.blockId = String(block.block_id);
    root.append(node);
  }
  return root;
}

function renderBlock(block, ctx) {
  const blockId = String(block.block_id ?? "");
  switch (block.type) {
    case "header":
      return el("div", "bk-header", renderPlain(plainString(block.text), block.text?.emoji !== false));
    case "section": {
      const body = el("div", "bk-section-body");
      if (block.text) body.append(renderText(block.text, ctx));
      if (Array.isArray(block.fields) && block.fields.length) {
        const fields = el("div", "bk-fields");
        for (const field of block.fields) fields.append(renderText(field, ctx, "bk-field"));
        body.append(fields);
      }
      const section = el("div", "bk-section", body);
      if (block.accessory) section.append(el("div", "bk-accessory", renderElement(block.accessory, ctx, blockId, "section")));
      return section;
    }
    case "context": {
      const context = el("div", "bk-context");
      for (const item of block.elements || []) {
        if (item?.type === "image") context.append(imagePlaceholder(item, "bk-context-image"));
        else context.append(renderText(item, ctx, "bk-context-text"));
      }
      return context;
    }
    case "divider":
      return el("hr", "bk-divider");
    case "actions": {
      const actions = el("div", "bk-actions");
      for (const item of block.elements || []) actions.append(renderElement(item, ctx, blockId, "actions"));
      return actions;
    }
    case "input":
      return renderInput(block, ctx, blockId);
    case "image": {
      const figure = el("figure", "bk-image-block");
      if (block.title) figure.append(el("figcaption", "bk-image-title", renderPlain(plainString(block.title))));
      figure.append(imagePlaceholder(block, "bk-image-frame"));
      return figure;
    }
    case "rich_text":
      return renderRichText(block, ctx);
    default:
      return el("div", "bk-unsupported", `Block type “${String(block.type)}” is not drawn by the playground`);
  }
}

function imagePlaceholder(image, className) {
  // Images are not fetched (the page loads nothing from elsewhere): show what they are.
  const box = el("span", className, "🖼 ", String(image.alt_text || "image"));
  const url = String(image.image_url || "");
  if (SAFE_URL.test(url)) box.title = url;
  return box;
}

function renderInput(block, ctx, blockId) {
  const wrapper = el("div", "bk-input");
  const label = el("label", "bk-label", renderPlain(plainString(block.label), block.label?.emoji !== false));
  if (block.optional) label.append(el("span", "bk-optional", " (optional)"));
  wrapper.append(label);
  const control = renderElement(block.element || {}, ctx, blockId, "input", block);
  wrapper.append(control);
  const input = control.querySelector("input, textarea, select");
  if (input) {
    const id = `in-${blockId}-${block.element?.action_id ?? ""}`.replace(/[^A-Za-z0-9_-]/g, "_");
    input.id = id;
    label.htmlFor = id;
  }
  if (block.hint) wrapper.append(el("div", "bk-hint", renderPlain(plainString(block.hint))));
  const error = el("div", "bk-error");
  error.setAttribute("role", "alert");
  const message = ctx.errors?.[blockId];
  if (message) {
    error.textContent = message;
    wrapper.classList.add("has-error");
  }
  wrapper.append(error);
  if (!block.optional) wrapper.dataset.required = "true";
  return wrapper;
}

export function setInputErrors(root, errors) {
  for (const wrapper of root.querySelectorAll(".bk-input")) {
    const blockId = wrapper.closest("[data-block-id]")?.dataset.blockId ?? "";
    const message = errors?.[blockId] || "";
    wrapper.querySelector(".bk-error").textContent = message;
    wrapper.classList.toggle("has-error", !!message);
  }
}

function stateful(node, element, blockId) {
  node.classList.add("bk-stateful");
  node.dataset.block = blockId;
  node.dataset.action = String(element.action_id ?? "");
  node.dataset.kind = String(element.type ?? "");
  return node;
}

function sends(ctx, where, element, block) {
  // Elements in messages, App Home and actions blocks report each choice at once; inputs in
  // a modal wait for submit unless they ask to dispatch.
  if (!ctx.onAction) return false;
  if (where !== "input") return true;
  return !!(element.dispatch_action || block?.dispatch_action);
}

function renderElement(element, ctx, blockId, where, block) {
  if (!element || typeof element !== "object") return el("span");
  switch (element.type) {
    case "button":
      return renderButton(element, ctx, blockId);
    case "static_select":
    case "external_select":
    case "users_select":
    case "conversations_select":
    case "channels_select":
      return renderSelect(element, ctx, blockId, where, block, false);
    case "multi_static_select":
    case "multi_external_select":
    case "multi_users_select":
    case "multi_conversations_select":
    case "multi_channels_select":
      return renderSelect(element, ctx, blockId, where, block, true);
    case "overflow":
      return renderOverflow(element, ctx, blockId);
    case "checkboxes":
    case "radio_buttons":
      return renderChoices(element, ctx, blockId, where, block);
    case "plain_text_input":
    case "number_input":
    case "email_text_input":
    case "url_text_input":
      return renderTextInput(element, ctx, blockId, where, block);
    case "datepicker":
    case "timepicker": {
      const input = el("input", "bk-date");
      input.type = element.type === "datepicker" ? "date" : "time";
      input.value = element.initial_date || element.initial_time || "";
      const node = stateful(el("span", "bk-control", input), element, blockId);
      if (sends(ctx, where, element, block)) {
        input.addEventListener("change", () => ctx.onAction(blockId, element, input.value, input));
      }
      return node;
    }
    case "image":
      return imagePlaceholder(element, "bk-accessory-image");
    default:
      return el("span", "bk-unsupported", `Element “${String(element.type)}” is not drawn`);
  }
}

function renderButton(element, ctx, blockId) {
  const style = element.style === "primary" || element.style === "danger" ? ` bk-${element.style}` : "";
  const button = el("button", "bk-button" + style, renderPlain(plainString(element.text), element.text?.emoji !== false));
  button.type = "button";
  if (element.accessibility_label) button.setAttribute("aria-label", element.accessibility_label);
  if (!ctx.onAction) {
    button.title = "Buttons do nothing in a preview";
  }
  button.addEventListener("click", async () => {
    if (element.url && SAFE_URL.test(element.url)) window.open(element.url, "_blank", "noopener,noreferrer");
    if (!ctx.onAction) return;
    if (element.confirm && !(await confirmDialog(element.confirm, ctx))) return;
    button.disabled = true;
    button.classList.add("is-busy");
    try {
      await ctx.onAction(blockId, element, null, button);
    } finally {
      button.disabled = false;
      button.classList.remove("is-busy");
    }
  });
  return button;
}

function optionList(element, ctx) {
  // [{label, value, group?}] for any kind of select
  const out = [];
  const add = (option, group) => {
    if (option && typeof option === "object") out.push({ label: plainString(option.text), value: String(option.value ?? ""), group, option });
  };
  if (element.type.includes("users")) {
    for (const user of Object.values(ctx.users || {})) if (!user.is_bot) out.push({ label: user.real_name, value: user.id });
  } else if (element.type.includes("conversations") || element.type.includes("channels")) {
    for (const channel of Object.values(ctx.channels || {})) out.push({ label: channel.kind === "im" ? channel.name : "#" + channel.name, value: channel.id });
  } else {
    for (const option of element.options || []) add(option);
    for (const group of element.option_groups || []) for (const option of group.options || []) add(option, plainString(group.label));
  }
  return out;
}

function initialSelection(element) {
  const one = element.initial_option?.value ?? element.initial_user ?? element.initial_conversation ?? element.initial_channel;
  if (one != null) return [String(one)];
  const many = element.initial_options?.map((o) => o.value) ?? element.initial_users ?? element.initial_conversations ?? element.initial_channels;
  return Array.isArray(many) ? many.map(String) : [];
}

function renderSelect(element, ctx, blockId, where, block, multiple) {
  const select = el("select", multiple ? "bk-select bk-multi" : "bk-select");
  select.multiple = multiple;
  const placeholder = plainString(element.placeholder) || (multiple ? "Select items" : "Select an item");
  if (where !== "input") select.setAttribute("aria-label", placeholder); // inputs have a <label>
  const chosen = new Set(initialSelection(element));
  if (!multiple) {
    const empty = el("option", null, placeholder);
    empty.value = "";
    // Only an optional input can go back to "nothing chosen".
    empty.disabled = !(where === "input" && block?.optional);
    empty.selected = chosen.size === 0;
    select.append(empty);
  }
  const groups = new Map();
  for (const item of optionList(element, ctx)) {
    const option = el("option", null, item.label);
    option.value = item.value;
    option.selected = chosen.has(item.value);
    let parent = select;
    if (item.group) {
      if (!groups.has(item.group)) {
        const optgroup = el("optgroup");
        optgroup.label = item.group;
        groups.set(item.group, optgroup);
        select.append(optgroup);
      }
      parent = groups.get(item.group);
    }
    parent.append(option);
  }
  if (multiple) select.size = Math.min(Math.max(select.options.length, 2), 8);
  const node = stateful(el("span", "bk-control", select), element, blockId);
  if (sends(ctx, where, element, block)) {
    select.addEventListener("change", async () => {
      const selection = multiple ? Array.from(select.selectedOptions, (o) => o.value) : select.value;
      select.disabled = true;
      try {
        await ctx.onAction(blockId, element, selection, select);
      } finally {
        select.disabled = false;
      }
    });
  }
  return node;
}

function renderOverflow(element, ctx, blockId) {
  const select = el("select", "bk-overflow");
  select.setAttribute("aria-label", "More options");
  const head = el("option", null, "⋯");
  head.value = "";
  select.append(head);
  for (const item of optionList(element, ctx)) {
    const option = el("option", null, item.label);
    option.value = item.value;
    select.append(option);
  }
  if (ctx.onAction) {
    select.addEventListener("change", async () => {
      const value = select.value;
      select.value = "";
      const option = (element.options || []).find((o) => String(o.value) === value);
      if (option?.url && SAFE_URL.test(option.url)) window.open(option.url, "_blank", "noopener,noreferrer");
      await ctx.onAction(blockId, element, value, select);
    });
  }
  return el("span", "bk-control", select);
}

function renderChoices(element, ctx, blockId, where, block) {
  const radio = element.type === "radio_buttons";
  const group = el("div", "bk-choices");
  group.setAttribute("role", radio ? "radiogroup" : "group");
  const chosen = new Set(initialSelection(element));
  const name = `${blockId}-${element.action_id}-${Math.random().toString(36).slice(2)}`;
  for (const option of element.options || []) {
    const input = el("input");
    input.type = radio ? "radio" : "checkbox";
    input.name = name;
    input.value = String(option.value ?? "");
    input.checked = chosen.has(input.value);
    const text = el("span", "bk-choice-text", renderText(option.text, ctx, "bk-choice-label"));
    if (option.description) text.append(renderText(option.description, ctx, "bk-choice-description"));
    group.append(el("label", "bk-choice", input, text));
  }
  const node = stateful(el("div", "bk-control", group), element, blockId);
  if (sends(ctx, where, element, block)) {
    group.addEventListener("change", () => {
      const picked = Array.from(group.querySelectorAll("input:checked"), (i) => i.value);
      ctx.onAction(blockId, element, radio ? picked[0] ?? "" : picked, group);
    });
  }
  return node;
}

function renderTextInput(element, ctx, blockId, where, block) {
  const multiline = element.type === "plain_text_input" && element.multiline;
  const input = multiline ? el("textarea", "bk-textarea") : el("input", "bk-textinput");
  if (!multiline) input.type = { number_input: "number", email_text_input: "email", url_text_input: "url" }[element.type] || "text";
  if (element.max_length) input.maxLength = Number(element.max_length);
  if (element.min_length) input.dataset.minLength = String(element.min_length);
  if (element.placeholder) input.placeholder = plainString(element.placeholder);
  input.value = String(element.initial_value ?? "");
  if (multiline) input.rows = 4;
  const node = stateful(el("span", "bk-control bk-control-wide", input), element, blockId);
  if (sends(ctx, where, element, block)) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !multiline) {
        event.preventDefault();
        ctx.onAction(blockId, element, input.value, input);
      }
    });
  }
  return node;
}

// --- reading and restoring what was typed --------------------------------------------------

function readControl(node) {
  const kind = node.dataset.kind;
  if (kind === "checkboxes") return Array.from(node.querySelectorAll("input:checked"), (i) => i.value);
  if (kind === "radio_buttons") return node.querySelector("input:checked")?.value ?? "";
  const select = node.querySelector("select");
  if (select) return select.multiple ? Array.from(select.selectedOptions, (o) => o.value) : select.value;
  const input = node.querySelector("input, textarea");
  return input ? input.value : "";
}

export function collectValues(root, { inputsOnly = false } = {}) {
  const values = {};
  for (const node of root.querySelectorAll(inputsOnly ? ".bk-input .bk-stateful" : ".bk-stateful")) {
    const block = node.dataset.block;
    values[block] = values[block] || {};
    values[block][node.dataset.action] = readControl(node);
  }
  return values;
}

export function applyValues(root, values) {
  for (const node of root.querySelectorAll(".bk-stateful")) {
    const raw = values?.[node.dataset.block]?.[node.dataset.action];
    if (raw === undefined) continue;
    const wanted = new Set(Array.isArray(raw) ? raw : [raw]);
    for (const input of node.querySelectorAll("input[type=checkbox], input[type=radio]")) input.checked = wanted.has(input.value);
    const select = node.querySelector("select");
    if (select) for (const option of select.options) option.selected = wanted.has(option.value);
    const text = node.querySelector("input:not([type=checkbox]):not([type=radio]), textarea");
    if (text && !Array.isArray(raw)) text.value = raw;
  }
}

// What Slack's client checks before it sends a submission: required fields and min_length.
export function clientErrors(root) {
  const errors = {};
  for (const wrapper of root.querySelectorAll(".bk-input")) {
    const blockId = wrapper.closest("[data-block-id]")?.dataset.blockId ?? "";
    const node = wrapper.querySelector(".bk-stateful");
    if (!node) continue;
    const raw = readControl(node);
    const empty = Array.isArray(raw) ? raw.length === 0 : String(raw).trim() === "";
    if (empty && wrapper.dataset.required === "true") {
      errors[blockId] = "Please complete this required field.";
      continue;
    }
    const min = Number(node.querySelector("[data-min-length]")?.dataset.minLength || 0);
    if (!empty && min && String(raw).length < min) errors[blockId] = `Must be at least ${min} characters.`;
  }
  return errors;
}

// --- confirmation dialogs ---------------------------------------------------------------------

export function confirmDialog(confirm, ctx) {
  return new Promise((resolve) => {
    const overlay = el("div", "overlay confirm-overlay");
    const done = (answer) => {
      overlay.remove();
      resolve(answer);
    };
    const style = confirm.style === "danger" ? " bk-danger" : " bk-primary";
    const yes = el("button", "bk-button" + style, plainString(confirm.confirm) || "Yes");
    const no = el("button", "bk-button", plainString(confirm.deny) || "Cancel");
    yes.type = no.type = "button";
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    const dialog = el(
      "div",
      "dialog confirm-dialog",
      el("div", "dialog-title", plainString(confirm.title) || "Are you sure?"),
      el("div", "dialog-body", renderText(confirm.text, ctx)),
      el("div", "dialog-footer", no, yes),
    );
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    overlay.append(dialog);
    document.body.append(overlay);
    yes.focus();
  });
}

// --- rich_text (what people type, in messages the app may echo) -------------------------------

function renderRichText(block, ctx) {
  const root = el("div", "bk-rich-text mrkdwn");
  for (const part of block.elements || []) root.append(renderRichPart(part, ctx));
  return root;
}

function renderRichPart(part, ctx) {
  switch (part?.type) {
    case "rich_text_section":
      return el("div", "line-group", ...(part.elements || []).map((item) => renderRichInline(item, ctx)));
    case "rich_text_list": {
      const list = el(part.style === "ordered" ? "ol" : "ul", "rich-list");
      for (const item of part.elements || []) list.append(el("li", null, renderRichPart(item, ctx)));
      return list;
    }
    case "rich_text_quote":
      return el("blockquote", "quote", ...(part.elements || []).map((item) => renderRichInline(item, ctx)));
    case "rich_text_preformatted":
      return el("pre", "code-block", ...(part.elements || []).map((item) => String(item.text ?? "")));
    default:
      return el("span");
  }
}

function renderRichInline(item, ctx) {
  let node;
  switch (item?.type) {
    case "text":
      node = document.createTextNode(String(item.text ?? ""));
      break;
    case "link": {
      const url = String(item.url ?? "");
      node = SAFE_URL.test(url) ? el("a", "link", String(item.text || url)) : document.createTextNode(String(item.text || url));
      if (SAFE_URL.test(url)) {
        node.href = url;
        node.target = "_blank";
        node.rel = "noopener noreferrer";
      }
      break;
    }
    case "user":
      node = el("span", "mention", "@" + (ctx.users?.[item.user_id]?.handle || item.user_id));
      break;
    case "channel":
      node = el("span", "mention", "#" + (ctx.channels?.[item.channel_id]?.name || item.channel_id));
      break;
    case "broadcast":
      node = el("span", "mention broadcast", "@" + item.range);
      break;
    case "emoji":
      node = document.createTextNode(item.unicode ? String.fromCodePoint(...item.unicode.split("-").map((h) => parseInt(h, 16))) : `:${item.name}:`);
      break;
    default:
      node = document.createTextNode("");
  }
  const style = item?.style || {};
  for (const [flag, tag] of [["bold", "b"], ["italic", "i"], ["strike", "s"], ["code", "code"]]) {
    if (style[flag]) node = el(tag, flag === "code" ? "inline-code" : null, node);
  }
  return node;
}
