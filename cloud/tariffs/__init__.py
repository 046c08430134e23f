"""Tariffs in the cloud: the ``quantify-cloud tariff`` commands over the shared rating code."""
