// Password change (#/password). Forced after the first sign-in or expiry (the shell redirects
// here while /auth/me says password_change_required). The policy rules (GET
// /auth/password-policy) are listed and checked as the user types through
// POST /auth/password-policy/check (debounced); the server decides on submit.
import { api, ApiError } from "../api.js";
import { refreshSession } from "../app.js";
import { t } from "../i18n.js";
import { homeFor, navigate } from "../router.js";
import { busy, control, field, formError, h, setFieldError, showFormErrors, toast } from "../ui.js";

// Reuse of a recent password needs the stored hashes: the server checks it on submit only.
/** @param {string} code */
const LIVE_RULE = (code) => code !== "not_reused";

/**
 * @param {HTMLElement} root
 * @param {Kura.RouteParams} params
 * @param {Kura.PageContext} ctx
 */
export async function render(root, params, ctx) {
  const forced = Boolean(ctx.session && ctx.session.password_change_required);
  /** @type {{ rules: Kura.PolicyRule[], max_age: string }} */
  const policy = await api.get("/auth/password-policy");
  const rules = h("ul", { class: "rules", "data-testid": "password-rules", "aria-live": "polite" }, policy.rules.map((r) => h("li", LIVE_RULE(r.code) ? { "data-rule": r.code } : { class: "info" }, r.description)));
  if (policy.max_age) rules.append(h("li", { class: "info" }, policy.max_age));

  const cur = field({ name: "current_password", label: t("password.current"), type: "password", required: true, testid: "password-current", autocomplete: "current-password" });
  const neu = field({ name: "new_password", label: t("password.new"), type: "password", required: true, testid: "password-new", autocomplete: "new-password" });
  const again = field({ name: "confirm", label: t("password.confirm"), type: "password", required: true, testid: "password-confirm", autocomplete: "new-password" });
  const submit = h("button", { type: "submit", class: "btn primary", "data-testid": "password-submit" }, t("password.submit"));
  const form = h(
    "form",
    { class: "form", novalidate: true },
    formError(),
    cur,
    neu,
    h("p", { class: "hint", id: "rules-title" }, t("password.rules")),
    rules,
    again,
    h("div", { class: "form-actions" }, submit),
  );
  root.append(
    h(
      "div",
      { class: "auth-wrap" },
      h(
        "section",
        { class: "auth-card" },
        h("h1", { tabindex: "-1" }, t("password.title")),
        forced ? h("div", { class: "notice warn", role: "status", "data-testid": "password-forced" }, t("password.forced")) : null,
        form,
      ),
    ),
  );

  const ruleItems = () => [...rules.querySelectorAll("li[data-rule]")].filter((li) => li instanceof HTMLElement);
  /** @type {number | undefined} */
  let timer;
  let seq = 0;
  async function check() {
    const pw = control(form, "new_password").value;
    const mine = (seq += 1);
    if (!pw) {
      ruleItems().forEach((li) => li.classList.remove("ok", "ng"));
      return;
    }
    try {
      /** @type {{ failed: Kura.PolicyRule[] }} */
      const res = await api.post("/auth/password-policy/check", { password: pw });
      if (mine !== seq) return;
      const failed = new Set(res.failed.map((r) => r.code));
      for (const li of ruleItems()) {
        const bad = failed.has(li.dataset.rule ?? "");
        li.classList.toggle("ng", bad);
        li.classList.toggle("ok", !bad);
        li.setAttribute("aria-label", `${li.textContent}: ${t(bad ? "password.rule_ng" : "password.rule_ok")}`);
      }
    } catch {
      /* the check is a courtesy; submit reports the real answer */
    }
  }
  control(form, "new_password").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    /** @type {Record<string, string>} */
    const v = {
      current_password: control(form, "current_password").value,
      new_password: control(form, "new_password").value,
      confirm: control(form, "confirm").value,
    };
    const missing = new Map();
    for (const k of ["current_password", "new_password", "confirm"]) if (!v[k]) missing.set(k, t("validation.missing"));
    if (!missing.size && v.new_password !== v.confirm) missing.set("confirm", t("password.mismatch"));
    if (missing.size) {
      showFormErrors(form, { fields: missing });
      return;
    }
    await busy(submit, async () => {
      try {
        await api.post("/auth/password", { current_password: v.current_password, new_password: v.new_password });
        toast(t("password.done"), "ok");
        navigate(homeFor(await refreshSession()), { replace: true });
      } catch (caught) {
        const err = ApiError.from(caught);
        showFormErrors(form, err);
        // A policy failure carries `failed` rules (new password); otherwise the current one is wrong.
        if (!err.fields.size && err.status === 400) {
          const failed = err.problem.failed || [];
          if (failed.length) {
            setFieldError(form, "new_password", `${err.detail} ${failed.map((r) => r.description).join("、")}`);
            control(form, "new_password").focus();
          } else {
            setFieldError(form, "current_password", err.detail || err.title);
            control(form, "current_password").focus();
          }
        }
        check();
      }
    });
  });
  control(form, "current_password").focus();
  return () => clearTimeout(timer);
}
