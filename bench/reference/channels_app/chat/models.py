from __future__ import annotations

from django.db import models


class Message(models.Model):
    conversation_id = models.CharField(max_length=64)
    client_id = models.CharField(max_length=255)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
