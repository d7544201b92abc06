"""The gunicorn worker class: gunicorn's asyncio worker serving the WSGI app inline.

`gunicorn -c config/gunicorn.py config.wsgi` loads the WSGI application as always; this worker
wraps it in InlineWSGI (config/inline_wsgi.py) so connections are kept alive and HTTP is parsed
in C, while Django keeps running one request at a time as under the sync worker. Measured
before and after in README (Performance).
"""

import os

from gunicorn.workers.gasgi import ASGIWorker

from config.inline_wsgi import InlineWSGI


class InlineWSGIWorker(ASGIWorker):
    def init_process(self) -> None:
        # Django refuses database calls from a thread running an event loop, to protect async
        # code from blocking it. Here blocking is the design: nothing else runs in this
        # process while a request does (see InlineWSGI).
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        from django.conf import settings

        self.asgi = InlineWSGI(self.asgi, max_body_bytes=settings.SERVER_MAX_BODY_BYTES)
