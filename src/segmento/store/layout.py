"""The layout version this Segmento writes, in a module light enough for every CLI call to read.

``tables.MIGRATIONS`` brings a database to it step by step (and checks that its last step
is this number); ``quick`` reads a database file directly only when it is at this layout.
"""

LAYOUT_VERSION = 7
