"""Signal sources: termux cell info (dual SIM, [] and {}), mmcli (with --signal-setup), AT over a
pseudo-terminal (CESQ, CSQ fallback, ERROR, garbage), manual prompts."""

from __future__ import annotations

import json

import pytest

from surveyor.acquire import signal as sig
from surveyor.acquire.signal import (
    AtSignal,
    SignalError,
    open_signal,
    parse_cesq,
    parse_cops,
    parse_csq,
    parse_mmcli_location,
    parse_mmcli_signal,
    parse_termux_cellinfo,
)
from surveyor.errors import InvalidRequest

from .conftest import TERMUX_CELLS_DUAL_SIM, shared_path


def test_termux_dual_sim_gives_one_sample_per_registered_cell():
    out = parse_termux_cellinfo(json.dumps(TERMUX_CELLS_DUAL_SIM))
    assert [(r["operator"], r["mnc"], r["rsrp_dbm"]) for r in out] == [("Telkomsel", 10, -99.0), ("Indosat", 1, -116.0)]
    assert all(r["tech"] == "LTE" and r["service"] == "in_service" for r in out)
    assert out[0]["cell_id"] == 12345678 and out[0]["tac"] == 3839 and out[0]["pci"] == 101


def test_termux_real_format_lte_and_gsm_sims():
    out = parse_termux_cellinfo(shared_path("formats", "termux", "termux-telephony-cellinfo.json").read_text())
    assert [(r["operator"], r["tech"]) for r in out] == [("Telkomsel", "LTE"), ("Indosat", "GSM")]
    assert out[0]["rsrp_dbm"] == -101.0 and out[0]["rsrq_db"] == -12.0 and out[1]["rssi_dbm"] == -89.0
    assert out[1]["lac"] == 4986


def test_termux_nr_and_wcdma_cells():
    cells = [{"type": "nr", "registered": True, "dbm": -95, "level": 3, "nci": 5000000001, "pci": 12, "tac": 7,
              "mcc": "510", "mnc": "10", "ss_rsrp": -95, "ss_rsrq": -11, "ss_sinr": 12},
             {"type": "wcdma", "registered": True, "asu": 10, "dbm": -93, "level": 2, "cid": 321, "lac": 5,
              "mcc": 510, "mnc": 89, "psc": 300}]
    nr, wcdma = parse_termux_cellinfo(json.dumps(cells))
    assert (nr["tech"], nr["operator"], nr["nr_rsrp_dbm"], nr["nr_sinr_db"]) == ("NR", "Telkomsel", -95.0, 12.0)
    assert (wcdma["tech"], wcdma["operator"], wcdma["rscp_dbm"]) == ("UMTS", "Tri", -93.0)


def test_termux_empty_list_is_no_service_evidence():
    assert parse_termux_cellinfo("[]") == [{"tech": "NONE", "service": "no_service"}]
    # Cells heard but none registered: still no service.
    only_neighbours = [c for c in TERMUX_CELLS_DUAL_SIM if not c["registered"]]
    assert parse_termux_cellinfo(json.dumps(only_neighbours))[0]["service"] == "no_service"
    assert parse_termux_cellinfo(
        shared_path("formats", "termux", "termux-telephony-cellinfo_empty.json").read_text())[0]["tech"] == "NONE"


@pytest.mark.parametrize("text", ["{}", '{"API_ERROR": "no permission"}', "Segmentation fault", '"x"'])
def test_termux_tool_failures_raise(text):
    with pytest.raises(SignalError):
        parse_termux_cellinfo(text)


def test_mmcli_real_formats():
    s = parse_mmcli_signal(shared_path("formats", "modemmanager", "mmcli-signal-get.json").read_text())
    assert s == {"tech": "LTE", "rsrp_dbm": -101.0, "rsrq_db": -12.0, "sinr_db": 4.2, "rssi_dbm": -71.0}
    loc = parse_mmcli_location(shared_path("formats", "modemmanager", "mmcli-location-get.json").read_text())
    assert loc == {"mcc": "510", "mnc": "10", "cell_id": 0x02A3C20B, "tac": 0x000EFF}


MM_SIGNAL_UNSET = {"modem": {"signal": {k: {"rsrp": "--", "rssi": "--", "rscp": "--"}
                                         for k in ("5g", "lte", "umts", "gsm")}
                             | {"refresh": {"rate": "0"}}}}
MM_SIGNAL_LTE = {"modem": {"signal": {"5g": {"rsrp": "--"},
                                      "lte": {"rsrp": "-108.00", "rsrq": "-14.00", "rssi": "-80.00", "snr": "1.50"},
                                      "umts": {"rscp": "--"}, "gsm": {"rssi": "--"}, "refresh": {"rate": "1"}}}}
MM_LOCATION = {"modem": {"location": {"3gpp": {"cid": "00BC614E", "lac": "0000", "mcc": "510", "mnc": "21",
                                               "tac": "001004"}}}}
MM_LOCATION_NONE = {"modem": {"location": {"3gpp": {"cid": "--", "lac": "--", "mcc": "--", "mnc": "--", "tac": "--"}}}}


def test_mmcli_runs_signal_setup_when_values_are_dashes(fake_bin):
    fake_bin.set("mmcli.signal-get", MM_SIGNAL_UNSET)
    fake_bin.set("mmcli.signal-get.after-setup", MM_SIGNAL_LTE)
    fake_bin.set("mmcli.location-get", MM_LOCATION)
    src = open_signal("mmcli:0", interval_s=2)
    (r,) = src.read()
    assert any("--signal-setup=2" in c and "-m 0" in c for c in fake_bin.calls("mmcli"))
    assert (r["operator"], r["mnc"], r["tech"], r["rsrp_dbm"], r["cell_id"], r["tac"]) == \
        ("Indosat", 21, "LTE", -108.0, 0xBC614E, 0x1004)
    assert r["service"] == "in_service"


def test_mmcli_nothing_heard_and_not_registered_is_no_service(fake_bin):
    fake_bin.set("mmcli.signal-get", MM_SIGNAL_UNSET)
    fake_bin.set("mmcli.location-get", MM_LOCATION_NONE)
    src = open_signal("mmcli")
    assert src.read() == [{"tech": "NONE", "service": "no_service"}]


def test_mmcli_unplugged_modem_raises(fake_bin):
    fake_bin.set("mmcli.signal-get", "", rc=1)
    with pytest.raises(SignalError):
        open_signal("mmcli").read()


@pytest.mark.parametrize("line, expected", [
    ("+CESQ: 99,99,255,255,20,80", {"tech": "LTE", "rsrq_db": -10.0, "rsrp_dbm": -61.0}),
    ("+CESQ: 99,99,95,40,255,255", {"tech": "UMTS", "rscp_dbm": -26.0, "ecno_db": -4.5}),
    ("+CESQ:10,6,255,255,255,255", {"tech": "GSM", "rssi_dbm": -101.0}),
    ("+CESQ: 99,99,255,255,255,255", {}),
])
def test_cesq_vectors_of_ts_27007(line, expected):
    assert parse_cesq(f"\r\n{line}\r\n\r\nOK\r\n") == expected


def test_csq_and_cops():
    assert parse_csq("+CSQ: 15,99") == {"rssi_dbm": -83.0}
    assert parse_csq("+CSQ: 99,99") == {}
    assert parse_cops('+COPS: 0,0,"TELKOMSEL",7') == {"registered": True, "operator": "TELKOMSEL", "tech": "LTE"}
    assert parse_cops('+COPS: 0,2,"51089",2')["operator"] == "51089"
    assert parse_cops("+COPS: 0") == {"registered": False}
    for bad in ("ERROR", "\x00\xff~~", ""):
        with pytest.raises(SignalError):
            parse_cesq(bad)


def _at(modem_device):
    src = AtSignal(modem_device, 115200, timeout_s=1.0)
    src.start()
    return src


def test_at_modem_over_pty_lte(pty_modem):
    m = pty_modem({"AT+CESQ": "+CESQ: 99,99,255,255,20,80", "AT+COPS?": '+COPS: 0,2,"51010",7'})
    src = _at(m.device)
    try:
        (r,) = src.read()
    finally:
        src.close()
    assert (r["operator"], r["mcc"], r["mnc"], r["tech"], r["rsrp_dbm"], r["rsrq_db"]) == \
        ("Telkomsel", 510, 10, "LTE", -61.0, -10.0)


def test_at_modem_without_cesq_falls_back_to_csq(pty_modem):
    m = pty_modem({"AT+CSQ": "+CSQ: 12,99", "AT+COPS?": '+COPS: 0,0,"IM3",2'})
    src = _at(m.device)
    try:
        (r,) = src.read()
        (r2,) = src.read()
    finally:
        src.close()
    assert (r["operator"], r["tech"], r["rssi_dbm"]) == ("Indosat", "UMTS", -89.0)
    assert r2 == r
    assert m.seen.count("AT+CESQ") == 1  # not asked again once it said ERROR


def test_at_modem_not_registered_is_no_service(pty_modem):
    m = pty_modem({"AT+CESQ": "+CESQ: 99,99,255,255,255,255", "AT+COPS?": "+COPS: 0"})
    src = _at(m.device)
    try:
        assert src.read() == [{"tech": "NONE", "service": "no_service"}]
    finally:
        src.close()


def test_at_modem_garbage_and_error_raise(pty_modem):
    m = pty_modem({"AT+CESQ": "RAW:\r\n#$%^garbage\r\n\r\nOK\r\n", "AT+CSQ": "RAW:\r\nERROR\r\n"})
    src = _at(m.device)
    try:
        with pytest.raises(SignalError, match="garbage"):
            src.read()
        m.answers["AT+CESQ"] = "RAW:\r\nERROR\r\n"
        with pytest.raises(SignalError, match="CSQ"):
            src.read()
    finally:
        src.close()


def test_at_silent_port_times_out(pty_modem):
    m = pty_modem({"AT+CESQ": "RAW:"})
    src = AtSignal(m.device, timeout_s=0.5)
    try:
        with pytest.raises(SignalError, match="no answer"):
            src.read()
    finally:
        src.close()


def test_at_missing_device():
    with pytest.raises(SignalError, match="cannot open"):
        AtSignal("/dev/ttyUSB-does-not-exist").start()


def test_manual_prompts():
    answers = iter(["Telkomsel", "7", "3", "", "n"])
    asked = []

    def ask(q, default):
        asked.append((q, default))
        return next(answers)

    src = open_signal("manual", ask=ask)
    assert src.read() == [{"operator": "Telkomsel", "level": 3, "service": "in_service"}]  # 7 was re-asked
    assert src.read() == [{"operator": "Telkomsel", "tech": "NONE", "service": "no_service"}]
    assert asked[3] == ("Operator", "Telkomsel")  # the last operator is the default


@pytest.mark.parametrize("spec", ["modem", "at:", "at:/dev/ttyUSB2@fast", "manual"])
def test_bad_signal_specs(spec):
    with pytest.raises(InvalidRequest):
        open_signal(spec)


def test_sources_named_in_spec():
    assert isinstance(open_signal("termux"), sig.TermuxSignal)
    assert open_signal("mmcli:3").modem == "3"
    at = open_signal("at:/dev/ttyUSB2@9600")
    assert (at.device, at.baud) == ("/dev/ttyUSB2", 9600)
