"""Notifications that leave the app: e-mail (SMTP), SMS through a gateway, signed webhooks.

A use case's transaction writes the in-app notification and, with it, one outbox row per
channel per recipient (``outbox``); the delivery worker (``worker``, run by the timer sweep and
by ``gridlink notifications deliver``) sends them outside any request, with retries and
exponential backoff, and dead-letters what keeps failing. Texts are worded at send time from
the case as it then is (``texts``), in Chinese, times in Beijing time.
"""
