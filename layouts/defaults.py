"""The choices a page opens with: its layout shows them and its first view is drawn with them."""

METRICS_CHARTED = ["selection_rate", "true_positive_rate", "false_positive_rate"]  # Group metrics' bars
METRICS_DISPARITY = "selection_rate"  # Group metrics' "Against the reference group"
METRICS_HEATMAP = "selection_rate"  # Group metrics' intersections
METRICS_DISPARITY_KIND = "ratio"
THRESHOLD = 0.5  # the threshold explorer's slider when the audit has no threshold of its own
