"""The gateway's local web page: status for the estate, a few actions for its installer.

The daemon builds the app with :func:`create_web_app` over its :class:`GatewayControl` and runs
it in its own loop with :class:`WebServer`; the provisioning CLI hashes installer passwords with
:func:`hash_password`.
"""

from edge_agent.web.app import create_web_app
from edge_agent.web.auth import LoginLimiter
from edge_agent.web.control import GatewayControl
from edge_agent.web.passwords import hash_password, parse_password_hash, verify_password
from edge_agent.web.server import WebServer, WebServerError

__all__ = [
    "GatewayControl",
    "LoginLimiter",
    "WebServer",
    "WebServerError",
    "create_web_app",
    "hash_password",
    "parse_password_hash",
    "verify_password",
]
