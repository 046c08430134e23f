"""The installer's command line: enrol gateways, add and test meters, decode payloads."""
