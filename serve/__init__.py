"""Serving the app to a class: replicas behind HAProxy, warm-up, and the shared class state."""
