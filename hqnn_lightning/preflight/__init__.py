"""What a run's inputs must be, checked without importing torch, Lightning or PennyLane: the
car datasets' directory layouts (`car_layouts`) and a quantum device request
(`device_requests`).

The library checks its inputs with these same functions, so the command line, which calls
them before importing the library, refuses a mistake in the library's words, in about the time
``import torch`` takes.
"""
