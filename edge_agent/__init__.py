"""The gateway daemon: reads meters, rates, deducts the cached balance, switches relays."""
