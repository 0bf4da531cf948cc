"""Every blueprint the app registers, one module per area (each exposes ``bp``)."""

BLUEPRINT_MODULES: list[str] = [
    "web.api",
    "web.auth",
]
