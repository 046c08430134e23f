"""Relay control: commands carried out with retries, and only the meter's confirmation believed."""
