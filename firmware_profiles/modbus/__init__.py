"""Pure Modbus transforms: register words to numbers, read planning, decoding, relay commands.

No I/O here: the gateway's bus coordinator performs the reads and writes these functions plan.
"""
