"""Billing (利用手続き・請求): see ``api.billing.module``."""
