-- PATCH /api/posts/{id} (the bench user's own post) with a JSON body.
wrk.method = "PATCH"
wrk.body = '{"title": "Patched by wrk"}'
wrk.headers["Content-Type"] = "application/json"
