// board-ui.js: pieces the bulletin board pages share (board.js, post.js, home.js, boards.js,
// groups.js): the stylesheet, post text with safe links, scope labels, badges, file lists.
//
//   linkify("見てください https://example.jp/a")  → DocumentFragment: text + <a rel=noopener>
//   scopeLabel(post.scope)                         → "発注者・受注者のメンバー全員" …
//   fileList(files, { onView })                    → <ul> of attachments (thumbnail, open, save)
// Text from the API is only ever put into text nodes; a link is made only of an http(s) URL
// the browser parses, so a post can carry no markup and no javascript: link.

import { apiUrl } from "../api.js";
import { fmtBytes, fmtDateTime, t } from "../i18n.js";
import { badge, h } from "../ui.js";

/** The board pages' stylesheet (css/board.css), linked once. */
export function ensureBoardStyles() {
  if (document.getElementById("board-css")) return;
  const link = document.createElement("link");
  link.id = "board-css";
  link.rel = "stylesheet";
  link.href = "css/board.css";
  document.head.append(link);
}

// A URL runs until white space, a quote, an angle bracket or a full-width bracket/punctuation.
const URL_RE = /https?:\/\/[^\s<>"'`「」『』（）【】、。]+/g;

/**
 * Plain text with its http(s) URLs as links (opened in a new tab, no referrer); everything else
 * stays text. Trailing ASCII punctuation is left out of a link.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const m of String(text || "").matchAll(URL_RE)) {
    let raw = m[0];
    const trail = raw.match(/[).,;:!?]+$/);
    if (trail) raw = raw.slice(0, -trail[0].length);
    const start = m.index ?? 0;
    frag.append(document.createTextNode(text.slice(at, start)));
    /** @type {URL | null} */
    let url;
    try {
      url = new URL(raw);
    } catch {
      url = null;
    }
    if (url && (url.protocol === "http:" || url.protocol === "https:")) {
      frag.append(h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow", class: "post-link" }, raw));
    } else frag.append(document.createTextNode(raw));
    at = start + raw.length;
  }
  frag.append(document.createTextNode(String(text || "").slice(at)));
  return frag;
}

/**
 * Who reads a post, in words.
 * @param {Kura.Scope} scope
 * @returns {string}
 */
export function scopeLabel(scope) {
  if (scope.kind === "members") return t("board.scope.members_all");
  if (scope.kind === "roles") return t("board.scope.roles_of", { roles: scope.roles.map((r) => t(`role.${r}`)).join("・") });
  const names = scope.users.map((u) => u.name).filter(Boolean);
  const shown = names.slice(0, 3).join("、") + (names.length > 3 ? t("board.scope.and_more", { n: names.length - 3 }) : "");
  if (scope.kind === "group") return t("board.scope.group_of", { name: scope.group_name || "", people: shown });
  return t("board.scope.users_of", { people: shown });
}

/**
 * The unread state of a post as a badge (null when read).
 * @param {{ unread?: boolean, new_post: boolean, new_replies: number }} p
 * @returns {HTMLSpanElement | null}
 */
export function unreadBadge(p) {
  if (p.unread === false) return null;
  if (p.new_post) return badge(t("board.new"), "info", { "data-testid": "unread-badge" });
  if (p.new_replies) return badge(t("board.new_replies", { n: p.new_replies }), "info", { "data-testid": "unread-badge" });
  return null;
}

/**
 * @param {string} importance
 * @returns {HTMLSpanElement | null}
 */
export function importanceBadge(importance) {
  return importance === "important" ? badge(t("board.important"), "err") : null;
}

/**
 * "春日 太郎（春日建設株式会社）・2026/06/01 09:00".
 * @param {{ author_name: string, author_org_name?: string, created_at: string }} p
 * @returns {string}
 */
export function byline(p) {
  const who = p.author_org_name ? `${p.author_name}（${p.author_org_name}）` : p.author_name;
  return `${who}・${fmtDateTime(p.created_at)}`;
}

const IMAGE = /\.(jpe?g|png|gif|webp|bmp)$/i;

/**
 * Files of a post or reply: image thumbnails, the name opening the file in the viewer
 * (`onView`), its size, and a download link.
 * @param {Kura.AttachmentBrief[]} files
 * @param {{ onView?: (file: Kura.AttachmentBrief) => void }} [options]
 * @returns {HTMLUListElement | null}
 */
export function fileList(files, { onView } = {}) {
  if (!files.length) return null;
  return h(
    "ul",
    { class: "post-files", "data-testid": "post-files" },
    files.map((f) => {
      const image = IMAGE.test(f.name) || String(f.content_type).startsWith("image/");
      const thumb = image && f.ingest_state === "done" ? h("img", { class: "post-thumb", src: apiUrl(`/attachments/${encodeURIComponent(f.id)}/thumbnail`), alt: "", loading: "lazy", width: "64", height: "48" }) : h("span", { class: "post-file-icon", "aria-hidden": "true" }, "📎");
      const open = onView
        ? h("button", { type: "button", class: "btn link post-file-name", "data-testid": "post-file-open", "data-id": f.id, onclick: () => onView(f) }, f.name)
        : h("a", { href: apiUrl(`/attachments/${encodeURIComponent(f.id)}/content`, { disposition: "inline" }), target: "_blank", rel: "noopener" }, f.name);
      return h(
        "li",
        { class: "post-file", "data-testid": "post-file", "data-name": f.name },
        thumb,
        open,
        h("span", { class: "muted small" }, fmtBytes(f.size)),
        h("a", { class: "btn small", href: apiUrl(`/attachments/${encodeURIComponent(f.id)}/content`), download: f.name, "aria-label": t("board.download_named", { name: f.name }) }, t("board.download")),
      );
    }),
  );
}

/**
 * A post's page in the interface.
 * @param {string} workId
 * @param {string} postId
 * @returns {string}
 */
export function postHref(workId, postId) {
  return `#/works/${encodeURIComponent(workId)}/board/${encodeURIComponent(postId)}`;
}

/**
 * A work's board in the interface.
 * @param {string} workId
 * @returns {string}
 */
export function boardHref(workId) {
  return `#/works/${encodeURIComponent(workId)}/board`;
}
