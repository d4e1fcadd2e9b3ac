// One post and its replies (#/works/<workId>/board/<postId>): title, author, time, who reads it,
// the text with safe links, files (shown in the archive's viewers, thumbnails, download),
// replies one level deep with the new ones marked (seed 001 別表1-1 2(1)-(5)), a reply form with
// files, and for the author: edit, delete and the history of earlier versions. Opening the post
// marks it read. Outside the scope the API answers 404 and the page says it was not found.
import { api } from "../api.js";
import { fmtDateTime, t } from "../i18n.js";
import { badge, busy, clear, confirmDialog, errorBox, h, toast } from "../ui.js";
import { boardHref, byline, ensureBoardStyles, fileList, importanceBadge, linkify, postHref, scopeLabel } from "../components/board-ui.js";
import { composeForm } from "../components/compose.js";
import { openViewer } from "../components/viewers.js";
import { ensureArchiveStyles } from "../components/styles.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams & { id: string, postId: string }} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  ensureBoardStyles();
  ensureArchiveStyles();
  const workId = params.id;
  const postId = params.postId;
  const me = ctx.session ? ctx.session.user.id : "";
  /** @type {Kura.Thread} */
  const thread = await api.get(`/posts/${encodeURIComponent(postId)}`);
  const { post, work } = thread;
  if (post.work_id !== workId) {
    ctx.navigate(postHref(post.work_id, post.id), { replace: true });
    return undefined;
  }
  ctx.setTitle(post.title);
  /** @type {{ destroy(): void } | null} */
  let viewer = null;
  const viewerPane = h("div", { class: "post-viewer", hidden: true, "data-testid": "post-viewer" });
  /** @param {Kura.AttachmentBrief} file */
  const view = (file) => {
    if (viewer) viewer.destroy();
    viewerPane.hidden = false;
    viewer = openViewer(viewerPane, file.id, {
      source: "attachments",
      onClose: () => {
        if (viewer) viewer.destroy();
        viewer = null;
        viewerPane.hidden = true;
        clear(viewerPane);
      },
    });
    viewerPane.scrollIntoView({ block: "nearest" });
  };

  const article = h("article", { class: "card post", "data-testid": "post", "data-id": post.id });
  const actions = h("div", { class: "page-actions" });
  const history = h("div", { "data-testid": "post-history" });

  function drawPost() {
    clear(article);
    article.append(
      h("header", { class: "post-head" }, h("div", { class: "post-title-row" }, h("h1", { tabindex: "-1", "data-testid": "post-title" }, post.title), importanceBadge(post.importance)), actions),
      h(
        "p",
        { class: "post-meta small", "data-testid": "post-meta" },
        byline(post),
        post.edited_at ? h("span", {}, `・${t("board.edited_at", { at: fmtDateTime(post.edited_at) })}`) : null,
      ),
      h("p", { class: "post-scope small", "data-testid": "post-scope" }, h("span", { class: "label" }, `${t("board.f.scope")}: `), scopeLabel(post.scope)),
      h("div", { class: "post-body", "data-testid": "post-body" }, linkify(post.body)),
      fileList(thread.attachments, { onView: view }) || "",
      viewerPane,
      history,
    );
  }

  clear(actions);
  if (thread.can_edit) {
    const edit = h("button", { type: "button", class: "btn", "data-testid": "post-edit" }, t("common.edit"));
    const del = h("button", { type: "button", class: "btn danger", "data-testid": "post-delete" }, t("common.delete"));
    edit.addEventListener("click", async () => {
      /** @type {Kura.Audience} */
      const audience = await api.get(`/works/${encodeURIComponent(workId)}/posts/audience`);
      const form = composeForm({
        mode: "edit",
        workId,
        audience,
        post,
        files: thread.attachments,
        me,
        onSaved: () => {
          toast(t("common.saved"), "ok");
          window.dispatchEvent(new HashChangeEvent("hashchange"));
        },
        onCancel: () => drawPost(),
      });
      clear(article).append(h("h2", {}, t("board.edit_post")), form);
    });
    del.addEventListener("click", async () => {
      if (!(await confirmDialog(t("board.delete_confirm"), { danger: true, okLabel: t("common.delete") }))) return;
      await busy(del, async () => {
        await api.del(`/posts/${encodeURIComponent(post.id)}`, { version: post.version });
        toast(t("common.deleted"), "ok");
        ctx.navigate(boardHref(workId));
      });
    });
    actions.append(edit, del);
  }
  if (post.revision > 0) {
    const toggle = h("button", { type: "button", class: "btn", "aria-expanded": "false", "data-testid": "post-history-toggle" }, t("board.history"));
    toggle.addEventListener("click", async () => {
      if (history.firstChild) {
        clear(history);
        toggle.setAttribute("aria-expanded", "false");
        return;
      }
      toggle.setAttribute("aria-expanded", "true");
      /** @type {Kura.Revision[]} */
      const revs = await api.get(`/posts/${encodeURIComponent(post.id)}/revisions`);
      history.append(
        h("h2", {}, t("board.history")),
        h(
          "ol",
          { class: "post-history" },
          revs.map((r) => h("li", {}, h("p", { class: "small muted" }, t("board.rev_line", { n: r.rev, at: fmtDateTime(r.superseded_at), who: r.superseded_by_name })), h("p", {}, h("strong", {}, r.title || "")), h("div", { class: "post-body" }, linkify(r.body)), fileList(r.attachments))),
        ),
      );
    });
    actions.append(toggle);
  }
  if (post.bulk_id && post.mine) actions.append(h("a", { class: "btn", href: `#/board?bulk=${encodeURIComponent(post.bulk_id)}` }, t("board.bulk_manage")));
  drawPost();

  // -- replies -------------------------------------------------------------------------------
  const replies = h("ol", { class: "replies", "data-testid": "replies" });
  /** @param {Kura.Reply} r */
  const reply = (r) => {
    const li = h("li", { class: `reply${r.new ? " new" : ""}`, "data-testid": "reply", "data-id": r.id });
    const draw = () => {
      clear(li);
      if (r.state !== "active") {
        li.append(h("p", { class: "muted small" }, t("board.reply_deleted", { who: r.author_name })));
        return;
      }
      const tools = h("span", { class: "reply-tools" });
      if (r.mine && thread.can_reply) {
        const edit = h("button", { type: "button", class: "btn small", "data-testid": "reply-edit" }, t("common.edit"));
        const del = h("button", { type: "button", class: "btn small danger", "data-testid": "reply-delete" }, t("common.delete"));
        edit.addEventListener("click", () => {
          const area = h("textarea", { rows: "4", maxlength: "20000", "aria-label": t("board.f.reply") }, r.body);
          const save = h("button", { type: "button", class: "btn small primary" }, t("common.save"));
          save.addEventListener("click", () =>
            busy(save, async () => {
              try {
                const saved = await api.patch(`/posts/${encodeURIComponent(post.id)}/replies/${encodeURIComponent(r.id)}`, { version: r.version, body: area.value });
                Object.assign(r, { body: saved.body, version: saved.version, edited_at: saved.edited_at });
                draw();
              } catch (err) {
                li.append(errorBox(err));
              }
            }),
          );
          clear(li).append(area, h("div", { class: "form-actions" }, save, h("button", { type: "button", class: "btn small", onclick: draw }, t("common.cancel"))));
          area.focus();
        });
        del.addEventListener("click", async () => {
          if (!(await confirmDialog(t("board.reply_delete_confirm"), { danger: true, okLabel: t("common.delete") }))) return;
          await busy(del, async () => {
            await api.del(`/posts/${encodeURIComponent(post.id)}/replies/${encodeURIComponent(r.id)}`, { version: r.version });
            r.state = "deleted";
            draw();
          });
        });
        tools.append(edit, del);
      }
      li.append(
        h("div", { class: "reply-head small" }, r.new ? badge(t("board.new"), "info") : null, h("span", {}, byline(r)), r.edited_at ? h("span", { class: "muted" }, `・${t("board.edited")}`) : null, tools),
        h("div", { class: "post-body" }, linkify(r.body)),
        fileList(r.attachments, { onView: view }) || "",
      );
    };
    draw();
    return li;
  };
  replies.append(...thread.replies.map(reply));
  const count = h("span", {}, ` (${thread.replies.filter((r) => r.state === "active").length})`);
  const replySection = h("section", { class: "card", "aria-labelledby": "replies-h" }, h("h2", { id: "replies-h" }, t("board.replies"), count), thread.replies.length ? replies : h("p", { class: "empty", "data-testid": "replies-empty" }, t("board.no_replies")));
  if (thread.can_reply) {
    /** @type {HTMLFormElement} */
    let form;
    const fresh = () =>
      composeForm({
        mode: "reply",
        workId,
        postId: post.id,
        me,
        onSaved: (/** @type {Kura.Reply} */ saved) => {
          toast(t("board.replied"), "ok");
          const empties = replySection.querySelector("[data-testid=replies-empty]");
          if (empties) empties.replaceWith(replies);
          replies.append(reply(saved));
          count.textContent = ` (${replies.querySelectorAll("[data-testid=reply]").length})`;
          const next = fresh();
          form.replaceWith(next);
          form = next;
        },
      });
    form = fresh();
    replySection.append(h("h3", {}, t("board.reply_to")), form);
  }

  root.append(
    h("nav", { class: "breadcrumb", "aria-label": t("board.breadcrumb") }, h("a", { href: `#/works/${encodeURIComponent(workId)}` }, work.title), " › ", h("a", { href: boardHref(workId), "data-testid": "post-back" }, t("board.title")), " › ", h("span", {}, post.title)),
    article,
    replySection,
  );
  if (post.unread) {
    try {
      await api.post(`/posts/${encodeURIComponent(post.id)}/read`);
    } catch {
      /* the page stands; the mark comes with the next visit */
    }
  }
  return () => {
    if (viewer) viewer.destroy();
  };
}
