"""Flask test-client tests of the admin console at /admin: every route, role and refusal."""
