"""Every blueprint the app registers, one module per area (each exposes ``bp``)."""

from . import (
    admin,
    api,
    auth,
    cases,
    coordination,
    dashboard,
    inbox,
    maps,
    meetings,
    notification_settings,
    notifications,
    open311,
    patrol,
    public,
)

BLUEPRINTS = [
    admin.bp,
    api.bp,
    open311.bp,
    auth.bp,
    notifications.bp,
    notification_settings.bp,
    patrol.bp,
    meetings.bp,
    cases.bp,
    coordination.bp,
    dashboard.bp,
    inbox.bp,
    public.bp,
    maps.bp,
]
