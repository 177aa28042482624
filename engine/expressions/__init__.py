"""The engine's one safe expression language (rules, relevance, calculated fields, BPMN conditions).

A Python-like subset parsed with ``ast`` and interpreted by the engine itself: no ``eval``, no attribute
access, only the functions in ``FUNCTIONS``. Missing values propagate as None ("skip if missing").

Subscripts (``x[0]``) are not part of the language: data is addressed by dotted paths, and a path into a
list of rows yields the list of that field's values (``elders.id_number``).
"""

from engine.errors import ExpressionError
from engine.expressions.expression import Expression, compile_expression
from engine.expressions.functions import FUNCTIONS, Function
from engine.expressions.parser import MAX_DEPTH, MAX_NODES, MAX_SOURCE_LENGTH, Reference
from engine.expressions.scope import MappingScope, RowScope, Scope
from engine.expressions.values import MAX_MAGNITUDE, EvaluationError

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_MAGNITUDE",
    "MAX_NODES",
    "MAX_SOURCE_LENGTH",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "Function",
    "MappingScope",
    "Reference",
    "RowScope",
    "Scope",
    "compile_expression",
]
