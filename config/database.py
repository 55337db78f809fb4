"""The database settings: DATABASE_URL, and what Riff asks of PostgreSQL for each connection.

Riff's queries are short: a For You page makes eight of a few milliseconds each. PostgreSQL
plans some of them (the newest clips a viewer may see, ORDER BY ... LIMIT 200 over 100,000
clips) with two parallel workers, and starting those took 9 of that query's 13 ms, where
the plan without them ran in 0.8. So Riff's connections run without parallel workers; set
DB_PARALLEL_WORKERS to allow some (an instance whose admin previews read months of events).
"""

from typing import Any

import dj_database_url


def database(url: str, *, conn_max_age: int, parallel_workers: int) -> dict[str, Any]:
    """Django's settings for the database at `url`."""
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=conn_max_age))
    if config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        given = options.get("options", "")
        setting = f"-c max_parallel_workers_per_gather={int(parallel_workers)}"
        options["options"] = f"{given} {setting}".strip()
    return config
