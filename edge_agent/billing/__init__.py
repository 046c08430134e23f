"""Billing on the gateway: each reading rated, charged to the cached balance, judged by credit control."""
