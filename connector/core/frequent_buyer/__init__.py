"""Frequent-buyer programs: POS-reported free goods, program rules, distributor credit.

Seeds 000–003 describe the business: a store gives a customer a free good after
"buy X get Y", reports it from its POS, the redemption is checked against the
program's rules and handed to the store's distributor, who batches and credits
it; the store reconciles the credit and the distributor claims from the brand.
Like the rest of the core, nothing here imports Flask or an HTTP client.
"""
