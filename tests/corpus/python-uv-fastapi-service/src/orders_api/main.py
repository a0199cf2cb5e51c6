import os

from fastapi import FastAPI
from pydantic import BaseModel

from .pricing import total_cents

app = FastAPI(title="orders-api")


class Line(BaseModel):
    quantity: int
    unit_cents: int


@app.post("/quote")
def quote(lines: list[Line]) -> dict:
    return {"total_cents": total_cents((l.quantity, l.unit_cents) for l in lines)}


def run() -> None:
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
