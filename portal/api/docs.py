"""`/docs`: Swagger UI served from the installed `swagger-ui-bundle` package, not a CDN (issue 14 item 9).

The page loads three files of this origin (the bundle, its stylesheet, and `init.js`, which starts the UI on
`/openapi.json`), so its CSP can be `script-src 'self'`: no inline script, no third-party origin. Swagger
UI sets inline styles, hence `style-src 'self' 'unsafe-inline'`.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
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
    """Serve `/docs`, `/docs/init.js` and `/docs/assets/*` (create the app with `docs_url=None`)."""
    headers = {"Content-Security-Policy": DOCS_POLICY}
    page = PAGE.format(title=api.title)

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return HTMLResponse(page, headers=headers)

    @api.get("/docs/init.js", include_in_schema=False)
    async def swagger_ui_init() -> Response:
        return Response(INIT, media_type="text/javascript", headers=headers)

    api.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
