"""Where the cloud's PostgreSQL comes from, and the engine that talks to it."""
