"""Liveness and readiness: is the API up, and can it reach its database?"""
