"""Read models: the lists and pages the API and the web read, and the sessions they read through."""
