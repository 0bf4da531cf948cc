"""Every blueprint the app registers, one module per area (each exposes ``bp``)."""

BLUEPRINT_MODULES: list[str] = [
    "web.admin",
    "web.api",
    "web.open311",
    "web.auth",
    "web.notifications",
    "web.notification_settings",
    "web.patrol",
    "web.meetings",
    "web.cases",
    "web.dashboard",
    "web.inbox",
    "web.public",
    "web.maps",
]
