"""Bonds (ボンド管理, seed 002): issuer-signed auth keys, sealing until bid opening, contract
security (seed 003 21) and guarantee balances."""
