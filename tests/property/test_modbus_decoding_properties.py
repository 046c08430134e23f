"""Properties of Modbus read planning and decoding, over generated register maps and words."""

import itertools
import struct
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from firmware_profiles import (
    DataType,
    DecodeError,
    PlannedRead,
    Profile,
    decode_read,
    decode_relay_state,
    packaged_registry,
    parse_profile,
    plan_reads,
)
from shared.quantities import Measurement

# The billing register is added by the generator itself, as an integer register.
REGISTER_MEASUREMENTS = [
    m for m in Measurement if m not in (Measurement.RELAY_CLOSED, Measurement.ENERGY_IMPORT_WH)
]
UNIT_FOR = {  # one accepted unit per measurement, enough to build a valid file
    "wh": "Wh",
    "l": "L",
    "w": "W",
    "va": "VA",
    "var": "var",
    "v": "V",
    "a": "A",
    "hz": "Hz",
    "pct": "%",
}


def _unit(measurement: Measurement) -> str:
    return UNIT_FOR.get(measurement.value.rsplit("_", 1)[-1], "1")


@st.composite
def register_maps(draw: st.DrawFn) -> Profile:
    """A valid profile with a random, non-overlapping register map and random request limits."""
    measurements = draw(
        st.lists(st.sampled_from(REGISTER_MEASUREMENTS), min_size=1, max_size=12, unique=True)
    )
    max_count = draw(st.integers(2, 125))
    next_free = {"input": 0, "holding": 0}
    entries = []
    for measurement in measurements:
        table = draw(st.sampled_from(sorted(next_free)))
        data_type = draw(st.sampled_from(list(DataType)))
        address = next_free[table] + draw(st.integers(0, 20))
        next_free[table] = address + data_type.width
        entries.append(
            f'[[modbus.registers]]\nmeasurement = "{measurement}"\ntable = "{table}"\n'
            f'address = {address}\ntype = "{data_type}"\nunit = "{_unit(measurement)}"\n'
        )
    entries.append(
        f'[[modbus.registers]]\nmeasurement = "energy_import_wh"\ntable = "holding"\n'
        f'address = {next_free["holding"]}\ntype = "uint32"\nunit = "Wh"\n'
    )
    text = (
        f'model_id = "generated"\nmanufacturer = "Test"\nmodel = "Generated"\nutility = "electricity"\n'
        'transport = "modbus"\n[billing]\nmeasurement = "energy_import_wh"\n[modbus]\n'
        'line = { baud = 9600, parity = "none", stop_bits = 1 }\n'
        f"request_spacing_ms = 50\nresponse_timeout_ms = 500\nmax_registers_per_request = {max_count}\n"
        f"max_gap_registers = {draw(st.integers(0, 10))}\n\n" + "\n".join(entries)
    )
    return parse_profile(text, "generated.toml")


@given(data=st.data(), profile=register_maps())
def test_plan_reads_covers_every_wanted_register_once_within_the_limit(
    data: st.DataObject, profile: Profile
) -> None:
    wanted = data.draw(st.sets(st.sampled_from(profile.measurements), min_size=1))
    reads = plan_reads(profile, wanted)
    planned = [field.measurement for read in reads for field in read.fields]
    assert sorted(planned) == sorted(wanted)
    modbus = profile.modbus
    for read in reads:
        assert 1 <= read.count <= modbus.max_registers_per_request
        assert read.address == read.fields[0].address
        assert read.address + read.count == read.fields[-1].end
        for before, after in itertools.pairwise(read.fields):
            assert before.table == after.table == read.table
            assert 0 <= after.address - before.end <= modbus.max_gap_registers
    for first, second in itertools.pairwise(reads):
        if first.table == second.table:
            assert first.address + first.count <= second.address  # no register read twice
            # ...and the two could not have been one read: the plan uses the fewest requests.
            gap = second.address - (first.address + first.count)
            merged_count = second.address + second.count - first.address
            assert gap > modbus.max_gap_registers or merged_count > modbus.max_registers_per_request


WORDS = st.one_of(st.integers(0, 0xFFFF), st.integers(), st.none(), st.floats(), st.text(max_size=2))
PACKAGED_READS = [read for profile in packaged_registry() for read in plan_reads(profile)]


def _words_for(read: PlannedRead) -> st.SearchStrategy[list[object]]:
    exact = st.lists(st.integers(0, 0xFFFF), min_size=read.count, max_size=read.count)
    return st.one_of(exact, st.lists(WORDS, max_size=read.count + 2))


@given(data=st.data(), read=st.sampled_from(PACKAGED_READS))
def test_decoding_arbitrary_words_gives_values_or_the_packages_decode_error(
    data: st.DataObject, read: PlannedRead
) -> None:
    words = data.draw(_words_for(read))
    try:
        values = decode_read(read, words)  # type: ignore[arg-type]
    except DecodeError as error:
        assert read.model_id in str(error)
        return
    assert set(values) == {field.measurement for field in read.fields}
    assert all(isinstance(value, Decimal) and value.is_finite() for value in values.values())


@given(words=st.lists(WORDS, max_size=3))
def test_relay_state_is_a_bool_or_the_packages_decode_error(words: list[object]) -> None:
    dds = packaged_registry().get("hiking-dds238-2")
    try:
        state = decode_relay_state(dds, words)  # type: ignore[arg-type]
    except DecodeError:
        return
    assert state is (words == [1])


def _as_registers(value: float) -> list[int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


SDM120 = packaged_registry().get("eastron-sdm120")
(POWER_FACTOR_READ,) = plan_reads(SDM120, [Measurement.POWER_FACTOR])


@given(bits=st.integers(0, 0xFFFF_FFFF))
def test_float32_decodes_to_a_decimal_that_round_trips_to_the_same_float32(bits: int) -> None:
    words = [bits >> 16, bits & 0xFFFF]
    (value,) = struct.unpack(">f", struct.pack(">I", bits))
    try:
        decoded = decode_read(POWER_FACTOR_READ, words)[Measurement.POWER_FACTOR]
    except DecodeError:
        assert value != value or abs(value) == float("inf")
        return
    assert _as_registers(float(decoded)) == _as_registers(value + 0.0)  # -0.0 is read as 0


@given(
    digits=st.integers(0, 999_999),
    exponent=st.integers(-30, 30),
    negative=st.booleans(),
)
def test_a_decimal_the_meter_shows_with_six_digits_comes_back_exactly(
    digits: int, exponent: int, negative: bool
) -> None:
    shown = Decimal(-digits if negative else digits).scaleb(exponent)
    decoded = decode_read(POWER_FACTOR_READ, _as_registers(float(shown)))[Measurement.POWER_FACTOR]
    assert decoded == shown
    # Shortest: never more significant digits than the meter showed.
    assert len(decoded.normalize().as_tuple().digits) <= max(len(str(digits).rstrip("0")), 1)
