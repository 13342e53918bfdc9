"""Service: everything keyed on a user's workspace (store and backends, jobs, audit helper and queue, fair-share slots, auth and login, settings, forms, page view-models)."""
