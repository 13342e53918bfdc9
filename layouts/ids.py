"""Component ids, one place: constants in UPPER_SNAKE whose values are ``page-thing-kind``."""

# app shell (present on every page)
SESSION_STORE = "app-session-store"
STATE_STORE = "app-state-store"
UPLOAD_RESULT_STORE = "app-upload-result-store"
LOCATION = "app-location"
GLOBAL_ALERT = "app-global-alert"
REPORT_BUTTON = "app-report-button"
REPORT_DOWNLOAD = "app-report-download"

# Data & model page
DATA_SCENARIO_DROPDOWN = "data-scenario-dropdown"
DATA_SCENARIO_BUTTON = "data-scenario-button"
DATA_DATASET_DROP = "data-dataset-drop"
DATA_MODEL_DROP = "data-model-drop"
DATA_DATASET_PROGRESS = "data-dataset-progress"
DATA_MODEL_PROGRESS = "data-model-progress"
DATA_UPLOAD_ALERT = "data-upload-alert"
DATA_DATASET_STATUS = "data-dataset-status"
DATA_MODEL_STATUS = "data-model-status"
DATA_PREVIEW_GRID = "data-preview-grid"
DATA_COLUMNS_GRID = "data-columns-grid"
DATA_TARGET_DROPDOWN = "data-target-dropdown"
DATA_FAVORABLE_DROPDOWN = "data-favorable-dropdown"
DATA_SOURCE_RADIO = "data-source-radio"
DATA_PREDICTION_DROPDOWN = "data-prediction-dropdown"
DATA_SCORE_DROPDOWN = "data-score-dropdown"
DATA_THRESHOLD_INPUT = "data-threshold-input"
DATA_MODEL_FAVORABLE_INPUT = "data-model-favorable-input"
DATA_SENSITIVE_DROPDOWN = "data-sensitive-dropdown"
DATA_BINS_INPUT = "data-bins-input"
DATA_REFERENCE_CONTAINER = "data-reference-container"
DATA_REFERENCE_TYPE = "data-reference-dropdown"
DATA_MIN_GROUP_INPUT = "data-min-group-input"
DATA_BOOTSTRAP_INPUT = "data-bootstrap-input"
DATA_RUN_BUTTON = "data-run-button"
DATA_RUN_ALERT = "data-run-alert"
DATA_MODEL_CLEAR_BUTTON = "data-model-clear-button"

# Group metrics page
METRICS_CONTEXT = "metrics-context-text"
METRICS_SUMMARY = "metrics-summary-list"
METRICS_ALERT = "metrics-alert"
METRICS_GROUPING_DROPDOWN = "metrics-grouping-dropdown"
METRICS_METRIC_CHECKLIST = "metrics-metric-checklist"
METRICS_BAR_GRAPH = "metrics-bar-graph"
METRICS_DISPARITY_METRIC = "metrics-disparity-dropdown"
METRICS_DISPARITY_KIND = "metrics-disparity-radio"
METRICS_DISPARITY_GRAPH = "metrics-disparity-graph"
METRICS_HEATMAP_METRIC = "metrics-heatmap-dropdown"
METRICS_HEATMAP_GRAPH = "metrics-heatmap-graph"
METRICS_HEATMAP_CARD = "metrics-heatmap-card"
METRICS_TABLE = "metrics-table-grid"

# Threshold explorer page
THRESHOLD_GROUPING_DROPDOWN = "threshold-grouping-dropdown"
THRESHOLD_SLIDER = "threshold-value-slider"
THRESHOLD_VALUE_TEXT = "threshold-value-text"
THRESHOLD_CURVES_GRAPH = "threshold-curves-graph"
THRESHOLD_ROC_GRAPH = "threshold-roc-graph"
THRESHOLD_CALIBRATION_GRAPH = "threshold-calibration-graph"
THRESHOLD_TABLE = "threshold-table-grid"
THRESHOLD_ALERT = "threshold-alert"
THRESHOLD_READY_STORE = "threshold-ready-store"

# Explanations page (ids for this page go in this section)
EXPLAIN_ALERT = "explain-alert"

# Mitigation page (ids for this page go in this section)
MITIGATION_ALERT = "mitigation-alert"

# Feedback loops page (ids for this page go in this section)
FEEDBACK_ALERT = "feedback-alert"

# Policy & report page (ids for this page go in this section)
POLICY_ALERT = "policy-alert"
