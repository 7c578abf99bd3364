"""The outlook's REST endpoints: a customer's risk and contacts, and the contacts due."""
