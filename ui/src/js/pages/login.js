// Sign-in page (#/login[?next=<hash>][&bye=1][&expired=1]). Lockout (423) and wrong
// credentials (401) are shown above the form; the typed login ID is kept.
import { api, ApiError } from "../api.js";
import { refreshSession } from "../app.js";
import { t } from "../i18n.js";
import { homeFor, navigate } from "../router.js";
import { busy, control, field, formError, h, showFormErrors } from "../ui.js";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 */
export async function render(root, params) {
  const q = params.query || {};
  const idField = field({ name: "login_id", label: t("login.id"), required: true, testid: "login-id", autocomplete: "username", attrs: { autocapitalize: "off", spellcheck: "false" } });
  const pwField = field({ name: "password", label: t("login.password"), type: "password", required: true, testid: "login-password", autocomplete: "current-password" });
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "login-submit" }, t("login.submit"));
  const errBox = formError();
  errBox.dataset.testid = "login-error";
  const form = h("form", { class: "form", novalidate: true, "aria-labelledby": "login-title" }, errBox, idField, pwField, h("div", { class: "form-actions" }, submit));
  const note = q.bye ? h("div", { class: "notice ok", role: "status" }, t("login.logged_out")) : q.expired ? h("div", { class: "notice warn", role: "status" }, t("login.expired")) : null;
  const policyList = h("ul", {});
  const foot = h("div", { class: "auth-foot" }, h("span", {}, t("login.policy")), policyList);
  foot.hidden = true;
  root.append(h("div", { class: "auth-wrap" }, h("section", { class: "auth-card" }, h("h1", { id: "login-title", tabindex: "-1" }, t("login.title")), h("p", { class: "lead" }, t("login.lead")), note, form, foot)));

  api
    .get("/auth/password-policy", undefined, { quiet401: true })
    .then((p) => {
      if (p && p.lockout) {
        policyList.append(h("li", {}, p.lockout));
        foot.hidden = false;
      }
    })
    .catch(() => {});

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const login_id = control(form, "login_id").value.trim();
    const password = control(form, "password").value;
    const missing = new Map();
    if (!login_id) missing.set("login_id", t("validation.missing"));
    if (!password) missing.set("password", t("validation.missing"));
    if (missing.size) {
      showFormErrors(form, { fields: missing });
      return;
    }
    await busy(submit, async () => {
      submit.textContent = t("login.submitting");
      try {
        await api.post("/auth/login", { login_id, password }, { quiet401: true });
        const me = await refreshSession();
        const next = q.next ? decodeURIComponent(q.next) : "";
        if (me && me.password_change_required) navigate("#/password", { replace: true });
        else navigate(next && next.startsWith("#/") && !next.startsWith("#/login") ? next : homeFor(me), { replace: true });
      } catch (caught) {
        const err = ApiError.from(caught);
        if (err.status === 423) {
          err.detail = err.detail && err.detail !== err.title ? `${t("login.locked")} ${err.detail}` : t("login.locked");
          err.fields = new Map();
        } else if (err.status === 401) {
          err.fields = new Map();
          err.detail = t("login.invalid");
        }
        showFormErrors(form, err);
        errBox.dataset.code = err.code || "";
        control(form, "password").value = "";
        if (err.status === 401 || err.status === 423) control(form, "password").focus();
      } finally {
        submit.textContent = t("login.submit");
      }
    });
  });
  control(form, "login_id").focus();
}
