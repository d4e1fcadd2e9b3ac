"""Billing records as stored: collections, states and the one table of allowed transitions.

Seed 000 (情報共有システム等運用業務: 手続きフロー and 様式情運-1..-8) is the source of every state.

Collections
- ``billing_profile``: the operator's own data printed on every form (one record ``operator``:
  name, address, 適格請求書発行事業者登録番号, bank account).
- ``billing_tariffs``: fee tables as data with ``valid_from``/``valid_to`` (issue 13 §3).
- ``billing_agreements``: the 覚書 of one municipality (systems, fees, term, renewal clause).
- ``billing_requests``: 情報共有S等利用依頼 (様式情運-1) per work, approved by 様式情運-2.
- ``billing_applications``: a contractor's 利用申込書 for one work.
- ``billing_invoices``: invoices (様式情運-4, per-work fee requests) and credit notes; issued
  records are never edited (amounts computed once and stored).
- ``billing_payments``: payments against one invoice, entered or imported from a bank CSV.
- ``billing_documents``: every printed form (number, date, version, the data it prints).
- ``billing_rosters``: 発注者情報の登録 per municipality and fiscal year (the ID batch).
- ``billing_runs``: invoice runs (a lease so two runs never overlap).
- ``billing_stats``: totals per fiscal year kept with every invoice and payment (dashboard).
- ``billing_due``: the unpaid balance per (fiscal year, due date), kept the same way, so the
  overdue amounts are a sum over a few hundred rows whatever the number of invoices.
- ``billing_counters``: document numbers per series and fiscal year.
- ``billing_keys``: claims of unique values (one open agreement per municipality, one
  request per work number, one application per request, one payment per bank row).
"""

from __future__ import annotations

from enum import StrEnum

from storage.ports import IndexSpec

PROFILE = "billing_profile"
TARIFFS = "billing_tariffs"
AGREEMENTS = "billing_agreements"
REQUESTS = "billing_requests"
APPLICATIONS = "billing_applications"
INVOICES = "billing_invoices"
PAYMENTS = "billing_payments"
DOCUMENTS = "billing_documents"
ROSTERS = "billing_rosters"
RUNS = "billing_runs"
STATS = "billing_stats"
DUE = "billing_due"  # what is still to be paid, per fiscal year and due date
COUNTERS = "billing_counters"
KEYS = "billing_keys"
PROFILE_ID = "operator"


class System(StrEnum):
    COLLAB = "collab"  # 情報共有システム
    ARCHIVE = "archive"  # 保管管理システム


SYSTEM_LABELS = {System.COLLAB: "情報共有システム", System.ARCHIVE: "保管管理システム"}


class ItemKind(StrEnum):
    """What a tariff item is charged for."""

    ORG_ANNUAL = "org_annual"  # per municipality, per fiscal year, per system
    WORK_MONTHLY = "work_monthly"  # per work and month of its period (contractor)
    WORK_REGISTRATION = "work_registration"  # once per work (contractor)
    ARCHIVE_WORK_ANNUAL = "archive_work_annual"  # per archived work and fiscal year


class AgreementState(StrEnum):
    APPLIED = "applied"  # 利用決定: the municipality asked to conclude
    ACTIVE = "active"  # 覚書の締結
    TERMINATING = "terminating"  # 利用終了通知 (様式情運-7) received: ends with the term
    TERMINATED = "terminated"  # the term ended after a termination
    REJECTED = "rejected"


class RequestState(StrEnum):
    SUBMITTED = "submitted"  # 様式情運-1 received
    APPROVED = "approved"  # 利用承諾 (様式情運-2): the work is registered
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ApplicationState(StrEnum):
    SUBMITTED = "submitted"  # 利用申込書の提出
    APPROVED = "approved"  # 審査: IDs issued, fee requested (利用料金支払請求)
    ACTIVE = "active"  # payment confirmed, 利用開始通知: the work is open to the contractor
    COMPLETED = "completed"  # 利用完了処理: the fee period has ended
    REJECTED = "rejected"


class InvoiceState(StrEnum):
    ISSUED = "issued"  # unpaid
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    CANCELLED = "cancelled"  # fully credited


class InvoiceKind(StrEnum):
    ANNUAL = "annual"  # 利用料支払請求書 (様式情運-4), per municipality and fiscal year
    WORK_FEE = "work_fee"  # 利用料金支払請求 of one work (contractor)
    CREDIT_NOTE = "credit_note"  # 返金・減額 (赤伝): never an edit of the invoice


OPEN_INVOICE_STATES = (InvoiceState.ISSUED.value, InvoiceState.PARTLY_PAID.value)

# The one table of allowed transitions (house style: state machines are tables in one place).
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    AGREEMENTS: {
        AgreementState.APPLIED: frozenset({AgreementState.ACTIVE, AgreementState.REJECTED}),
        AgreementState.ACTIVE: frozenset({AgreementState.TERMINATING}),
        AgreementState.TERMINATING: frozenset({AgreementState.TERMINATED}),
    },
    REQUESTS: {
        RequestState.SUBMITTED: frozenset(
            {RequestState.APPROVED, RequestState.REJECTED, RequestState.WITHDRAWN}
        ),
    },
    APPLICATIONS: {
        ApplicationState.SUBMITTED: frozenset(
            {ApplicationState.APPROVED, ApplicationState.REJECTED}
        ),
        ApplicationState.APPROVED: frozenset({ApplicationState.ACTIVE}),
        ApplicationState.ACTIVE: frozenset({ApplicationState.COMPLETED}),
    },
    INVOICES: {
        InvoiceState.ISSUED: frozenset(
            {InvoiceState.PARTLY_PAID, InvoiceState.PAID, InvoiceState.CANCELLED}
        ),
        InvoiceState.PARTLY_PAID: frozenset(
            {InvoiceState.PAID, InvoiceState.PARTLY_PAID, InvoiceState.CANCELLED}
        ),
    },
}


def allowed(collection: str, current: str, to: str) -> bool:
    return to in TRANSITIONS[collection].get(current, frozenset())


# Forms of seed 000 and their titles; each document record names its form.
FORMS: dict[str, str] = {
    "agreement": "情報共有システム等の利用に関する覚書",
    "jouun1": "情報共有S等利用依頼書",  # 様式情運-1
    "jouun2": "情報共有S等利用承諾書",  # 様式情運-2
    "jouun3": "次年度利用料金のお知らせ",  # 様式情運-3
    "jouun4": "利用料支払請求書",  # 様式情運-4 (適格請求書)
    "fee_request": "利用料金支払請求書（案件）",
    "credit_note": "返金通知書（適格返還請求書）",
    "start_notice": "利用開始通知",
    "id_notice": "利用者ID発行通知",
    "jouun7": "利用終了通知",  # 様式情運-7
    "jouun8": "利用停止通知",  # 様式情運-8
    "receipt": "領収書",
}
FORM_CODES: dict[str, str] = {
    "jouun1": "様式情運-1",
    "jouun2": "様式情運-2",
    "jouun3": "様式情運-3",
    "jouun4": "様式情運-4",
    "jouun7": "様式情運-7",
    "jouun8": "様式情運-8",
}

INDEXES: dict[str, tuple[IndexSpec, ...]] = {
    TARIFFS: (IndexSpec((("valid_from", 1),)),),
    AGREEMENTS: (
        IndexSpec((("org_id", 1), ("created_at", -1))),
        IndexSpec((("state", 1), ("term_ends_on", 1))),
    ),
    REQUESTS: (
        IndexSpec((("org_id", 1), ("created_at", -1))),
        IndexSpec((("state", 1), ("created_at", -1))),
        IndexSpec((("approval_number", 1),)),
    ),
    APPLICATIONS: (
        IndexSpec((("org_id", 1), ("created_at", -1))),
        IndexSpec((("state", 1), ("created_at", -1))),
        IndexSpec((("work_id", 1),)),
    ),
    INVOICES: (
        IndexSpec((("number", 1),), unique=True),
        IndexSpec((("org_id", 1), ("issue_date", -1))),
        IndexSpec((("fiscal_year", 1), ("kind", 1))),
        IndexSpec((("state", 1), ("due_date", 1))),
        IndexSpec((("issue_date", -1),)),
        IndexSpec((("source", 1),)),
    ),
    PAYMENTS: (
        IndexSpec((("invoice_id", 1), ("paid_on", 1))),
        IndexSpec((("org_id", 1), ("paid_on", -1))),
    ),
    DOCUMENTS: (
        IndexSpec((("source", 1), ("version", -1))),
        IndexSpec((("org_ids", 1), ("date", -1))),
    ),
    ROSTERS: (IndexSpec((("fiscal_year", 1), ("state", 1))),),
    DUE: (IndexSpec((("due_date", 1),)),),
}
