"""Web Push: content-free notifications to workers' devices (VAPID, RFC 8030/8291/8292).

``models`` holds each team's VAPID key pair and the devices' subscriptions; ``keys`` makes
the key pair on first use and seals its private half with the key store; ``endpoints``
decides which subscriptions the server will send to; ``notices`` says who is told what;
``sender`` sends from a bounded queue in the background; ``service`` is what the rest of
the app calls; ``routes`` are the worker app's three requests.
"""
