"""Simulated modem families, as data (in the spirit of babca/python-gsmmodem ``test/fakemodems.py``).

Each personality says how a real family answers where modems differ: identity strings, the command list
(or a rejected ``AT+CLAC``), commands it rejects, storage lists and the ``AT+CPMS`` variants it refuses,
the ``AT+CNMI`` settings it accepts, whether new SMS come as ``+CMTI`` (stored) or ``+CMT`` (direct), and
how it answers an unknown command.
"""

from __future__ import annotations

from dataclasses import dataclass

_BASE_CLAC = (
    "&C", "&D", "&F", "&V", "&W", "E", "I", "L", "M", "Q", "V", "X", "Z", "T", "P", "D", "A", "H", "O", "S0",
    "+CGMI", "+CGMM", "+CGMR", "+CGSN", "+CIMI", "+CSCS", "+CSQ", "+CREG", "+COPS", "+CPIN", "+CFUN", "+CMEE",
    "+CMGF", "+CSCA", "+CSMP", "+CPMS", "+CNMI", "+CMGS", "+CMGR", "+CMGL", "+CMGD", "+CNMA", "+CLIP",
    "+CRC", "+CVHU", "+VTS", "+CLAC",
)


@dataclass(frozen=True)
class Personality:
    name: str
    manufacturer: str
    model: str
    revision: str
    imei: str = "861234567890123"
    imsi: str = "460001234567890"
    operator: str = "CHINA MOBILE"
    signal: int = 21
    echo_after_reset: bool = True
    clac: tuple[str, ...] | None = _BASE_CLAC  # None: AT+CLAC is rejected
    reject: tuple[str, ...] = ()  # command prefixes (upper case, after AT) answered with an error
    unknown_reply: str = "ERROR"  # what an unknown command gets
    cpms_support: str = '("SM","SR"),("SM"),("SM")'
    cpms_reject: tuple[str, ...] = ()  # AT+CPMS=<args> variants refused with +CMS ERROR: 302 (substring match)
    cnmi_accept: tuple[str, ...] = ("2,1,0,2", "2,1,0,2,0", "2,1,0,1,0", "2,1,0,1", "1,1,0,2,0", "2,2,0,1,0", "2,1,0,0,0")
    direct_delivery: bool = False  # new SMS always as +CMT (not stored), whatever AT+CNMI asked
    first_reference: int = 0
    description: str = ""


PERSONALITIES: dict[str, Personality] = {
    p.name: p
    for p in (
        Personality(
            name="generic",
            manufacturer="Generic",
            model="GSM Modem",
            revision="1.0",
            description="standard answers to everything",
        ),
        Personality(
            name="huawei",
            manufacturer="huawei",
            model="E1550",
            revision="11.608.12.02.21",
            clac=_BASE_CLAC + ("^CVOICE", "^DTMF", "^USSDMODE", "^SYSINFO"),
            unknown_reply="COMMAND NOT SUPPORT",
            cpms_support='("SM","ME"),("SM","ME"),("SM","ME")',
            direct_delivery=True,
            first_reference=17,
            description="unknown commands get COMMAND NOT SUPPORT; new SMS come as +CMT (direct delivery)",
        ),
        Personality(
            name="simcom",
            manufacturer="SIMCOM_Ltd",
            model="SIMCOM_SIM800L",
            revision="Revision:1308B08SIM800L16",
            clac=None,
            cpms_support='("SM","ME","SM_P","ME_P","MT"),("SM","ME","SM_P","ME_P","MT"),("SM","ME","SM_P","ME_P","MT")',
            first_reference=200,
            description="rejects AT+CLAC; its message reference wraps past 255 soon",
        ),
        Personality(
            name="quectel",
            manufacturer="Quectel",
            model="EC25",
            revision="EC25EFAR06A06M4G",
            cpms_support='("SM","ME","SR","MT"),("SM","ME","MT"),("SM","ME","MT")',
            cpms_reject=('"ME","ME"',),
            description="lists ME storage but refuses AT+CPMS=\"ME\",\"ME\",...",
        ),
        Personality(
            name="wavecom",
            manufacturer="WAVECOM MODEM",
            model="MULTIBAND  900E  1800",
            revision="641b09gg.Q2403A 1320676 061804 14:38",
            clac=_BASE_CLAC + ("+WIND",),
            reject=("+CMEE=1",),
            cnmi_accept=("2,1,0,1,0", "2,1,0,1", "1,1,0,1,0"),
            description="rejects AT+CMEE=1; refuses status reports to storage (AT+CNMI ds=2): reports come as +CDS",
        ),
    )
}
