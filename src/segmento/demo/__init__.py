"""Realistic synthetic retail data: customers drawn from drifting latent personas, their
orders, events on every channel and consents, plus the `truth` table of who was which
persona each month."""

from segmento.demo.generator import DemoData, generate, write_demo, write_parquet
from segmento.demo.personas import PERSONA_NAMES, PERSONAS, TRANSITIONS

__all__ = ["PERSONAS", "PERSONA_NAMES", "TRANSITIONS", "DemoData", "generate", "write_demo", "write_parquet"]
