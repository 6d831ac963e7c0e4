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

# Regions of origin: citizenships in a region share a trend of departures (and, where
# a scenario says so, behaviour). Mexico with northern Central America (the same land
# route and Title 42 regime); Cuba, Haiti, Nicaragua (air to Managua, the CHNV
# processes); South America (the Darién); from outside the Americas; the rest.
REGIONS: dict[str, tuple[str, ...]] = {
    "mexico_central_america": ("MEXICO", "GUATEMALA", "HONDURAS", "EL SALVADOR"),
    "caribbean_nicaragua": ("CUBA", "HAITI", "NICARAGUA"),
    "south_america": ("VENEZUELA", "COLOMBIA", "ECUADOR", "PERU", "BRAZIL"),
    "outside_americas": ("CHINA", "INDIA", "RUSSIA", "TURKEY", "ROMANIA", "UKRAINE", "PHILIPPINES", "MYANMAR"),
    "other": ("OTHER", "CANADA"),
}
REGION_OF: dict[str, str] = {c: r for r, cs in REGIONS.items() for c in cs}
