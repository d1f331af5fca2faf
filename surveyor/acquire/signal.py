"""Signal sources for the logger: Termux (Android), ModemManager (mmcli), AT commands, manual.

Each source's :meth:`SignalSource.read` returns one reading per serving cell (a dual-SIM phone gives
two) as a dict of journal fields: operator, mcc, mnc, tech, service and raw values. A source that
fails raises :class:`SignalError`; the logger then records ``service: unknown`` and retries with
back-off. The parsers take plain text so they test without devices (formats: ../shared/data/formats
and the 3GPP TS 27.007 AT commands).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

from surveyor.acquire import port_and_baud
from surveyor.errors import InvalidRequest, SurveyorError
from surveyor.model import normalize_operator


class SignalError(SurveyorError):
    """A signal source failed (modem unplugged, command missing, garbage answer)."""


def _reading(operator=None, mcc=None, mnc=None, **fields) -> dict:
    op = normalize_operator(operator, mcc, mnc)
    out = {"operator": op.name, "mcc": op.mcc, "mnc": op.mnc}
    out.update(fields)
    return {k: v for k, v in out.items() if v is not None}


def no_service_reading(operator=None, mcc=None, mnc=None) -> dict:
    """The evidence of no network: kept and written like any other sample."""
    return _reading(operator, mcc, mnc, tech="NONE", service="no_service")


# ---------------------------------------------------------------------------------------------
# Termux: termux-telephony-cellinfo

_TERMUX_TECH = {"lte": "LTE", "nr": "NR", "wcdma": "UMTS", "gsm": "GSM", "cdma": "GSM"}


def parse_termux_cellinfo(text: str) -> list[dict]:
    """Serving cells (``registered: true``) of ``termux-telephony-cellinfo`` output, one reading
    per SIM.

    ``[]`` (no cell seen at all) and a list with no registered cell both mean no service and give
    one no-service reading. ``{}``, ``{"API_ERROR": ...}`` or junk raise :class:`SignalError`:
    they say nothing about the network, only that the tool failed.
    """
    try:
        cells = json.loads(text)
    except ValueError:
        raise SignalError(f"termux-telephony-cellinfo printed something that is not JSON: {text[:80]!r}.",
                          fix="Update termux-api (the app and the package) to matching versions.") from None
    if isinstance(cells, dict):
        err = cells.get("API_ERROR")
        raise SignalError(f"termux-telephony-cellinfo: {err or 'empty answer {}'}.",
                          fix="Give Termux:API the phone and location permissions, and turn location on.")
    if not isinstance(cells, list):
        raise SignalError(f"termux-telephony-cellinfo gave {type(cells).__name__}, not a list of cells.",
                          fix="Update termux-api.")
    out = []
    for cell in cells:
        if not isinstance(cell, dict) or not cell.get("registered"):
            continue
        kind = str(cell.get("type", "")).lower()
        tech = _TERMUX_TECH.get(kind)
        r: dict[str, Any] = {"tech": tech, "service": "in_service", "level": cell.get("level")}
        if kind == "lte":
            r.update(rsrp_dbm=cell.get("rsrp", cell.get("dbm")), rsrq_db=cell.get("rsrq"),
                     rssi_dbm=cell.get("rssi"), cell_id=cell.get("ci"), pci=cell.get("pci"),
                     tac=cell.get("tac"))
        elif kind == "nr":
            r.update(nr_rsrp_dbm=cell.get("ss_rsrp", cell.get("dbm")), nr_rsrq_db=cell.get("ss_rsrq"),
                     nr_sinr_db=cell.get("ss_sinr"), cell_id=cell.get("nci"), pci=cell.get("pci"),
                     tac=cell.get("tac"))
        elif kind == "wcdma":
            r.update(rscp_dbm=cell.get("dbm"), cell_id=cell.get("cid"), lac=cell.get("lac"),
                     pci=cell.get("psc"))
        elif kind == "gsm":
            r.update(rssi_dbm=cell.get("dbm"), cell_id=cell.get("cid"), lac=cell.get("lac"))
        elif kind == "cdma":
            r.update(rssi_dbm=cell.get("dbm"))
        r = {k: v for k, v in r.items() if v is not None}
        for key in ("rsrp_dbm", "rsrq_db", "rssi_dbm", "rscp_dbm", "nr_rsrp_dbm", "nr_rsrq_db", "nr_sinr_db"):
            if key in r:
                r[key] = float(r[key])
        out.append(_reading(None, cell.get("mcc"), cell.get("mnc"), **r))
    if not out:
        return [no_service_reading()]
    return out


# ---------------------------------------------------------------------------------------------
# ModemManager: mmcli -J


def _mm_value(value):
    """mmcli writes every value as a string and ``--`` when unknown."""
    if value in (None, "--", ""):
        return None
    return value


def _mm_float(value) -> float | None:
    value = _mm_value(value)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _mm_hex(value) -> int | None:
    value = _mm_value(value)
    try:
        return int(value, 16) if value is not None else None
    except ValueError:
        return None


def parse_mmcli_signal(text: str) -> dict:
    """``mmcli -J -m M --signal-get`` -> ``{"tech": ..., raw values}``; ``{}`` when every value is
    ``--`` (signal refresh not set up, or nothing received)."""
    try:
        sig = json.loads(text)["modem"]["signal"]
    except (ValueError, KeyError, TypeError):
        raise SignalError(f"mmcli --signal-get printed something unexpected: {text[:80]!r}.",
                          fix="Check the modem with `mmcli -L` and the --signal mmcli:MODEM index.") from None
    nr, lte, umts, gsm = (sig.get(k) or {} for k in ("5g", "lte", "umts", "gsm"))
    out: dict = {}
    if _mm_float(lte.get("rsrp")) is not None or _mm_float(lte.get("rssi")) is not None:
        out.update(tech="LTE", rsrp_dbm=_mm_float(lte.get("rsrp")), rsrq_db=_mm_float(lte.get("rsrq")),
                   sinr_db=_mm_float(lte.get("snr")), rssi_dbm=_mm_float(lte.get("rssi")))
    if _mm_float(nr.get("rsrp")) is not None:
        # 5G NSA: LTE anchor values stay in rsrp_dbm, NR ones go to nr_*.
        out.setdefault("tech", "NR")
        out.update(nr_rsrp_dbm=_mm_float(nr.get("rsrp")), nr_rsrq_db=_mm_float(nr.get("rsrq")),
                   nr_sinr_db=_mm_float(nr.get("snr")))
    if not out and (_mm_float(umts.get("rscp")) is not None or _mm_float(umts.get("rssi")) is not None):
        out.update(tech="UMTS", rscp_dbm=_mm_float(umts.get("rscp")), ecno_db=_mm_float(umts.get("ecio")),
                   rssi_dbm=_mm_float(umts.get("rssi")))
    if not out and _mm_float(gsm.get("rssi")) is not None:
        out.update(tech="GSM", rssi_dbm=_mm_float(gsm.get("rssi")))
    return {k: v for k, v in out.items() if v is not None}


def parse_mmcli_location(text: str) -> dict:
    """The 3GPP part of ``mmcli -J -m M --location-get``: mcc, mnc, cell_id, tac, lac (hex)."""
    try:
        loc = json.loads(text)["modem"]["location"].get("3gpp") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SignalError(f"mmcli --location-get printed something unexpected: {text[:80]!r}.",
                          fix="Enable 3GPP location: mmcli -m MODEM --location-enable-3gpp.") from None
    out = {"mcc": _mm_value(loc.get("mcc")), "mnc": _mm_value(loc.get("mnc")),
           "cell_id": _mm_hex(loc.get("cid")), "tac": _mm_hex(loc.get("tac")), "lac": _mm_hex(loc.get("lac"))}
    if out["tac"] == 0:
        out["tac"] = None
    if out["lac"] == 0:
        out["lac"] = None
    return {k: v for k, v in out.items() if v is not None}


# ---------------------------------------------------------------------------------------------
# AT commands (3GPP TS 27.007)

_CESQ_RE = re.compile(r"\+CESQ:\s*(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")
_CSQ_RE = re.compile(r"\+CSQ:\s*(\d+),(\d+)")
_COPS_RE = re.compile(r'\+COPS:\s*(\d+)(?:,(\d+),"([^"]*)"(?:,(\d+))?)?')
# <AcT> of +COPS (27.007 7.3) -> technology.
_COPS_ACT = {0: "GSM", 1: "GSM", 3: "GSM", 8: "GSM", 2: "UMTS", 4: "UMTS", 5: "UMTS", 6: "UMTS",
             7: "LTE", 9: "LTE", 10: "LTE", 11: "NR", 12: "NR", 13: "NR"}


def parse_cesq(text: str) -> dict:
    """``+CESQ: rxlev,ber,rscp,ecno,rsrq,rsrp`` -> raw values (unknown ones left out).

    Raises :class:`SignalError` when there is no +CESQ line (``ERROR``, garbage).
    """
    m = _CESQ_RE.search(text)
    if not m:
        raise SignalError(f"no +CESQ answer: {text.strip()[:80]!r}.", fix="The modem may not support AT+CESQ.")
    rxlev, _ber, rscp, ecno, rsrq, rsrp = (int(g) for g in m.groups())
    out: dict = {}
    if rsrp != 255 and rsrp <= 97:
        out.update(tech="LTE", rsrp_dbm=float(-141 + rsrp))
    if rsrq != 255 and rsrq <= 34:
        out["rsrq_db"] = -20 + 0.5 * rsrq
    if rscp != 255 and rscp <= 96 and "tech" not in out:
        out.update(tech="UMTS", rscp_dbm=float(-121 + rscp))
        if ecno != 255 and ecno <= 49:
            out["ecno_db"] = -24.5 + 0.5 * ecno
    if rxlev != 99 and rxlev <= 63 and "tech" not in out:
        out.update(tech="GSM", rssi_dbm=float(-111 + rxlev))
    return out


def parse_csq(text: str) -> dict:
    """``+CSQ: rssi,ber`` -> ``{"rssi_dbm": -113 + 2*rssi}``; 99 (unknown) gives ``{}``."""
    m = _CSQ_RE.search(text)
    if not m:
        raise SignalError(f"no +CSQ answer: {text.strip()[:80]!r}.",
                          fix="Check that --signal at:DEVICE is the modem's AT port (often the 2nd or 3rd ttyUSB).")
    rssi = int(m.group(1))
    if rssi == 99 or rssi > 31:
        return {}
    return {"rssi_dbm": float(-113 + 2 * rssi)}


def parse_cops(text: str) -> dict:
    """``+COPS: mode[,format,"oper"[,AcT]]`` -> operator (name or numeric PLMN) and tech.
    ``+COPS: 0`` (no operator) gives ``{"registered": False}``."""
    m = _COPS_RE.search(text)
    if not m:
        raise SignalError(f"no +COPS answer: {text.strip()[:80]!r}.", fix="Check the modem's AT port.")
    if m.group(3) is None:
        return {"registered": False}
    out = {"registered": True, "operator": m.group(3)}
    if m.group(4) is not None:
        out["tech"] = _COPS_ACT.get(int(m.group(4)))
    return out


# ---------------------------------------------------------------------------------------------
# Sources


class SignalSource:
    name = "none"

    def start(self) -> None:
        pass

    def read(self) -> list[dict]:
        return []

    def close(self) -> None:
        pass


class NoSignal(SignalSource):
    name = "none"


def _run(cmd: list[str], timeout_s: float, what_fix: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError:
        raise SignalError(f"{cmd[0]} not found.", fix=what_fix) from None
    except subprocess.TimeoutExpired:
        raise SignalError(f"{' '.join(cmd)} gave no answer within {timeout_s:.0f} s.",
                          fix="The device may be busy or unplugged; it is retried.") from None
    if out.returncode != 0:
        raise SignalError(f"{' '.join(cmd)} failed: {(out.stderr or out.stdout).strip()[:120]}",
                          fix="Check the device (unplugged modem, missing permission).")
    return out.stdout


class TermuxSignal(SignalSource):
    """``termux-telephony-cellinfo`` on an Android phone (all SIMs)."""

    name = "termux"
    tool = "termux-telephony-cellinfo"  # a source that cannot work without it (see logger.require_tools)

    def __init__(self, timeout_s: float = 15.0):
        self.timeout_s = timeout_s

    def read(self) -> list[dict]:
        text = _run(["termux-telephony-cellinfo"], self.timeout_s,
                    "Install it in Termux: pkg install termux-api (and the Termux:API app).")
        return parse_termux_cellinfo(text)


class MmcliSignal(SignalSource):
    """ModemManager: ``mmcli -J -m MODEM --signal-get`` and ``--location-get``.

    mmcli reports ``--`` for every value until signal refresh is set up, so the first all-``--``
    answer runs ``--signal-setup`` once and reads again.
    """

    name = "mmcli"
    tool = "mmcli"

    def __init__(self, modem: str = "any", refresh_s: int = 5, timeout_s: float = 10.0):
        self.modem, self.refresh_s, self.timeout_s = modem, refresh_s, timeout_s
        self._setup_done = False

    def _mmcli(self, *args: str) -> str:
        return _run(["mmcli", "-J", "-m", self.modem, *args], self.timeout_s,
                    "Install ModemManager (apt install modemmanager) and plug the modem in.")

    def read(self) -> list[dict]:
        sig = parse_mmcli_signal(self._mmcli("--signal-get"))
        if not sig and not self._setup_done:
            self._setup_done = True
            _run(["mmcli", "-m", self.modem, f"--signal-setup={self.refresh_s}"], self.timeout_s,
                 "Run mmcli as a user allowed to manage the modem (or with sudo).")
            sig = parse_mmcli_signal(self._mmcli("--signal-get"))
        try:
            loc = parse_mmcli_location(self._mmcli("--location-get"))
        except SignalError:
            loc = {}
        if not sig:
            if self._setup_done and "mcc" not in loc:
                # Refresh is set up, nothing is heard and the modem is not registered.
                return [no_service_reading()]
            return [_reading(None, loc.get("mcc"), loc.get("mnc"), service="unknown")]
        registered = "mcc" in loc
        return [_reading(None, loc.get("mcc"), loc.get("mnc"), cell_id=loc.get("cell_id"),
                         tac=loc.get("tac") if sig.get("tech") in ("LTE", "NR") else None,
                         lac=loc.get("lac"),
                         service="in_service" if registered else "unknown", **sig)]


class AtSignal(SignalSource):
    """AT commands on a modem's serial port: AT+CESQ (AT+CSQ when unsupported) and AT+COPS?."""

    name = "at"

    def __init__(self, device: str, baud: int = 115200, timeout_s: float = 3.0, port=None):
        self.device, self.baud, self.timeout_s = device, baud, timeout_s
        self._port = port
        self._cesq_ok = True

    def start(self) -> None:
        self._open()

    def _open(self) -> None:
        if self._port is not None:
            return
        import serial

        try:
            self._port = serial.Serial(self.device, self.baud, timeout=0.2)
        except (serial.SerialException, OSError) as exc:
            raise SignalError(
                f"cannot open {self.device}: {exc}.",
                fix="Plug the modem in and check the AT port (ls /dev/ttyUSB*) and group dialout.") from None

    def command(self, cmd: str) -> str:
        """Send one AT command; the text up to the final OK / ERROR (raises on timeout)."""
        self._open()
        port = self._port
        try:
            port.reset_input_buffer()
            port.write((cmd + "\r").encode("ascii"))
            deadline = time.monotonic() + self.timeout_s
            buf = b""
            while time.monotonic() < deadline:
                buf += port.read(port.in_waiting or 1)
                text = buf.decode("ascii", "replace")
                if re.search(r"(^|\r|\n)(OK|ERROR|\+CME ERROR:[^\r\n]*)\r?\n", text):
                    return text
        except OSError as exc:
            self.close()
            raise SignalError(f"the modem at {self.device} stopped answering ({exc}).",
                              fix="Check the USB cable; the modem is retried.") from None
        raise SignalError(f"no answer to {cmd} from {self.device} within {self.timeout_s:.0f} s: {buf[:60]!r}.",
                          fix="Check that this is the modem's AT port and the baud rate (@BAUD).")

    def read(self) -> list[dict]:
        values: dict | None = None
        if self._cesq_ok:
            text = self.command("AT+CESQ")
            if "+CESQ" in text:
                values = parse_cesq(text)
            elif "ERROR" in text:
                self._cesq_ok = False  # an old modem: use AT+CSQ from now on
            else:
                raise SignalError(f"garbage answer to AT+CESQ: {text.strip()[:60]!r}.",
                                  fix="Check the AT port and baud rate.")
        if values is None:
            values = parse_csq(self.command("AT+CSQ"))
        cops = parse_cops(self.command("AT+COPS?"))
        if not cops["registered"]:
            return [no_service_reading()]
        tech = values.pop("tech", None) or cops.get("tech")
        if cops.get("tech") and tech != cops["tech"] and cops["tech"] in ("LTE", "NR", "UMTS", "GSM"):
            tech = cops["tech"]
        return [_reading(cops["operator"], tech=tech, service="in_service", **values)]

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:
                pass
            self._port = None


class ManualSignal(SignalSource):
    """The volunteer says what the phone shows: operator and bars (0-4) or no service.

    ``ask(prompt, default)`` returns the answer text; the CLI passes a click prompt. The prompts
    are in ``lang`` (the ``cli`` catalogue, read without any of the laptop's dependencies). With the
    survey's ``operators`` the question lists them numbered (``1 Telkomsel, 2 Indosat``): a number
    picks one, and a typed name that is a near miss of one (``Telkomsell``) is taken as that one,
    so a typo never becomes an operator of its own.
    """

    name = "manual"
    kind = "manual"
    NO_SERVICE_ANSWERS = ("n", "no", "x", "none", "-", "t", "tidak")

    def __init__(self, ask: Callable[[str, str], str], operator: str = "", lang: str | None = None,
                 operators: tuple[str, ...] = ()):
        self.ask = ask
        self._ = _translator(lang)
        self.operators = tuple(operators)
        self.operator = operator or (self.operators[0] if len(self.operators) == 1 else "")

    def _question(self) -> str:
        if not self.operators:
            return self._("Operator")
        return self._("Operator ({choices}, or a name)").format(
            choices=", ".join(f"{i} {o}" for i, o in enumerate(self.operators, 1)))

    def pick(self, answer: str) -> str:
        """The operator an answer means: a number of the list, a configured name, or the name typed."""
        import difflib

        text = answer.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.operators):
            return self.operators[int(text) - 1]
        lower = {o.lower(): o for o in self.operators}
        if text.lower() in lower:
            return lower[text.lower()]
        close = difflib.get_close_matches(text.lower(), list(lower), n=1, cutoff=0.75)
        return lower[close[0]] if close else text

    def read(self) -> list[dict]:
        default = str(self.operators.index(self.operator) + 1) if self.operator in self.operators else self.operator
        op = self.ask(self._question(), default).strip()
        if op:
            self.operator = self.pick(op)
        while True:
            answer = self.ask(self._("Bars 0-4, or n for no service"), "").strip().lower()
            if answer in self.NO_SERVICE_ANSWERS:
                return [no_service_reading(self.operator or None)]
            if answer.isdigit() and 0 <= int(answer) <= 4:
                return [_reading(self.operator or None, level=int(answer), service="in_service")]


def _translator(lang: str | None) -> Callable[[str], str]:
    if not lang:
        return lambda msgid: msgid
    from surveyor.i18n import translator

    return translator(lang, "cli")


def open_signal(spec: str, *, ask: Callable[[str, str], str] | None = None,
                interval_s: float = 1.0, lang: str | None = None,
                operators: tuple[str, ...] = ()) -> SignalSource:
    """A signal source from its ``--signal`` SPEC (see the README, "Field logging")."""
    spec = (spec or "none").strip()
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "none":
        return NoSignal()
    if kind == "termux":
        return TermuxSignal()
    if kind == "mmcli":
        return MmcliSignal(arg or "any", refresh_s=max(1, int(round(interval_s))))
    if kind == "at":
        if not arg:
            raise InvalidRequest("--signal at needs the modem's AT port.", fix="For example --signal at:/dev/ttyUSB2.")
        path, baud = port_and_baud("--signal", spec, arg, 115200, "at:/dev/ttyUSB2@115200")
        return AtSignal(path, baud)
    if kind == "manual":
        if ask is None:
            raise InvalidRequest("--signal manual needs a terminal to ask on.", fix="Run it interactively.")
        return ManualSignal(ask, lang=lang, operators=operators)
    raise InvalidRequest(f"--signal {spec}: unknown signal source.",
                     fix="Use termux, mmcli[:MODEM], at:DEVICE[@BAUD], manual or none.")


__all__ = [
    "SignalError",
    "open_signal",
    "parse_cesq",
    "parse_cops",
    "parse_csq",
    "parse_mmcli_location",
    "parse_mmcli_signal",
    "parse_termux_cellinfo",
]
