"""The gunicorn worker class: gunicorn's asyncio worker serving the WSGI app inline.

`gunicorn -c config/gunicorn.py config.wsgi` loads the WSGI application as always; this worker
wraps it in InlineWSGI (config/inline_wsgi.py) so connections are kept alive and HTTP is parsed
in C, while Django keeps running one request at a time as under the sync worker. Measured
before and after in README (Performance).
"""

import inspect
import os

from gunicorn.workers.gasgi import ASGIWorker

from config.inline_wsgi import InlineWSGI


class InlineWSGIWorker(ASGIWorker):
    def load_wsgi(self) -> None:
        super().load_wsgi()
        if is_asgi(self.asgi):
            return  # `gunicorn ... config.asgi`: an ASGI app is served as it is
        from django.conf import settings

        # Django refuses database calls from a thread running an event loop, to protect async
        # code from blocking it. Here blocking is the design: nothing else runs in this
        # process while a request does (see InlineWSGI).
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        self.asgi = InlineWSGI(self.asgi, max_body_bytes=settings.SERVER_MAX_BODY_BYTES)


def is_asgi(application) -> bool:
    """Return whether `application` is an ASGI callable (a coroutine function or object)."""
    return inspect.iscoroutinefunction(application) or inspect.iscoroutinefunction(
        type(application).__call__
    )
