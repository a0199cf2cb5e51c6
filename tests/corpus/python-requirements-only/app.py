"""A tiny status board: teams post their status, anyone can read it."""
import os

from flask import Flask, jsonify, request

app = Flask(__name__)
statuses = {}


@app.get("/status/<team>")
def read_status(team):
    if team not in statuses:
        return jsonify(error="unknown team"), 404
    return jsonify(team=team, status=statuses[team])


@app.put("/status/<team>")
def write_status(team):
    statuses[team] = request.get_json(force=True).get("status", "")
    return jsonify(team=team, status=statuses[team])


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
