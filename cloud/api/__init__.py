"""The versioned REST API (``/api/v1``): thin controllers over the bounded contexts' services.

One module per area (estates, people, metering, wallets, payments), msgspec schemas in
``schemas``/``money_schemas``, scoping helpers in ``access``; access itself lives in ``cloud.auth``.
"""
