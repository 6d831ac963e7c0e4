"""The citizenship labels CBP uses in its Southwest border encounter release.

Why a fixed list: outputs are compared with CBP's table by label, so a scenario that
names a citizenship CBP does not report (or misspells one) is an input error, not a
silent extra column. The 21 named citizenships plus OTHER.
"""

CITIZENSHIPS: tuple[str, ...] = (
    "BRAZIL", "CANADA", "CHINA", "COLOMBIA", "CUBA", "ECUADOR", "EL SALVADOR",
    "GUATEMALA", "HAITI", "HONDURAS", "INDIA", "MEXICO", "MYANMAR", "NICARAGUA",
    "PERU", "PHILIPPINES", "ROMANIA", "RUSSIA", "TURKEY", "UKRAINE", "VENEZUELA",
    "OTHER",
)
CODE: dict[str, int] = {c: i for i, c in enumerate(CITIZENSHIPS)}
