"""Activation: alerts and audience changes to marketing automation, consent-aware, nothing lost.

routing -> outbox (same transaction as the change) -> deliver (consent at send time,
retries, dead letters) -> destinations (webhook, file drop, plug-ins); exports send an
audience's full membership.
"""
