"""The conversation: a pure state machine from the customer's input to replies and effects.

``machine.step``/``machine.after`` are the entry points; ``messages`` holds every word the
customer reads. Nothing in this package performs I/O or reads the clock.
"""
