-- POST /api/posts/ with a JSON body; the Authorization header comes from wrk -H.
wrk.method = "POST"
wrk.body = '{"title": "Benchmark post", "content": "Written by wrk.", "published": false}'
wrk.headers["Content-Type"] = "application/json"
