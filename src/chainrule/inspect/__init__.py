"""Seeing backpropagation: the graph, the chain rule step by step, and what training keeps.

    from chainrule import inspect
    inspect.render(loss, "graph.svg", params=model)   # boxes for variables, circles for ops
    inspect.draw(loss, params=model)                    # the same drawing, shown in a notebook
    inspect.explain(loss, params=model)                 # dJ/do, dJ/dW2, dJ/dh, ... with norms
                                                        # (in a notebook: a step-through)
    print(inspect.memory_report(loss, params=model))    # the arrays backward needs, in bytes
    inspect.to_html(loss, "graph.html", params=model)   # all three on one page, step by step
    inspect.time_step_gradients(loss, params=rnn_lm)    # ||dL/dh_t|| per step of an RNN

Everything here reads the graph and never changes it: no ``.grad`` is written and nothing is
freed, so these can run between the forward pass and ``backward()``.
"""
from .explain import (ExplainReport, ForwardStep, Step, backward_steps, explain, explain_manual,
                      forward_steps)
from .graph import GraphDrawing, GraphView, draw, render, to_dot
from .html import to_html
from .memory import MemoryReport, memory_report
from .timesteps import (SequenceMemory, StepGradient, TimeStepGradients, sequence_memory,
                        split_by_time_step, time_step, time_step_gradients)

__all__ = ["to_dot", "render", "explain", "backward_steps", "explain_manual", "Step", "memory_report",
           "MemoryReport", "to_html", "GraphView", "ExplainReport", "ForwardStep", "forward_steps",
           "draw", "GraphDrawing", "time_step", "time_step_gradients", "TimeStepGradients",
           "StepGradient", "split_by_time_step", "sequence_memory", "SequenceMemory"]
