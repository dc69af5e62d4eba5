from app.catalog.service import list_products
from tests.integration.factories import a_customer, a_product


async def test_products_and_customers_round_trip() -> None:
    product = await a_product(price=250)
    customer = await a_customer()
    assert [p.sku for p in await list_products()] == [product.sku]
    assert customer.id > 0
