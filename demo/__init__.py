"""``make demo``: a cloud and a gateway agent on embedded defaults, with simulated meters."""
