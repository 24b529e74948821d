"""The sample business: customers as the real source spells them, with their volume, sizes, seasons,
styles and colours (from the old system's data, `reference/seed_system_facts.md` §8).

Every size label here is a size column of `ORDERS_UNIFIED`; a test holds the catalogue to that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SizeRun:
    """A run of sizes a style is cut in; an order line orders a stretch of it.
    `kind` says what such a style is (a key of PRODUCTS)."""

    kind: str
    sizes: tuple[str, ...]


def _run(kind: str, labels: str) -> SizeRun:
    return SizeRun(kind, tuple(labels.split()))


ALPHA = _run("alpha", "XS S M L XL XXL")
ALPHA_WIDE = _run("alpha", "XXS XS S M L XL XXL 3XL 4XL")
PAIRED = _run("paired", "S/M M/L L/XL")
PLUS = _run("alpha", "1X 2X 3X 4X")
WAIST = _run("bottoms", "28 29 30 31 32 33 34 35 36 38 40 42 44 46 48")
WAIST_INSEAM = _run("bottoms", "30/30 30/32 32/30 32/32 34/30 34/32 36/30 36/32 38/30 38/32 38/34 38/36 40/30 40/32")
INSEAM_L = _run("bottoms", "28-30L 30-30L 30-31L 30-32L 31-30L 31-31L 31-32L 32-30L 32-31L 32-32L 33-30L 33-31L "
                           "33-32L 34-30L 34-31L 34-32L 35-30L 35-31L 35-32L 36-30L 36-31L 36-32L 38-30L 38-31L "
                           "38-32L 40-30L 40-31L")
INSEAM_X = _run("bottoms", "30X30 31X30 32X30 34X30 36X30 38X30 40X30")
BRA = _run("bra", "32C 32D 32DD 32DDD 34C 34D 34DD 34DDD 36C 36D 36DD 36DDD 38C 38D 38DD 38DDD")
WOMENS_W = _run("womens", "0w 2w 4w 6w 8w 10w 12w")
EUROPEAN = _run("bottoms", "44 46 48 50 52 54 56 58 60")
BABY = _run("kids", "0-3M 3-6M 6-9M 9-12M 12-18M 18-24M")
TODDLER = _run("kids", "2T 3T 4T 5T 6T 7")
KIDS_NUMERIC = _run("kids", "4 6 8 10 12")
KIDS_PAIRED = _run("kids", "2/3 4/5 6/7")
KIDS_ALPHA = _run("kids", "S(6-8) M(8-10) L(10-12) L(14-16)")
ONE_SIZE = SizeRun("one_size", ("ONE SIZE",))
OS = _run("one_size", "OS")

# (CATEGORY, STYLE DESCRIPTION, HS CODE) per kind of size run.
PRODUCTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "alpha": (
        ("TOPS", "SHORT SLEEVE TEE", "6109.10.00.12"),
        ("TOPS", "LONG SLEEVE QUARTER ZIP", "6110.30.30.53"),
        ("POLOS", "SPORT POLO", "6105.20.20.30"),
        ("OUTERWEAR", "QUILTED VEST", "6201.40.10.10"),
        ("OUTERWEAR", "WIND JACKET", "6201.40.10.10"),
        ("BOTTOMS", "JOGGER", "6103.43.15.20"),
        ("BOTTOMS", "7 INCH SHORT", "6103.43.15.70"),
        ("TOPS", "RACERBACK TANK", "6109.10.00.40"),
        ("DRESSES", "TENNIS DRESS", "6104.43.20.10"),
        ("KNITWEAR", "CREW NECK SWEATER", "6110.20.20.10"),
    ),
    "bottoms": (
        ("BOTTOMS", "5 POCKET PANT", "6203.43.40.20"),
        ("BOTTOMS", "TECH TROUSER", "6203.43.40.20"),
        ("BOTTOMS", "9 INCH GOLF SHORT", "6203.43.40.40"),
    ),
    "bra": (
        ("BRAS", "SPORTS BRA", "6212.10.90.20"),
        ("BRAS", "UNDERWIRE SPORTS BRA", "6212.10.90.20"),
    ),
    "womens": (
        ("DRESSES", "MIDI DRESS", "6104.43.20.10"),
        ("BOTTOMS", "TAILORED PANT", "6104.63.20.11"),
        ("SWIM", "ONE PIECE SWIMSUIT", "6112.41.00.10"),
    ),
    "kids": (
        ("KIDS", "KIDS RASHGUARD", "6112.39.00.10"),
        ("KIDS", "KIDS SWIM SHORT", "6112.39.00.10"),
        ("KIDS", "BABY ONESIE", "6111.20.60.70"),
    ),
    "paired": (
        ("ACCESSORIES", "PERFORMANCE SOCK", "6115.96.90.20"),
        ("ACCESSORIES", "COMPRESSION SLEEVE", "6117.80.95.10"),
    ),
    "one_size": (
        ("ACCESSORIES", "BEANIE", "6505.00.90.90"),
        ("ACCESSORIES", "CAP", "6505.00.15.15"),
        ("ACCESSORIES", "TOTE BAG", "4202.92.31.20"),
    ),
}

# In-DC date each AAG SEASON plans towards; order and ex-factory dates are worked back from it.
AAG_SEASON_IN_DC: dict[str, dt.date] = {
    "2025 SPRING": dt.date(2025, 2, 1),
    "2025 SUMMER": dt.date(2025, 5, 1),
    "2025 FALL": dt.date(2025, 8, 1),
    "2025 HOLIDAY": dt.date(2025, 10, 15),
    "2026 SPRING": dt.date(2026, 1, 15),
    "2026 SPRING SUMMER": dt.date(2026, 3, 1),
    "2026 SUMMER": dt.date(2026, 5, 1),
    "2026 FALL": dt.date(2026, 8, 1),
}

AAG_SEASON_CODES: dict[str, str] = {
    "2025 SPRING": "25SP", "2025 SUMMER": "25SU", "2025 FALL": "25FA", "2025 HOLIDAY": "25HO",
    "2026 SPRING": "26SP", "2026 SPRING SUMMER": "26SS", "2026 SUMMER": "26SU", "2026 FALL": "26FA",
}


@dataclass(frozen=True)
class SampleCustomer:
    """One customer of the sample business.

    `weight` is its pending order lines in the old system's 2025-08-02 run: the volume profile.
    `aliases` are other spellings the source uses for it; the sample config lists them.
    `size_runs` are the runs its styles are cut in (its size set is their union, in table labels).
    `seasons` are (CUSTOMER SEASON, AAG SEASON) pairs: one board group each.
    `styles` are style codes; `#` in one stands for a digit and `@` for a letter, to make more.
    `po_pattern` makes PO NUMBERs the same way.
    """

    name: str
    prefix: str
    weight: int
    size_runs: tuple[SizeRun, ...]
    seasons: tuple[tuple[str, str], ...]
    styles: tuple[str, ...]
    colours: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    quantity_range: tuple[int, int] = (48, 600)
    po_pattern: str = "#####"
    first_order_number: int = 1
    destinations: tuple[tuple[str, str], ...] = (("USA", "AAG LOS ANGELES DC"),)
    delivery_terms: str = "DDP"
    genders: tuple[str, ...] = ("MENS", "WOMENS")

    @property
    def size_set(self) -> tuple[str, ...]:
        """Every size label the customer orders in, first appearance first."""
        return tuple(dict.fromkeys(size for run in self.size_runs for size in run.sizes))


SAMPLE_CUSTOMERS: tuple[SampleCustomer, ...] = (
    SampleCustomer(
        name="GREYSON", prefix="GRE", weight=1091, aliases=("GREYSON CLOTHIERS",),
        size_runs=(_run("alpha", "XS S M L XL XXL 3XL 4XL"), _run("paired", "S/M L/XL"), WOMENS_W, WAIST,
                   _run("bottoms", "30/30 30/32 32/30 32/32 34/30 34/32 36/30 36/32 38/30 38/32 38/34 38/36"),
                   KIDS_NUMERIC, ONE_SIZE),
        seasons=(("2025 FALL", "2025 FALL"), ("2025 SUMMER", "2025 SUMMER"), ("2025 HOLIDAY", "2025 HOLIDAY"),
                 ("SPRING 26", "2026 SPRING SUMMER"), ("FALL 26", "2026 FALL")),
        styles=("MSP25B50", "LFA25K46", "LSP26I21", "MSP25@##", "MFA25@##", "LFA25@##", "LSP26@##", "MHO25@##"),
        colours=("942 - BONNEVILLE", "417 - MALTESE BLUE", "001 - SHEPHERD", "100 - ARCTIC", "410 - MAVERICK",
                 "COOL GREY ", "SOLID BLACK", "256 - FAWN"),
        quantity_range=(48, 480), po_pattern="####", first_order_number=4169,
        destinations=(("USA", "GREYSON NJ DC"),), delivery_terms="DDP",
    ),
    SampleCustomer(
        name="PELOTON", prefix="PEL", weight=1089, aliases=("Peloton Private Label",),
        size_runs=(ALPHA, PLUS, _run("bottoms", "30 32 34 36 38 40 42"), OS),
        seasons=(("2025 FALL", "2025 FALL"), ("2025 HOLIDAY", "2025 HOLIDAY"), ("ECOMM", "2025 FALL"),
                 ("2025 Q3", "2025 FALL"), ("2025 Q4", "2025 HOLIDAY"), ("2026 Q1", "2026 SPRING"),
                 ("2026 SPRING", "2026 SPRING"), ("SPRING 26 REBUY", "2026 SPRING SUMMER"),
                 ("2026 SUMMER", "2026 SUMMER"), ("HOLIDAY 25 REBUY", "2025 HOLIDAY"),
                 ("APPAREL CORE", "2025 FALL"), ("FALL 25 LAUNCH", "2025 FALL"), ("2026 FALL", "2026 FALL")),
        styles=("WR01049", "MT00495", "WR01221 P", "WR0####", "MT00###", "WR0#### P", "WT0####"),
        colours=("SOLID BLACK", "KNOCKOUT PINK", "WHITE", "DEEP NAVY", "HEATHER GREY", "BLACK / DIJON",
                 "PELOTON RED"),
        quantity_range=(43, 126), po_pattern="4500######", first_order_number=5116,
        destinations=(("USA", "PELOTON PLYMOUTH MI"), ("CANADA", "PELOTON TORONTO"), ("UK", "PELOTON LONDON")),
        delivery_terms="DDP",
    ),
    SampleCustomer(
        name="SUN DAY RED", prefix="SUN", weight=796,
        size_runs=(_run("alpha", "S M L XL XXL 3XL"), _run("bottoms", "30 32 34 36 38 40"), WAIST_INSEAM, OS),
        seasons=(("2025 FALL", "2025 FALL"), ("2025 HOLIDAY", "2025 HOLIDAY"), ("2026 SPRING", "2026 SPRING SUMMER")),
        styles=("SDRM25###", "SDRW25###", "SDRM26###", "S4W25501"),
        colours=("SUNDAY RED", "BLACK", "WHITE", "NAVY / RED", "STONE", "CHARCOAL HEATHER"),
        quantity_range=(48, 360), po_pattern="SDR#####", first_order_number=208,
    ),
    SampleCustomer(
        name="WHITE FOX", prefix="WHI", weight=591, aliases=("WHITE FOX (AU)",),
        size_runs=(_run("alpha", "XXS XS S M L XL XXL"), PAIRED, _run("kids", "6-9M 9-12M"), ONE_SIZE),
        seasons=(("2025 Q2", "2025 SUMMER"), ("2025 Q3", "2025 FALL"), ("2025 Q4", "2025 HOLIDAY")),
        styles=("WF####", "WFA25###", "WFS26###"),
        colours=("BLACK", "ICE BLUE", "MOCHA", "STONE", "BABY PINK", "N/A"),
        quantity_range=(60, 420), po_pattern="WFX####", first_order_number=1201,
        destinations=(("AUSTRALIA", "WHITE FOX MELBOURNE"), ("USA", "WHITE FOX LA 3PL")),
        delivery_terms="FOB", genders=("WOMENS",),
    ),
    SampleCustomer(
        name="TAYLOR MADE", prefix="TAY", weight=558,
        size_runs=(_run("alpha", "S M L XL 2XL 3XL"), OS),
        seasons=(("2025 FALL", "2025 FALL"), ("2025 HOLIDAY", "2025 HOLIDAY"), ("2026 SPRING", "2026 SPRING")),
        styles=("TM25####", "TM26####", "TMW25###"),
        colours=("BLACK", "NAVY", "WHITE", "HEATHER GREY", "TBD"),
        quantity_range=(72, 600), po_pattern="TMA######", first_order_number=799,
    ),
    SampleCustomer(
        name="SEISSENSE", prefix="SEI", weight=529,
        size_runs=(_run("alpha", "XS S M L XL"), _run("womens", "0 2 4 6 8 10 12")),
        seasons=(("DROP 1 FW25", "2025 FALL"), ("DROP 2 FW25", "2025 FALL"), ("DROP 3 FW25", "2025 HOLIDAY"),
                 ("HOLIDAY 25", "2025 HOLIDAY"), ("CORE", "2025 FALL"), ("DROP 1 SS26", "2026 SPRING SUMMER"),
                 ("DROP 2 SS26", "2026 SPRING SUMMER"), ("DROP 3 SS26", "2026 SUMMER"), ("RESORT 26", "2026 SPRING"),
                 ("CORE 26", "2026 SPRING")),
        styles=("SEIW012519", "SEIW######", "SEIM######"),
        colours=("NOIR", "IVORY", "SAGE", "CLAY", "DUSK BLUE"),
        quantity_range=(48, 300), po_pattern="SS-####", first_order_number=295,
        genders=("WOMENS",),
    ),
    SampleCustomer(
        name="CAMILLA", prefix="CAM", weight=319,
        size_runs=(_run("alpha", "XS S M L XL"), _run("womens", "6 8 10 12 14 16 18 20"), ONE_SIZE),
        seasons=(("HIGH SUMMER 25", "2025 SUMMER"), ("RESORT 25", "2025 FALL"), ("HOLIDAY 25", "2025 HOLIDAY"),
                 ("PRE SPRING 26", "2026 SPRING"), ("SPRING 26", "2026 SPRING SUMMER")),
        styles=("CMK0061", "CMK####", "CMW####"),
        colours=("THE CONCUBINE\u2019S CORRIDOR", "THE CONCUBINE\u0393\u00c7\u00d6S CORRIDOR", "SEA OF SEQUINS",
                 "LEOPARD LOVER", "WHITE"),
        quantity_range=(48, 320), po_pattern="CAM#####", first_order_number=4164,
        destinations=(("AUSTRALIA", "CAMILLA SYDNEY"), ("USA", "CAMILLA LA")), delivery_terms="FOB",
        genders=("WOMENS",),
    ),
    SampleCustomer(
        name="RYDERWEAR", prefix="RYD", weight=252,
        size_runs=(ALPHA, _run("bra", "XXS XS S M L")),
        seasons=(("2025 FALL", "2025 FALL"), ("2026 SPRING", "2026 SPRING")),
        styles=("RW####", "RWW####", "WT6206"),
        colours=("BLACK", "BLACK MARL", "SAND", "OLIVE"),
        quantity_range=(60, 500), po_pattern="RYD-####", first_order_number=6978,
        destinations=(("AUSTRALIA", "RYDERWEAR GOLD COAST"),), delivery_terms="FOB",
    ),
    SampleCustomer(
        name="JOHNNIE O", prefix="JOO", weight=226,
        size_runs=(_run("alpha", "S M L XL XXL 3XL"), KIDS_ALPHA),
        seasons=(("FALL 25", "2025 FALL"), ("HOLIDAY 25", "2025 HOLIDAY"), ("SPRING 26", "2026 SPRING")),
        styles=("JMHD100540", "JMHD1#####", "JWHD1#####", "JBHD1#####"),
        colours=("WHITE", "LAGUNA", "MALIBU RED", "WAKE", "BLACK"),
        quantity_range=(60, 540), po_pattern="JO######", first_order_number=505,
    ),
    SampleCustomer(
        name="ASRV", prefix="AER", weight=220, aliases=("AESTHETIC REVOLUTION LLC (US)",),
        size_runs=(ALPHA, _run("bottoms", "28 30 32 34 36")),
        seasons=(("FALL 25", "2025 FALL"), ("HOLIDAY 25", "2025 HOLIDAY"), ("WINTER 25", "2025 HOLIDAY"),
                 ("SPRING 26", "2026 SPRING"), ("SUMMER 26", "2026 SUMMER"), ("CORE", "2025 FALL")),
        styles=("223AA1180", "###AA####", "###AB####"),
        colours=("BLACK", "SPACE GREY", "BLACK / DIJON", "CHALK"),
        quantity_range=(48, 420), po_pattern="ASRV####", first_order_number=340,
    ),
    SampleCustomer(
        name="BORN PRIMITIVE", prefix="BOR", weight=187,
        size_runs=(_run("alpha", "XXS XS S M L XL"), _run("bra", "32C 32D 34C 34D 36C 36D")),
        seasons=(("2025 FALL", "2025 FALL"), ("2026 SPRING", "2026 SPRING")),
        styles=("BP-OD-JK2", "BO25A088503", "BP-@@-JK#", "BO25A######"),
        colours=("BLACK", "OLIVE", "STEEL BLUE", "COOL GREY "),
        quantity_range=(48, 400), po_pattern="BP####", first_order_number=499,
    ),
    SampleCustomer(
        name="TITLE NINE", prefix="TIT", weight=178, aliases=("TITLE 9",),
        size_runs=(ALPHA, BRA),
        seasons=(("FALL", "2025 FALL"), ("HOLIDAY", "2025 HOLIDAY"), ("SPRING 26 REBUY", "2026 SPRING"),
                 ("2022 Q2", "2025 SUMMER"), ("SUMMER", "2025 SUMMER"), ("SPRING", "2026 SPRING SUMMER"),
                 ("CATALOG 26", "2026 SPRING")),
        styles=("629249", "619290", "100714", "6#####", "1#####"),
        colours=("BLACK", "SOLID BLACK", "KNOCKOUT PINK", "EVERGREEN", "417 - MALTESE BLUE"),
        quantity_range=(92, 758), po_pattern="T9######", first_order_number=750,
        genders=("WOMENS",),
    ),
    SampleCustomer(
        name="BAD BIRDIE", prefix="BAD", weight=149,
        size_runs=(_run("alpha", "XS S M L XL XXL 3XL"),),
        seasons=(("FALL 25", "2025 FALL"), ("SPRING 26", "2026 SPRING")),
        styles=("BBWJ018-128", "BBW@###-###", "BBM@###-###"),
        colours=("SPLATTER", "CHECKMATE", "WHITE", "BLACK"),
        quantity_range=(48, 360), po_pattern="BB####", first_order_number=405,
    ),
    SampleCustomer(
        name="UNE PIECE", prefix="UNE", weight=120,
        size_runs=(_run("alpha", "XS S M L XL"),),
        seasons=(("2025 FALL", "2025 FALL"), ("2026 SPRING", "2026 SPRING")),
        styles=("UP25###", "UP26###"),
        colours=("BLACK", "CREAM", "MOSS"),
        quantity_range=(48, 300), po_pattern="UP####", first_order_number=721,
        destinations=(("AUSTRALIA", "DAVID JONES SYDNEY"),), delivery_terms="FOB", genders=("WOMENS",),
    ),
    SampleCustomer(
        name="TRACK SMITH", prefix="TRA", weight=115, aliases=("TRACKSMITH",),
        size_runs=(ALPHA,),
        seasons=(("FALL 25", "2025 FALL"), ("SPRING 26", "2026 SPRING")),
        styles=("TK630", "TK###", "TKW###"),
        colours=("WHITE (REFLECTIVE LOGO)", "NAVY", "BLACK", "HEATHER GREY"),
        quantity_range=(48, 300), po_pattern="TS####", first_order_number=328,
    ),
    SampleCustomer(
        name="SPIRITUAL GANGSTER", prefix="SPI", weight=104,
        size_runs=(_run("alpha", "XS S M L XL"),),
        seasons=(("FALL 1", "2025 FALL"), ("FALL 2", "2025 FALL"), ("HOLIDAY 1", "2025 HOLIDAY"),
                 ("HOLIDAY 2", "2025 HOLIDAY"), ("SPRING 1", "2026 SPRING"), ("SPRING 2", "2026 SPRING"),
                 ("SUMMER 1", "2026 SUMMER"), ("CORE", "2025 FALL")),
        styles=("SWBR015", "SWBR###", "SWTP###"),
        colours=("VINTAGE BLACK", "STONE", "SAGE", "WHITE"),
        quantity_range=(48, 300), po_pattern="SG#####", first_order_number=625, genders=("WOMENS",),
    ),
    SampleCustomer(
        name="FEETURES", prefix="FEE", weight=79,
        size_runs=(_run("paired", "S M L XL"), PAIRED),
        seasons=(("2025 FALL", "2025 FALL"), ("2026 SPRING", "2026 SPRING")),
        styles=("FE####", "FEM####"),
        colours=("BLACK", "WHITE", "GREY"),
        quantity_range=(96, 600), po_pattern="FT####", first_order_number=81,
    ),
    SampleCustomer(
        name="ALWRLD", prefix="ALW", weight=77,
        size_runs=(ALPHA,),
        seasons=(("FW25", "2025 FALL"), ("SS26", "2026 SPRING SUMMER")),
        styles=("ALWW042205", "ALWW######", "ALWM######"),
        colours=("BLACK", "BONE", "SLATE"),
        quantity_range=(48, 300), po_pattern="AW####", first_order_number=95,
    ),
    SampleCustomer(
        name="DSSLR", prefix="DSS", weight=77,
        size_runs=(_run("alpha", "S M L XL XXL"),),
        seasons=(("FALL 25", "2025 FALL"),),
        styles=("DS###", "DSP###"),
        colours=("BLACK", "WHITE", "NAVY"),
        quantity_range=(48, 300), po_pattern="DS####", first_order_number=11, genders=("MENS",),
    ),
    SampleCustomer(
        name="EQUINOX", prefix="EQU", weight=77,
        size_runs=(_run("alpha", "XS S M L XL"), OS),
        seasons=(("FALL 25", "2025 FALL"), ("HOLIDAY 25", "2025 HOLIDAY"), ("SPRING 26", "2026 SPRING"),
                 ("SUMMER 26", "2026 SUMMER"), ("HOTEL", "2025 FALL"), ("SPA", "2025 FALL"),
                 ("CLUB STAFF", "2025 FALL"), ("RETAIL CORE", "2025 FALL"), ("ECOMM", "2025 HOLIDAY"),
                 ("PROMO", "2026 SPRING")),
        styles=("EQXU012401", "EQXU######", "EQXW######"),
        colours=("BLACK", "WHITE", "CHARCOAL", "NAVY"),
        quantity_range=(48, 420), po_pattern="EQ######", first_order_number=8559,
    ),
    SampleCustomer(
        name="BANDIT RUNNING", prefix="BRU", weight=63,
        size_runs=(ALPHA,),
        seasons=(("FALL 25", "2025 FALL"), ("SPRING 26", "2026 SPRING")),
        styles=("BR###", "BRW###"),
        colours=("WHITE (REFLECTIVE LOGO)", "BLACK", "SIGNAL ORANGE"),
        quantity_range=(48, 300), po_pattern="BRU####", first_order_number=50,
    ),
    SampleCustomer(
        name="SOUL CYCLE", prefix="SOU", weight=48,
        size_runs=(_run("alpha", "XS S M L XL"), OS),
        seasons=(("FALL 25", "2025 FALL"), ("HOLIDAY 25", "2025 HOLIDAY"), ("SPRING 26", "2026 SPRING"),
                 ("INSTRUCTOR", "2025 FALL"), ("STUDIO", "2025 FALL"), ("COLLAB", "2025 HOLIDAY"),
                 ("SUMMER 26", "2026 SUMMER")),
        styles=("SC####", "SCW####"),
        colours=("BLACK", "SOUL YELLOW", "WHITE"),
        quantity_range=(48, 300), po_pattern="SC####", first_order_number=631,
    ),
    SampleCustomer(
        name="BOGGI", prefix="BOG", weight=46, aliases=("BOGGI MILANO",),
        size_runs=(EUROPEAN,),
        seasons=(("FW25", "2025 FALL"), ("SS26", "2026 SPRING SUMMER")),
        styles=("BO########",),
        colours=("NAVY", "GREY", "BLACK"),
        quantity_range=(48, 300), po_pattern="BOG####", first_order_number=16131,
        destinations=(("ITALY", "BOGGI MILANO WH"),), delivery_terms="FOB", genders=("MENS",),
    ),
    SampleCustomer(
        name="RHONE", prefix="RHO", weight=40,
        size_runs=(ALPHA, _run("kids", "8 10 12"), _run("bottoms", "28 29 30 31 32 33 34 35 36 38 40"),
                   INSEAM_L),
        seasons=(("FALL 25", "2025 FALL"), ("SPRING 26", "2026 SPRING")),
        styles=("RBCR", "RH####", "RHM####"),
        colours=("BLACK", "NAVY", "KHAKI"),
        quantity_range=(48, 360), po_pattern="RHO####", first_order_number=2026, genders=("MENS",),
    ),
    SampleCustomer(
        name="MACK WELDON", prefix="MWE", weight=38,
        size_runs=(_run("alpha", "XXS XS S M L XL XXL"), INSEAM_X, OS),
        seasons=(("FALL 25", "2025 FALL"),),
        styles=("M02Z23", "M0#@##"),
        colours=("BLACK", "HEATHER GREY", "TRUE NAVY"),
        quantity_range=(48, 300), po_pattern="MW####", first_order_number=22, genders=("MENS",),
    ),
    SampleCustomer(
        name="JOHNNY WAS", prefix="JOW", weight=36,
        size_runs=(_run("alpha", "XS S M L XL"), KIDS_PAIRED),
        seasons=(("HOLIDAY 25", "2025 HOLIDAY"), ("SPRING 26", "2026 SPRING")),
        styles=("A0123-4", "A####-#", "A1222A9, A1222B9, A1222C9"),
        colours=("MULTI", "WHITE", "BLACK"),
        quantity_range=(48, 300), po_pattern="JW####", first_order_number=764, genders=("WOMENS",),
    ),
    SampleCustomer(
        name="RHYTHM", prefix="RHY", weight=36, aliases=("RHYTHM (AU)", "RHYTHM (US)"),
        size_runs=(_run("alpha", "XXS XS S M L XL XXL XXXL"),),
        seasons=(("SUMMER 25", "2025 SUMMER"), ("FALL 25", "2025 FALL")),
        styles=("RY####", "RYW####"),
        colours=("SAND", "VINTAGE BLACK", "OLIVE"),
        quantity_range=(48, 300), po_pattern="RH####", first_order_number=1742,
        destinations=(("AUSTRALIA", "RHYTHM BYRON BAY"), ("USA", "RHYTHM SAN CLEMENTE")), delivery_terms="FOB",
    ),
    SampleCustomer(
        name="SUMMERSALT", prefix="SUM", weight=20,
        size_runs=(BABY, TODDLER, _run("alpha", "XXXS XXS XS S M L XL"), _run("alpha", "1X 2X"),
                   _run("womens", "0 2 4 6 8 10 12 14 16 18 20 22 24")),
        seasons=(("2025 Q2", "2025 SUMMER"), ("2025 Q4", "2025 HOLIDAY")),
        styles=("102440", "1#####", "2#####"),
        colours=("BLUE TIDE", "CORAL", "BLACK"),
        quantity_range=(48, 300), po_pattern="SUM#####", first_order_number=2515, genders=("WOMENS", "KIDS"),
    ),
    SampleCustomer(
        name="AIME LEON DORE", prefix="AIM", weight=20,
        size_runs=(ALPHA, _run("bottoms", "28 29 30 31 32 33 34 36")),
        seasons=(("FW25", "2025 FALL"),),
        styles=("ALD####",),
        colours=("CREAM", "FOREST", "NAVY"),
        quantity_range=(48, 240), po_pattern="ALD####", first_order_number=78, genders=("MENS",),
    ),
    SampleCustomer(
        name="AJE", prefix="AJE", weight=11, aliases=("AJE ATHLETICA (AU)",),
        size_runs=(_run("womens", "4 6 8 10 12 14"), _run("alpha", "XXS XS S M L")),
        seasons=(("RESORT 25", "2025 FALL"),),
        styles=("AJ####",),
        colours=("IVORY", "BLACK"),
        quantity_range=(48, 240), po_pattern="AJE####", first_order_number=1315,
        destinations=(("AUSTRALIA", "AJE SYDNEY"),), delivery_terms="FOB", genders=("WOMENS",),
    ),
    SampleCustomer(
        name="B'HOOD", prefix="BHO", weight=24,
        size_runs=(ALPHA,),
        seasons=(("FALL 25", "2025 FALL"), ("SPRING 26", "2026 SPRING")),
        styles=("BH####",),
        colours=("BLACK", "WASHED OLIVE", "BONE"),
        quantity_range=(48, 240), po_pattern="BH####", first_order_number=112,
    ),
    SampleCustomer(
        name="LORNA JANE", prefix="LOR", weight=18, aliases=("LORNA JANE (AU)", "LORNA JANE (NZ)"),
        size_runs=(_run("alpha", "XXS XS S M L XL XXL"),),
        seasons=(("SUMMER 25", "2025 SUMMER"),),
        styles=("LJ######",),
        colours=("BLACK", "LILAC", "MINT"),
        quantity_range=(48, 300), po_pattern="LJ#####", first_order_number=330,
        destinations=(("AUSTRALIA", "LORNA JANE BRISBANE"), ("NEW ZEALAND", "LORNA JANE AUCKLAND")),
        delivery_terms="FOB", genders=("WOMENS",),
    ),
    SampleCustomer(
        name="ACTIVELY BLACK", prefix="ACT", weight=14,
        size_runs=(_run("alpha", "XXS XS S M L XL"), _run("alpha", "2X 3X 4X")),
        seasons=(("FALL 25", "2025 FALL"),),
        styles=("AB####",),
        colours=("BLACK", "WHITE"),
        quantity_range=(48, 240), po_pattern="AB####", first_order_number=18,
    ),
    SampleCustomer(
        name="CUTS CLOTHING", prefix="CUT", weight=10,
        size_runs=(_run("alpha", "S M L XL XXL 3XL"),),
        seasons=(("FALL 25", "2025 FALL"),),
        styles=("CU####",),
        colours=("BLACK", "HEATHER GREY"),
        quantity_range=(48, 240), po_pattern="CUT####", first_order_number=55, genders=("MENS",),
    ),
    SampleCustomer(
        name="AESCAPE", prefix="AES", weight=8,
        size_runs=(ALPHA_WIDE, OS),
        seasons=(("2025 FALL", "2025 FALL"),),
        styles=("AE####",),
        colours=("BLACK", "SAND"),
        quantity_range=(48, 240), po_pattern="####", first_order_number=30,
    ),
    SampleCustomer(
        name="LAMBS", prefix="LMB", weight=8, aliases=("GET LAMBS",),
        size_runs=(_run("alpha", "XS S M L XL"),),
        seasons=(("FALL 25", "2025 FALL"),),
        styles=("LB####",),
        colours=("BLACK", "OATMEAL"),
        quantity_range=(48, 240), po_pattern="LMB####", first_order_number=407,
    ),
    SampleCustomer(
        name="BC BRANDS", prefix="BCB", weight=6,
        size_runs=(_run("alpha", "XS S M L XL"),),
        seasons=(("FALL 25", "2025 FALL"),),
        styles=("BC####",),
        colours=("BLACK", "NAVY"),
        quantity_range=(48, 240), po_pattern="BC####", first_order_number=341,
    ),
)


def customer_aliases() -> dict[str, list[str]]:
    """Canonical customer name → the other spellings the sample data uses for it.

    Spellings that differ only by surrounding spaces, case or typographic quotes are not listed:
    the transform folds those itself.
    """
    return {customer.name: list(customer.aliases) for customer in SAMPLE_CUSTOMERS}
