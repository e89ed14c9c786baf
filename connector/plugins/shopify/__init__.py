"""Shopify plugin: zero-priced reward orders through the GraphQL Admin API."""
