"""`/docs` and `/redoc`, served from an installed package, not a CDN: the Swagger UI 5 and ReDoc bundles that
`fastapi-offline` ships (only its static files are used, under `/docs/assets/`). Swagger UI 5 is needed for
the OpenAPI 3.1 document FastAPI writes (Swagger UI 4 refuses to render it).

The page loads three files of this origin (the bundle, its stylesheet, and `init.js`, which starts the UI on
`/openapi.json`), so its CSP can be `script-src 'self'`: no inline script, no third-party origin. Swagger
UI sets inline styles, hence `style-src 'self' 'unsafe-inline'`. ReDoc's page is one `<redoc>` element and
its bundle, which reads `spec-url` itself; it also sets inline styles and parses in a `blob:` worker.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

REDOC_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
ASSETS = Path(fastapi_offline.__file__).parent / "static"
# ReDoc's sidebar credit loads Redocly's logo from their CDN, whatever the options: pointed at an empty image
# instead, so the page makes no request off this origin and its CSP needs no third-party image source.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="


@cache
def redoc_bundle() -> bytes:
    bundle = (ASSETS / "redoc.standalone.js").read_text(encoding="utf-8")
    return bundle.replace(REDOC_LOGO, EMPTY_IMAGE).encode()


REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/docs/assets/redoc.standalone.js"></script>
</body>
</html>
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def install(api: FastAPI) -> None:
    """Serve `/docs`, `/docs/init.js`, `/docs/assets/*` and `/redoc` (create the app with `docs_url=None,
    redoc_url=None`)."""
    headers = {"Content-Security-Policy": DOCS_POLICY}
    page = PAGE.format(title=api.title)

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return HTMLResponse(page, headers=headers)

    @api.get("/docs/init.js", include_in_schema=False)
    async def swagger_ui_init() -> Response:
        return Response(INIT, media_type="text/javascript", headers=headers)

    @api.get("/docs/assets/redoc.standalone.js", include_in_schema=False)
    async def redoc_script() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript")

    api.mount("/docs/assets", StaticFiles(directory=str(ASSETS)), name="docs-assets")

    redoc_page = REDOC_PAGE.format(title=api.title)

    @api.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return HTMLResponse(redoc_page, headers={"Content-Security-Policy": REDOC_POLICY})
