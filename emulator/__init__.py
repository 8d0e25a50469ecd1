"""Offline stand-ins for the vendor APIs.

Nothing here imports from ``providers``: the emulator is an independent reading of the vendor
specifications, so a misreading on either side shows up as a failing test instead of being shared
by both.

Layout
======

``server.py`` mounts one ``core.Platform`` per vendor under its prefix (``/esd``, ``/pai``,
``/fabric``, ``/zstack``, ``/workshop``); ``core/`` holds what the platforms share (the SQLite
document store, the admin surface, fault injection, the depth-limited JSON reader).
``defaults.py`` holds the credentials every platform accepts out of the box, as plain constants
that import no web framework, so tools and tests can use them without the emulator's extras.

Every platform folder has the same three files, after moto's per-service ``models`` /
``responses`` / ``urls``:

``errors.py``
    The vendor's error class (or classes), the helpers that build common errors, the vendor codes,
    and ``error_body(status, code, message) -> dict``: the vendor's error envelope, which
    ``routes.py`` writes and the fault injector uses for injected failures. Imports nothing else
    of the platform.
``models.py``
    The rules over the store: ``DEFAULT_SETTINGS`` and one ``<Platform>Backend`` class built from
    the ``Store``, with ``setting(key)``. Its operations take plain arguments (ids, strings, the
    parsed body as a dict, query values) and return dicts (ESD: a ``Reply`` holding the Lambda's
    status, data and message); they raise the errors of ``errors.py`` and never see a request,
    a header mapping or a response object.
``routes.py``
    The wire: ``build_router(store)`` parses each request (path, query, headers, body bytes),
    runs the authentication check, calls the backend, and serialises the result or the error in
    the vendor's format.

``__init__.py`` builds the ``Platform`` object from these and documents the platform's prefix,
settings and every choice the spec leaves open. A platform may add modules of its own next to the
three, each taking plain values too: signature checks over a ``Received`` record of what arrived
(``pai/auth.py``, ``fabric/iam.py``, ``workshop/gateway.py``), ``openapi.py`` (what
``/openapi.json`` declares), and for ESD ``schemas.py`` (API Gateway's request models) and
``s3.py`` (the S3 stand-in behind presigned URLs).
"""
