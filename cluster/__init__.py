"""`make cluster`: nginx, API nodes, Redis, PgBouncer, a primary and a replica on loopback."""
