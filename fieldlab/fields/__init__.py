"""Discovered fields: evaluate the truth, score what a model learned, and draw both."""

from fieldlab.fields.region import FieldRegion, visited_region
from fieldlab.fields.score import FieldScore, score_field
from fieldlab.fields.truth import true_field

__all__ = ["FieldRegion", "FieldScore", "score_field", "true_field", "visited_region"]
