"""The demo shop `chatcart seed --demo` loads: a small corner shop with a bakery."""

from __future__ import annotations

from app.catalog.models import ProductDraft

# (sku, name, category, price in cents, tax bp, stock or None, description)
_DEMO: list[tuple[str, str, str, int, int, int | None, str]] = [
    ("BRD-SOUR", "Sourdough loaf", "Bakery", 649, 0, 12, "Naturally leavened, 800 g"),
    ("BRD-BAGU", "Baguette", "Bakery", 249, 0, 30, "Baked every morning"),
    ("BRD-RYE", "Rye bread", "Bakery", 549, 0, 0, "Dark rye with caraway, 750 g"),
    ("PAS-CROI", "Butter croissant", "Bakery", 225, 0, 40, "All-butter, laminated by hand"),
    ("PAS-CINN", "Cinnamon roll", "Bakery", 349, 0, 5, "With cream-cheese frosting"),
    ("PAS-MUFF", "Blueberry muffin", "Bakery", 299, 0, None, "Baked to order"),
    ("COF-ESPR", "Espresso beans 250 g", "Coffee & Tea", 1199, 800, 25, "Dark roast"),
    ("COF-FILT", "Filter coffee 500 g", "Coffee & Tea", 1549, 800, 18, "Medium roast, ground"),
    ("COF-DECA", "Decaf beans 250 g", "Coffee & Tea", 1249, 800, 0, "Swiss water process"),
    ("TEA-GREN", "Green tea, 20 bags", "Coffee & Tea", 449, 800, 50, "Sencha"),
    ("TEA-CHAI", "Masala chai, loose 100 g", "Coffee & Tea", 699, 800, 3, "Spiced black tea"),
    ("TEA-MINT", "Peppermint tea, 20 bags", "Coffee & Tea", 399, 800, None, "Caffeine free"),
    ("DRY-MILK", "Whole milk 1 l", "Dairy", 179, 0, 60, "Fresh, pasteurised"),
    ("DRY-OATM", "Oat milk 1 l", "Dairy", 289, 0, 24, "Barista edition"),
    ("DRY-BUTR", "Salted butter 250 g", "Dairy", 399, 0, 15, "Cultured cream"),
    ("DRY-CHED", "Mature cheddar 200 g", "Dairy", 549, 0, 8, "Aged 12 months"),
    ("DRY-YOGH", "Greek yoghurt 500 g", "Dairy", 349, 0, 0, "10 % fat"),
    ("DRY-EGGS", "Free-range eggs, 6", "Dairy", 329, 0, 20, "Medium"),
    ("PAN-HONY", "Wildflower honey 340 g", "Pantry", 899, 800, 10, "Raw, local"),
    ("PAN-JAM", "Strawberry jam 370 g", "Pantry", 459, 800, 14, "60 % fruit"),
    ("PAN-OLIV", "Olive oil 500 ml", "Pantry", 1099, 800, 9, "Extra virgin, cold pressed"),
    ("PAN-PAST", "Spaghetti 500 g", "Pantry", 219, 800, None, "Bronze die"),
    ("PAN-TOMS", "Chopped tomatoes 400 g", "Pantry", 129, 800, 48, "Italian plum tomatoes"),
    ("PAN-RICE", "Basmati rice 1 kg", "Pantry", 399, 800, 2, "Aged"),
    ("SNK-CHOC", "Dark chocolate 100 g", "Snacks", 349, 1600, 35, "72 % cocoa"),
    ("SNK-CRSP", "Sea salt crisps 150 g", "Snacks", 249, 1600, 0, "Kettle cooked"),
    ("SNK-NUTS", "Roasted almonds 200 g", "Snacks", 599, 1600, 12, "Lightly salted"),
    ("SNK-COOK", "Oat cookies, 8", "Snacks", 399, 1600, None, "Baked in store"),
]


def demo_catalog() -> list[ProductDraft]:
    return [
        ProductDraft(
            sku=sku,
            name=name,
            category=category,
            price=price,
            tax_rate_bp=tax,
            stock=stock,
            description=description,
        )
        for sku, name, category, price, tax, stock, description in _DEMO
    ]
