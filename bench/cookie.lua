-- wrk script: every request carries the session cookie and the public API key (bench/support.py `wrk`).
wrk.headers["Cookie"] = "psession=" .. os.getenv("BENCH_COOKIE")
wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
