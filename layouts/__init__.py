"""Dash component trees: one module per page or shared piece; no computation, no callbacks."""
