"""Widgets that make a framework's inside visible: graph views, a stepper, timing boards.

They build on `minigrad.graph()`, which exports a computation graph as plain data.
"""
