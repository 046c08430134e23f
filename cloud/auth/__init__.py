"""Who is calling: users and their roles, browser sessions with CSRF, API keys, rate limits."""
