"""Locust: consultants searching as they type, looking up similar tickets, updating tickets.

Driven by `python -m tests.cluster.load`; reads LOAD_HOSTS (comma-separated replica URLs),
LOAD_TOKENS (one bearer token per consultant, comma-separated; LOAD_TOKEN for a single shared
one) and LOAD_TICKETS (highest ticket id) from the environment.

`FastHttpUser` (geventhttpclient) rather than `HttpUser` (requests): the load generator shares
the machine with the cluster, and requests' per-call overhead is several times larger; the mix
of actions and their pacing are the same.
"""

from __future__ import annotations

import itertools
import os
import random

import gevent
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

from tools.search_bench import as_you_type_queries

HOSTS = os.environ.get("LOAD_HOSTS", "http://127.0.0.1:8001").split(",")
TOKENS = [
    t for t in os.environ.get("LOAD_TOKENS", os.environ.get("LOAD_TOKEN", "")).split(",") if t
] or [""]
TICKETS = int(os.environ.get("LOAD_TICKETS", "1000"))
QUERIES = as_you_type_queries(5000, seed=23)
_next_consultant = itertools.count()


class Consultant(FastHttpUser):
    """One consultant on the phone, with their own token; each sticks to one replica, as
    behind a balancer with sticky sessions."""

    wait_time = between(1.0, 3.0)
    host = HOSTS[0]

    def on_start(self) -> None:
        n = next(_next_consultant)
        self.client.base_url = HOSTS[n % len(HOSTS)]
        self.auth = {"Authorization": f"Bearer {TOKENS[n % len(TOKENS)]}"}

    @task(7)
    def search_as_you_type(self) -> None:
        """A phrase typed keystroke by keystroke (a request per 2-3 characters)."""
        text = random.choice(QUERIES)
        cuts = list(range(3, len(text) + 1, random.choice([2, 3])))
        for cut in cuts[-4:]:
            self.client.get(
                "/api/search",
                params={"q": text[:cut], "limit": 10},
                headers=self.auth,
                name="search",
            )
            gevent.sleep(random.uniform(0.12, 0.3))

    @task(2)
    def similar(self) -> None:
        self.client.post(
            "/api/search/similar",
            json={
                "title": random.choice(QUERIES),
                "text": " ".join(random.sample(QUERIES, 4)),
                "limit": 5,
            },
            headers=self.auth,
            name="similar",
        )

    @task(1)
    def update_ticket(self) -> None:
        tid = random.randint(1, TICKETS)
        with self.client.patch(
            f"/api/tickets/{tid}",
            json={"version": f"25{random.randint(10, 99)}.{random.randint(1, 9)}"},
            headers=self.auth,
            name="update",
            catch_response=True,
        ) as response:
            if response.status_code == 404:
                response.success()  # ids are dense from import, but a gap is not an error
