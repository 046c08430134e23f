"""Money in: an administrator's manual top-up, and the manual EFT workflow (expected, then received)."""
