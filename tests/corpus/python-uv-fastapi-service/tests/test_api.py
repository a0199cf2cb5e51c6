from fastapi.testclient import TestClient

from orders_api.main import app


def test_quote():
    response = TestClient(app).post("/quote", json=[{"quantity": 3, "unit_cents": 5}])
    assert response.json() == {"total_cents": 15}
