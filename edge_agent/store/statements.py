"""The state writes that accompany journal entries, named once so every writer says the same thing."""

UPSERT_METER_STATE = (
    "INSERT INTO meter_state (meter_id, state, updated_seq) VALUES (?, ?, ?) "
    "ON CONFLICT (meter_id) DO UPDATE SET state = excluded.state, updated_seq = excluded.updated_seq"
)
INSERT_CHARGE_INDEX = "INSERT INTO charge_index (seq, wallet_id, pocket, amount_cents) VALUES (?, ?, ?, ?)"
UPSERT_OPEN_ALARM = (
    "INSERT INTO open_alarm (meter_id, kind, detail, raised_seq) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (meter_id, kind) DO UPDATE SET detail = excluded.detail, raised_seq = excluded.raised_seq"
)
CLEAR_OPEN_ALARM = "DELETE FROM open_alarm WHERE meter_id = ? AND kind = ?"
UPSERT_POCKET_BALANCE = (
    "INSERT INTO pocket_balance (wallet_id, pocket, cloud_balance_cents, posted_through_seq) "
    "VALUES (?, ?, ?, ?) "
    "ON CONFLICT (wallet_id, pocket) DO UPDATE SET cloud_balance_cents = excluded.cloud_balance_cents, "
    "posted_through_seq = excluded.posted_through_seq"
)
UPSERT_RELAY_STATE = (
    "INSERT INTO relay_state (meter_id, closed, confirmed_at, command_id, confirmed_seq) "
    "VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (meter_id) DO UPDATE SET closed = excluded.closed, confirmed_at = excluded.confirmed_at, "
    "command_id = excluded.command_id, confirmed_seq = excluded.confirmed_seq"
)
SUM_CHARGES_THROUGH = (
    "SELECT COALESCE(SUM(amount_cents), 0) FROM charge_index WHERE wallet_id = ? AND pocket = ? AND seq <= ?"
)
UPSERT_RELAY_HOLD = (
    "INSERT INTO relay_hold (meter_id, hold, command_id, held_seq) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (meter_id) DO UPDATE SET hold = excluded.hold, command_id = excluded.command_id, "
    "held_seq = excluded.held_seq"
)
DELETE_RELAY_HOLD = "DELETE FROM relay_hold WHERE meter_id = ?"
INSERT_POCKET_AWAITING = (
    "INSERT OR IGNORE INTO pocket_awaiting_balance (wallet_id, pocket, noted_seq) VALUES (?, ?, ?)"
)
DELETE_POCKET_AWAITING = "DELETE FROM pocket_awaiting_balance WHERE wallet_id = ? AND pocket = ?"
