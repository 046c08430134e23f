"""Estates: their units, people, tenancies, gateways, meters and tariffs, and the caller's scope."""
