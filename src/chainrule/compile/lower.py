"""Lowering: chosen ops written as NumPy calls into preallocated buffers (``out=``).

Filled in by the buffer-planning pass; an op with no lowering runs its own forward or VJP."""


class Lowering:
    def __init__(self, program):
        self.program = program

    def render(self, instr):
        return None
