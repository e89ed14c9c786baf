"""Real-browser end-to-end tests of the admin console (headless Debian Chromium driven by Playwright)."""
