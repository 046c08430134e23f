"""Adapters: the gateway's I/O with meters' buses and networks, behind typed, bounded interfaces.

Each adapter turns its library's errors into the agent's own error types (``edge_agent.errors``)
and bounds every wait; the daemon wires them to the billing and relay services.
"""
