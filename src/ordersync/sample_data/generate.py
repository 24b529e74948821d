"""Generate order lines shaped exactly like `ORDERS_UNIFIED`: pure and deterministic for a seed.

Each customer's lines come in purchase orders (one season each); each line is one style in one
colour, ordering a stretch of the style's size run. The share of each kind of realistic dirt is
fixed here; `summary.py` counts what actually came out.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from ordersync.sample_data.catalogue import (
    AAG_SEASON_CODES,
    AAG_SEASON_IN_DC,
    PRODUCTS,
    SAMPLE_CUSTOMERS,
    SampleCustomer,
)
from ordersync.sample_data.source_table import COLUMN_NAMES

DEFAULT_SEED = 4755
DEFAULT_ROWS = 3000

# The old system's one end-to-end test case, kept exact whatever the size of the sample.
FIXED_CUSTOMER = "GREYSON"
FIXED_PO = "4755"
FIXED_SEASON = ("2025 FALL", "2025 FALL")
FIXED_LINES = 69
FIXED_PAIRS = 264
FIXED_ORDER_NUMBER_SPAN = 300  # AAG numbers kept for the fixed case; GREYSON's other lines come after
MIN_ROWS = 100

MISSING_KEY = "missing_key"
DUPLICATE_KEY = "duplicate_key"
BAD_PRICE = "bad_price"
ROWS_PER_BAD_ROW_OF_EACH_KIND = 1000

# Shares of ordinary (not fixed-case) lines.
ZERO_QUANTITY_SHARE = 0.015
CANCELLED_SHARE = 0.03
REPEATED_ORDER_NUMBER_SHARE = 0.03
TBD_STYLE_SHARE = 0.01
EXPLICIT_ZERO_SHARE = 0.1
NOTES_SHARE = 0.1
BOTH_SEASONS_EMPTY_SHARE = 0.004
TRAILING_SPACE_LINE_SHARE = 0.01
TYPOGRAPHIC_QUOTE_LINE_SHARE = 0.4  # B’HOOD: files typed in Excel or Word curl the apostrophe
# Shares of purchase orders.
ALIAS_PO_SHARE = 0.15
CUSTOMER_SEASON_EMPTY_PO_SHARE = 0.06
LOWER_CASE_PO_SHARE = 0.03
TRAILING_SPACE_PO_SHARE = 0.04

DELIVERY_METHODS = ("OCEAN", "AIR", "GROUND", "EXPRESS")
DELIVERY_METHOD_WEIGHTS = (70, 15, 8, 7)
TRANSIT_DAYS = {"OCEAN": (28, 45), "AIR": (5, 10), "GROUND": (7, 14), "EXPRESS": (3, 5)}
DELIVERY_CODES = {"OCEAN": "SEA", "AIR": "AIR", "GROUND": "TRK", "EXPRESS": "EXP"}

# Price columns are text in the real table, so a non-number can sit in them.
PRICE_COLUMNS = (
    "CUSTOMER PRICE", "USA ONLY LSTP 75% EX WORKS", "EX WORKS (USD)", "ADMINISTRATION FEE", "DESIGN FEE",
    "FX CHARGE", "HANDLING", "PNP", "SURCHARGE FEE", "DISCOUNT", "FINAL FOB (USD)", "US DUTY RATE", "US DUTY",
    "FREIGHT", "US TARIFF RATE", "US TARIFF", "DDP US (USD)", "UK DUTY RATE", "UK FREIGHT", "UK INSURANCE",
    "UK CIF", "UK DUTY", "DDP UK (USD)", "CAN DUTY RATE", "CAN DUTY", "DDP CAN (USD)", "SMS PRICE USD",
)
BAD_PRICE_COLUMNS = ("CUSTOMER PRICE", "FINAL FOB (USD)", "EX WORKS (USD)", "DDP US (USD)")
BAD_PRICE_VALUES = ("TBC", "TBA", "SEE NOTES")

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
PLANNERS = ("ANNA NGUYEN", "BEN CARTER", "CHLOE MARTIN", "DAVID TRAN", "EMMA WILSON", "FAISAL KHAN")
NOTES = (
    "PLEASE CONFIRM FABRIC BEFORE BULK CUT",
    "SPLIT SHIPMENT - BALANCE TO FOLLOW",
    "CUSTOMER REQUESTED EARLIER EX FACTORY",
    "TRIMS ON HOLD PENDING LAB DIP APPROVAL",
    "REBUY OF PREVIOUS PO, SAME SPEC",
    "HANG TAGS SUPPLIED BY CUSTOMER",
    "Packing: 1 pc per polybag, 12 pcs per carton",
)
PRICE_NOTES = ("PRICE BASED ON 1,000 PCS MOQ", "FOB INCLUDES TEST COST", "AWAITING FINAL COSTING")
VALIDATIONS = ("OK", "CHECK QTY", "CHECK PRICE", "OK - MATCHES PO")
FACILITIES = ("AAG-VN01", "AAG-VN02", "AAG-CN01", "AAG-KH01", "AAG-BD01")
COLLECTIONS = ("CORE", "GOLF", "RUN", "STUDIO", "TRAVEL", "LOUNGE", "TENNIS")
CHANNELS = ("WHOLESALE", "ECOMM", "RETAIL")
PRODUCT_GROUP_CODES = {"TOPS": "TOP", "POLOS": "POL", "OUTERWEAR": "OUT", "BOTTOMS": "BTM", "DRESSES": "DRS",
                       "KNITWEAR": "KNT", "BRAS": "BRA", "SWIM": "SWM", "KIDS": "KID", "ACCESSORIES": "ACC"}
WOVEN_CATEGORIES = frozenset({"OUTERWEAR", "BOTTOMS", "DRESSES"})

_BLANK_ROW: dict[str, object] = dict.fromkeys(COLUMN_NAMES)
_PATTERN_DIGIT, _PATTERN_LETTER = "#", "@"


@dataclass
class _Style:
    code: str
    sizes: tuple[str, ...]
    colours: tuple[str, ...]
    fob: float
    fields: dict[str, object]  # the columns a style decides, the same on each of its lines
    prices: dict[str, dict[str, object]] = field(default_factory=dict)  # by destination country


@dataclass
class _PurchaseOrder:
    raw_customer: str
    country: str
    in_dc: dt.date
    styles: list[_Style]
    fields: dict[str, object]


@dataclass
class _LineRecord:
    """What the next line needs to know about the previous one (to repeat its AAG ORDER NUMBER)."""

    order_number: str
    method: str
    style: _Style
    colour: str


def _fill_pattern(pattern: str, rng: random.Random) -> str:
    return "".join(
        str(rng.randrange(10)) if char == _PATTERN_DIGIT
        else chr(65 + rng.randrange(26)) if char == _PATTERN_LETTER
        else char
        for char in pattern
    )


def _is_pattern(code: str) -> bool:
    return _PATTERN_DIGIT in code or _PATTERN_LETTER in code


_COLOUR_CODE = re.compile(r"^(\d+)\s*-")


def colour_code(colour: str) -> str:
    """A short code for a colour: its number when it has one ('942 - BONNEVILLE' → '942'), else letters."""
    numbered = _COLOUR_CODE.match(colour)
    if numbered:
        return numbered.group(1)
    letters = re.sub(r"[^A-Z]", "", colour.upper())
    return letters[:3] or "NA"


def _money(value: float) -> str:
    return f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def line_counts(rows: int) -> dict[str, int]:
    """How many order lines each customer gets: the volume profile by largest remainder,
    plus the fixed GREYSON PO 4755 lines on top of GREYSON's share."""
    if rows < MIN_ROWS:
        raise ValueError(f"the sample needs at least {MIN_ROWS} rows (it holds the {FIXED_LINES}-line GREYSON PO "
                         f"{FIXED_PO} case), not {rows}")
    ordinary = rows - FIXED_LINES
    total_weight = sum(customer.weight for customer in SAMPLE_CUSTOMERS)
    quotas = [ordinary * customer.weight / total_weight for customer in SAMPLE_CUSTOMERS]
    counts = [math.floor(quota) for quota in quotas]
    by_remainder = sorted(range(len(quotas)), key=lambda index: (counts[index] - quotas[index], index))
    for index in by_remainder[: ordinary - sum(counts)]:
        counts[index] += 1
    result = {customer.name: count for customer, count in zip(SAMPLE_CUSTOMERS, counts, strict=True)}
    result[FIXED_CUSTOMER] += FIXED_LINES
    return result


class _CustomerOrders:
    """Makes one customer's purchase orders and order lines from one random stream."""

    def __init__(self, customer: SampleCustomer, rng: random.Random, *, first_order_number: int,
                 style_count: int, customer_code: str) -> None:
        self.customer = customer
        self.rng = rng
        self.next_order_number = first_order_number
        self.customer_code = customer_code
        self.styles = self._style_pool(style_count)
        self.tbd_style = self._style("TBD")
        self.keys_of_order_number: dict[str, set[tuple[str, str]]] = {}
        self.po_numbers: set[str] = {FIXED_PO}
        self.season_cycle = list(customer.seasons)
        rng.shuffle(self.season_cycle)
        self.purchase_orders_made = 0

    # -- styles ------------------------------------------------------------------------------
    def _style_pool(self, count: int) -> list[_Style]:
        real = [code for code in self.customer.styles if not _is_pattern(code)]
        patterns = [code for code in self.customer.styles if _is_pattern(code)] or real
        codes = list(dict.fromkeys(real))
        attempts = 0
        while len(codes) < count and patterns and attempts < count * 20:
            code = _fill_pattern(self.rng.choice(patterns), self.rng)
            if code not in codes:
                codes.append(code)
            attempts += 1
        return [self._style(code) for code in codes]

    def _style(self, code: str) -> _Style:
        rng, customer = self.rng, self.customer
        run_weights = [3] + [1] * (len(customer.size_runs) - 1)
        run = rng.choices(customer.size_runs, weights=run_weights)[0]
        category, description, hs_code = rng.choice(PRODUCTS[run.kind])
        gender = rng.choice(customer.genders)
        colours = tuple(rng.sample(customer.colours, rng.randint(1, min(4, len(customer.colours)))))
        product_group = PRODUCT_GROUP_CODES[category]
        make_or_buy = rng.choice(("MAKE", "BUY"))
        fabric = "WOVEN" if category in WOVEN_CATEGORIES else "KNIT"
        gender_code = gender[0]
        maybe = self._maybe
        fields: dict[str, object] = {
            "CUSTOMER STYLE": code,
            "STYLE DESCRIPTION": f"{gender} {description}",
            "CATEGORY": category,
            "HS CODE": maybe(0.85, hs_code),
            "PATTERN ID": maybe(0.45, f"PT{rng.randrange(10000, 99999)}"),
            "MAKE OR BUY": maybe(0.6, make_or_buy),
            "ORIGINAL ALIAS/RELATED ITEM": maybe(0.35, f"{customer.prefix}-{code}"),
            "PRICING ALIAS/RELATED ITEM": maybe(0.25, f"{customer.prefix}-{code}-P"),
            "ACTIVE": maybe(0.5, "Y"),
            "INFOR MAKE/BUY CODE": maybe(0.4, make_or_buy[0]),
            "MAKE/BUY CODE": maybe(0.3, make_or_buy[0]),
            "ITEM TYPE CODE": maybe(0.45, "FG"),
            "INFOR ITEM TYPE CODE": maybe(0.3, rng.choice(("FG", "FGA"))),
            "PRODUCT GROUP CODE": maybe(0.5, product_group),
            "INFOR PRODUCT GROUP CODE": maybe(0.35, product_group),
            "ITEM GROUP CODE": maybe(0.4, product_group + gender_code),
            "INFOR ITEM GROUP CODE": maybe(0.3, product_group + gender_code),
            "GENDER GROUP CODE": maybe(0.55, gender_code),
            "INFOR GENDER GROUP CODE": maybe(0.35, gender_code),
            "FABRIC TYPE CODE": maybe(0.5, fabric),
            "INFOR FABRIC TYPE CODE": maybe(0.3, fabric[0]),
            "Longson Alias": maybe(0.2, f"LS-{code}"),
        }
        fob = round(rng.uniform(6.0, 45.0), 2)
        return _Style(code=code, sizes=run.sizes, colours=colours, fob=fob, fields=fields)

    def _maybe(self, share: float, value: object) -> object:
        return value if self.rng.random() < share else None

    def _prices(self, style: _Style, country: str) -> dict[str, object]:
        """The price columns of a style shipped to a country (cached: one costing per style and market)."""
        cached = style.prices.get(country)
        if cached is not None:
            return cached
        rng, maybe, fob = self.rng, self._maybe, style.fob
        freight = rng.uniform(0.3, 1.5)
        prices: dict[str, object] = {
            "FINAL FOB (USD)": _money(fob),
            "EX WORKS (USD)": maybe(0.5, _money(fob * 0.92)),
            "USA ONLY LSTP 75% EX WORKS": maybe(0.2, _money(fob * 0.92 * 0.75)),
            "ADMINISTRATION FEE": maybe(0.3, _money(rng.choice((0.1, 0.15, 0.25)))),
            "DESIGN FEE": maybe(0.2, _money(rng.choice((0.5, 1.0)))),
            "FX CHARGE": maybe(0.2, _money(fob * 0.01)),
            "HANDLING": maybe(0.4, _money(rng.choice((0.1, 0.15, 0.2)))),
            "PNP": maybe(0.3, _money(rng.choice((0.05, 0.08)))),
            "SURCHARGE FEE": maybe(0.2, _money(rng.choice((0.0, 0.25, 0.5)))),
            "DISCOUNT": maybe(0.2, _money(rng.choice((0.0, fob * 0.03)))),
            "SMS PRICE USD": maybe(0.3, _money(rng.choice((25.0, 35.0, 50.0)))),
            "FINAL PRICES Y/N": maybe(0.6, rng.choice(("Y", "N"))),
            "NOTES FOR PRICE": maybe(0.15, rng.choice(PRICE_NOTES)),
            "PRICING NOTES": maybe(0.15, rng.choice(PRICE_NOTES)),
        }
        landed = fob
        if country == "USA":
            duty_rate, tariff_rate = rng.choice((0.16, 0.28, 0.32)), rng.choice((0.1, 0.2))
            landed = fob * (1 + duty_rate + tariff_rate) + freight
            prices.update({
                "US DUTY RATE": _rate(duty_rate), "US DUTY": _money(fob * duty_rate), "FREIGHT": _money(freight),
                "US TARIFF RATE": _rate(tariff_rate), "US TARIFF": _money(fob * tariff_rate),
                "DDP US (USD)": _money(landed),
            })
        elif country == "UK":
            duty_rate, insurance = 0.12, fob * 0.01
            cif = fob + freight + insurance
            landed = cif * (1 + duty_rate)
            prices.update({
                "UK DUTY RATE": _rate(duty_rate), "UK FREIGHT": _money(freight), "UK INSURANCE": _money(insurance),
                "UK CIF": _money(cif), "UK DUTY": _money(cif * duty_rate), "DDP UK (USD)": _money(landed),
            })
        elif country == "CANADA":
            duty_rate = 0.18
            landed = fob * (1 + duty_rate) + freight
            prices.update({"CAN DUTY RATE": _rate(duty_rate), "CAN DUTY": _money(fob * duty_rate),
                           "DDP CAN (USD)": _money(landed)})
        prices["CUSTOMER PRICE"] = maybe(0.9, _money(landed if self.customer.delivery_terms == "DDP" else fob))
        style.prices[country] = prices
        return prices

    # -- purchase orders ---------------------------------------------------------------------
    def _raw_customer_name(self) -> str:
        rng, customer = self.rng, self.customer
        name = customer.name
        # The second order is always spelled with an alias, so a small sample has them too.
        if customer.aliases and (self.purchase_orders_made == 2 or rng.random() < ALIAS_PO_SHARE):
            name = rng.choice(customer.aliases)
        if rng.random() < LOWER_CASE_PO_SHARE:
            name = name.lower()
        if rng.random() < TRAILING_SPACE_PO_SHARE:
            name += " "
        return name

    def _po_number(self) -> str:
        while True:
            number = _fill_pattern(self.customer.po_pattern, self.rng)
            if number not in self.po_numbers:
                self.po_numbers.add(number)
                return number

    def purchase_order(self, *, number: str | None = None, season: tuple[str, str] | None = None,
                       raw_customer: str | None = None, lines: int = 0) -> _PurchaseOrder:
        rng, maybe, customer = self.rng, self._maybe, self.customer
        if season is None:
            season = self.season_cycle[self.purchase_orders_made % len(self.season_cycle)]
        self.purchase_orders_made += 1
        customer_season, aag_season = season
        shown_customer_season: str | None = customer_season
        if number is None and rng.random() < CUSTOMER_SEASON_EMPTY_PO_SHARE:
            shown_customer_season = rng.choice((None, None, ""))
        number = number or self._po_number()
        in_dc = AAG_SEASON_IN_DC[aag_season] + dt.timedelta(days=rng.randint(-21, 35))
        country, warehouse = rng.choice(customer.destinations)
        style_count = max(1, min(len(self.styles), round(lines / 2.5) or 1))
        fields: dict[str, object] = {
            "CUSTOMER NAME": raw_customer if raw_customer is not None else self._raw_customer_name(),
            "PO NUMBER": number,
            "CUSTOMER ALT PO": maybe(0.3, f"{number}-{rng.randint(1, 9)}"),
            "ORDER DATE PO RECEIVED": in_dc - dt.timedelta(days=rng.randint(100, 160)),
            "AAG SEASON": aag_season,
            "CUSTOMER SEASON": shown_customer_season,
            "AAG SEASON CODE": maybe(0.6, AAG_SEASON_CODES[aag_season]),
            "DROP": maybe(0.65, f"DROP{rng.randint(1, 4):02d}"),
            "MONTH": maybe(0.6, MONTHS[in_dc.month - 1]),
            "RANGE / COLLECTION": maybe(0.35, rng.choice(COLLECTIONS)),
            "PROMO GROUP / CAMPAIGN (HOT 30/GLOBAL EDIT": maybe(0.2, rng.choice(("HOT 30", "GLOBAL EDIT"))),
            "PLANNER": maybe(0.6, rng.choice(PLANNERS)),
            "PLANNER2": maybe(0.25, rng.choice(PLANNERS)),
            "All": maybe(0.2, "ALL"),
            "Multiple Items": maybe(0.2, rng.choice(("Y", "N"))),
            "FACILITY CODE": maybe(0.45, rng.choice(FACILITIES)),
            "BULK AGREEMENT NUMBER": maybe(0.3, f"BA{rng.randrange(10000, 99999)}"),
            "BULK AGREEMENT DESCRIPTION": maybe(0.25, f"{customer.name} {aag_season} BULK"),
            "CUSTOMER CODE": maybe(0.6, self.customer_code),
            "CO NUMBER - INITIAL DISTRO": maybe(0.3, f"CO{rng.randrange(1000000, 9999999)}"),
            "CO NUMBER (INITIAL DISTRO)": maybe(0.25, f"CO{rng.randrange(1000000, 9999999)}"),
            "CO NUMBER (ALLOCATION DISTRO)": maybe(0.2, f"CO{rng.randrange(1000000, 9999999)}"),
            "CO NUMBER - ALLOCATION DISTRO": maybe(0.2, f"CO{rng.randrange(1000000, 9999999)}"),
            "DESTINATION": country,
            "DESTINATION WAREHOUSE": warehouse,
            "DELIVERY TERMS": customer.delivery_terms if rng.random() < 0.9 else rng.choice(("DDP", "FOB")),
            "ALLOCATION (CHANNEL)": maybe(0.4, rng.choice(CHANNELS)),
            "SHOP NAME": maybe(0.2, f"{customer.name.title()} {rng.choice(('Flagship', 'Online', 'Outlet'))}"),
            "SHOP CODE": maybe(0.2, f"SH{rng.randrange(100, 999)}"),
            "COLLECTION DELIVERY": maybe(0.25, f"DEL {rng.randint(1, 3)}"),
            "Warehouse": maybe(0.3, warehouse.split()[-1]),
            "ORTP (ORDER TYPE)": maybe(0.35, rng.choice(("ZOR", "ZRB"))),
            "BUAR (BUSINESS AREA UNIT)": maybe(0.4, "AAG " + ("AU" if country in ("AUSTRALIA", "NEW ZEALAND")
                                                               else "US")),
            "Delta": maybe(0.25, str(rng.choice((0, 0, 6, -12)))),
            "ADID": maybe(0.2, f"AD{rng.randrange(100000, 999999)}"),
            "UNIT OF MEASURE": "PCS",
        }
        styles = rng.sample(self.styles, style_count)
        return _PurchaseOrder(raw_customer=str(fields["CUSTOMER NAME"]), country=country, in_dc=in_dc,
                              styles=styles, fields=fields)

    # -- order lines -------------------------------------------------------------------------
    def _take_order_number(self) -> str:
        number = f"{self.customer.prefix}-{self.next_order_number:05d}"
        self.next_order_number += self.rng.choice((1, 1, 1, 2, 3))
        return number

    def _quantities(self, sizes: tuple[str, ...], wanted: int | None) -> dict[str, int]:
        """Positive quantities for a stretch of the size run, heaviest in the middle sizes."""
        rng = self.rng
        low, high = self.customer.quantity_range
        if wanted is None:
            # 2 sizes at least (1 for a one-size run), 10 at most, about 3.8 on average as in the real data.
            wanted = min(10, len(sizes), 2 + int(rng.expovariate(1 / 2.5)))
        start = rng.randint(0, len(sizes) - wanted)
        stretch = sizes[start:start + wanted]
        total = max(wanted, round(math.exp(rng.uniform(math.log(low), math.log(high)))))
        weights = [1.0 + 1.5 * min(index, wanted - 1 - index) + rng.random() for index in range(wanted)]
        scale = (total - wanted) / sum(weights)
        exact = [weight * scale for weight in weights]
        parts = [1 + int(share) for share in exact]
        by_fraction = sorted(range(wanted), key=lambda index: int(exact[index]) - exact[index])
        for index in by_fraction[: total - sum(parts)]:
            parts[index] += 1
        quantities = dict(zip(stretch, parts, strict=True))
        if rng.random() < EXPLICIT_ZERO_SHARE:
            # Some files write 0 rather than leaving a size empty.
            for neighbour in (start - 1, start + wanted):
                if 0 <= neighbour < len(sizes):
                    quantities[sizes[neighbour]] = 0
        return quantities

    def _unused_method(self, order_number: str, style: _Style, avoid: str) -> str | None:
        used = self.keys_of_order_number[order_number]
        choices = [method for method in DELIVERY_METHODS if method != avoid and (method, style.code) not in used]
        return self.rng.choice(choices) if choices else None

    def _line_identity(self, po: _PurchaseOrder, previous: _LineRecord | None, *, ordinary: bool,
                       sizes_wanted: int | None) -> tuple[str, _Style, str, str]:
        """The line's AAG ORDER NUMBER, style, colour and delivery method: now and then the previous
        line's order number again (a split shipment, or another style), else a fresh one."""
        rng = self.rng
        style = colour = method = order_number = None
        if ordinary and previous is not None and rng.random() < REPEATED_ORDER_NUMBER_SHARE:
            # The same AAG ORDER NUMBER again: a split shipment by another method, or another style.
            order_number = previous.order_number
            if rng.random() < 0.7:
                method = self._unused_method(order_number, previous.style, previous.method)
                style, colour = previous.style, previous.colour
            else:
                used = self.keys_of_order_number[order_number]
                others = [s for s in po.styles if s is not previous.style and (previous.method, s.code) not in used]
                if others:
                    style, method = rng.choice(others), previous.method
                    colour = rng.choice(style.colours)
            if method is None:
                order_number = None
        if order_number is None:
            order_number = self._take_order_number()
            self.keys_of_order_number[order_number] = set()
            if sizes_wanted is not None:
                style = rng.choice([s for s in po.styles if len(s.sizes) >= sizes_wanted])
            elif ordinary and rng.random() < TBD_STYLE_SHARE:
                style = self.tbd_style
            else:
                style = rng.choice(po.styles)
            colour = rng.choice(style.colours)
            method = rng.choices(DELIVERY_METHODS, weights=DELIVERY_METHOD_WEIGHTS)[0]
        assert order_number is not None and style is not None and colour is not None and method is not None
        self.keys_of_order_number[order_number].add((method, style.code))
        return order_number, style, colour, method

    def order_line(self, po: _PurchaseOrder, previous: _LineRecord | None, *, ordinary: bool = True,
                   sizes_wanted: int | None = None) -> tuple[dict[str, object], _LineRecord]:
        """One order line of a purchase order. `ordinary` lines may carry realistic dirt (TBD style,
        zero quantity, cancelled, repeated AAG number, empty seasons); fixed-case lines never do."""
        rng = self.rng
        order_number, style, colour, method = self._line_identity(po, previous, ordinary=ordinary,
                                                                  sizes_wanted=sizes_wanted)

        row = _BLANK_ROW.copy()
        row.update(po.fields)
        row.update(style.fields)
        row.update(self._prices(style, po.country))
        code = colour_code(colour)
        eta = po.in_dc + dt.timedelta(days=rng.randint(-3, 3))
        transit_low, transit_high = TRANSIT_DAYS[method]
        maybe = self._maybe
        row.update({
            "AAG ORDER NUMBER": order_number,
            "CUSTOMER COLOUR DESCRIPTION": colour,
            "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS": maybe(0.55, code),
            "INFOR COLOUR CODE": maybe(0.6, code),
            "ALIAS/RELATED ITEM": f"{style.code}-{code}",
            "PLANNED DELIVERY METHOD": method,
            "DELIVERY CODE (MODL)": maybe(0.5, DELIVERY_CODES[method]),
            "ETA CUSTOMER WAREHOUSE DATE": eta,
            "EX FACTORY DATE": eta - dt.timedelta(days=rng.randint(transit_low, transit_high)),
            "ORDER TYPE": "CANCELLED" if ordinary and rng.random() < CANCELLED_SHARE else "RECEIVED",
            "TRACKING NUMBER": maybe(0.2, f"1Z{rng.randrange(10**9, 10**10)}"),
            "NOTES": rng.choice(NOTES) if rng.random() < NOTES_SHARE else None,
            "VALIDATION": maybe(0.4, rng.choice(VALIDATIONS)),
            "VALIDATION2": maybe(0.3, rng.choice(VALIDATIONS)),
            "VALIDATION3": maybe(0.2, rng.choice(VALIDATIONS)),
            "VALIDATION4": maybe(0.2, rng.choice(VALIDATIONS)),
            "record_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        })
        if ordinary and rng.random() < BOTH_SEASONS_EMPTY_SHARE:
            row["CUSTOMER SEASON"] = None
            row["AAG SEASON"] = rng.choice((None, ""))
            row["AAG SEASON CODE"] = None
        if ordinary and "'" in po.raw_customer and rng.random() < TYPOGRAPHIC_QUOTE_LINE_SHARE:
            row["CUSTOMER NAME"] = po.raw_customer.replace("'", "\u2019")
        elif ordinary and rng.random() < TRAILING_SPACE_LINE_SHARE and not po.raw_customer.endswith(" "):
            row["CUSTOMER NAME"] = po.raw_customer + " "
        if ordinary and rng.random() < ZERO_QUANTITY_SHARE:
            quantities: dict[str, int] = {}
            if rng.random() < 0.5:
                quantities = dict.fromkeys(style.sizes[:3], 0)
        else:
            quantities = self._quantities(style.sizes, sizes_wanted)
        row.update(quantities)
        total = sum(quantities.values())
        row["TOTAL QTY"] = total
        row["Sum of TOTAL QTY"] = total
        return row, _LineRecord(order_number, method, style, colour)


def _purchase_order_size(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.7:
        return rng.randint(3, 20)
    if draw < 0.95:
        return rng.randint(20, 45)
    return rng.randint(45, 90)


def _fixed_case_sizes(rng: random.Random) -> list[int]:
    """Sizes ordered per line of GREYSON PO 4755: 2–7 each, FIXED_PAIRS in all."""
    sizes = [rng.randint(2, 7) for _ in range(FIXED_LINES)]
    while sum(sizes) != FIXED_PAIRS:
        index = rng.randrange(FIXED_LINES)
        if sum(sizes) > FIXED_PAIRS and sizes[index] > 2:
            sizes[index] -= 1
        elif sum(sizes) < FIXED_PAIRS and sizes[index] < 7:
            sizes[index] += 1
    return sizes


def _customer_code(customer: SampleCustomer) -> str:
    return f"C{SAMPLE_CUSTOMERS.index(customer) + 1:04d}"


def _fixed_case_lines(seed: int) -> Iterator[dict[str, object]]:
    """GREYSON PO 4755: the same 69 clean lines and 264 size pairs for a seed, whatever the row count."""
    customer = next(c for c in SAMPLE_CUSTOMERS if c.name == FIXED_CUSTOMER)
    rng = random.Random(f"{seed}:{FIXED_CUSTOMER} PO {FIXED_PO}")
    orders = _CustomerOrders(customer, rng, first_order_number=customer.first_order_number, style_count=24,
                             customer_code=_customer_code(customer))
    # Styles cut in runs long enough for any line of the case (not the one-size or paired runs).
    orders.styles = [style for style in orders.styles if len(style.sizes) >= 7]
    po = orders.purchase_order(number=FIXED_PO, season=FIXED_SEASON, raw_customer=FIXED_CUSTOMER,
                               lines=FIXED_LINES)
    previous = None
    for sizes_wanted in _fixed_case_sizes(rng):
        row, previous = orders.order_line(po, previous, ordinary=False, sizes_wanted=sizes_wanted)
        yield row
    assert orders.next_order_number < customer.first_order_number + FIXED_ORDER_NUMBER_SPAN


def _bad_row_plan(seed: int, counts: dict[str, int]) -> dict[tuple[str, int], str]:
    """Where the deliberate bad rows go: (customer, index among its ordinary lines) → kind.

    Never in the fixed case; far enough apart not to touch; a duplicate's twin is the next line
    of the same customer.
    """
    ordinary = {name: count - (FIXED_LINES if name == FIXED_CUSTOMER else 0) for name, count in counts.items()}
    per_kind = sum(counts.values()) // ROWS_PER_BAD_ROW_OF_EACH_KIND
    if per_kind == 0:
        return {}
    rng = random.Random(f"{seed}:bad rows")
    positions = [(name, index) for name, count in ordinary.items() for index in range(count - 1)]
    plan: dict[tuple[str, int], str] = {}
    taken: set[tuple[str, int]] = set()
    for kind in (MISSING_KEY, DUPLICATE_KEY, BAD_PRICE):
        placed = 0
        while placed < per_kind:
            name, index = rng.choice(positions)
            near = {(name, index + offset) for offset in range(-2, 3)}
            if near & taken:
                continue
            plan[(name, index)] = kind
            taken.update(near)
            placed += 1
    return plan


def _customer_lines(seed: int, customer: SampleCustomer, count: int,
                    bad_rows: dict[int, str]) -> Iterator[dict[str, object]]:
    if count == 0:
        return
    rng = random.Random(f"{seed}:{customer.name}")
    first = customer.first_order_number + (FIXED_ORDER_NUMBER_SPAN if customer.name == FIXED_CUSTOMER else 0)
    orders = _CustomerOrders(customer, rng, first_order_number=first, style_count=max(6, min(300, count // 6)),
                             customer_code=_customer_code(customer))
    # Small customers with many seasons place small orders, so their groups show at small sample sizes.
    largest_po = max(3, count // len(customer.seasons))
    left_in_po = 0
    po: _PurchaseOrder | None = None
    previous: _LineRecord | None = None
    twin_of: dict[str, object] | None = None
    for index in range(count):
        if left_in_po == 0:
            left_in_po = min(_purchase_order_size(rng), largest_po, count - index)
            po = orders.purchase_order(lines=left_in_po)
            previous = None
        assert po is not None
        left_in_po -= 1
        if twin_of is not None:
            # The same order line entered twice.
            row = dict(twin_of)
            row["record_uuid"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            twin_of = None
            yield row
            continue
        row, previous = orders.order_line(po, previous)
        kind = bad_rows.get(index)
        if kind == MISSING_KEY:
            row["AAG ORDER NUMBER"] = None
        elif kind == BAD_PRICE:
            row[rng.choice(BAD_PRICE_COLUMNS)] = rng.choice(BAD_PRICE_VALUES)
        elif kind == DUPLICATE_KEY:
            twin_of = dict(row)
        yield row


def generate_order_lines(seed: int = DEFAULT_SEED, rows: int = DEFAULT_ROWS) -> Iterator[dict[str, object]]:
    """`rows` order lines keyed by the real column names, values as a DB driver takes them
    (str, int, datetime.date, None; record_uuid as str). Same seed and rows, same lines.

    Holds GREYSON PO 4755 (69 clean lines, 264 sizes with quantity > 0) for any rows ≥ 100, and
    from 1,000 rows on, one bad row of each kind per 1,000 (no AAG ORDER NUMBER; a pair sharing
    a whole business key; a non-number in a price column).
    """
    counts = line_counts(rows)  # raises here, not at the first line, when rows is too small
    return _order_lines(seed, counts)


def _order_lines(seed: int, counts: dict[str, int]) -> Iterator[dict[str, object]]:
    bad_rows = _bad_row_plan(seed, counts)
    for customer in SAMPLE_CUSTOMERS:
        if customer.name == FIXED_CUSTOMER:
            yield from _fixed_case_lines(seed)
        ordinary = counts[customer.name] - (FIXED_LINES if customer.name == FIXED_CUSTOMER else 0)
        mine = {index: kind for (name, index), kind in bad_rows.items() if name == customer.name}
        yield from _customer_lines(seed, customer, ordinary, mine)
