"""The bare Flask app bench/throughput.py serves beside ours: one route, "hello".

    gunicorn -c gunicorn.conf.py bench.hello:app
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
