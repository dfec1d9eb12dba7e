"""The service: REST API, real-time events, API keys, web dashboard.

    from segmento.service.app import create_app
    app = create_app(ws)          # a FastAPI app; `segmento serve` runs it with uvicorn

This package's __init__ stays free of FastAPI imports, so the report and the CLI can use
its plain modules (keys, audiences) without loading the web stack.
"""
