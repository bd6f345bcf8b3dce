"""Charter's schema registry: formats, compatibility, storage, service and the Confluent REST API.

``registry`` imports nothing else of Charter; governance plugs in through
``registry.hooks.RegistryHooks``, and other processes follow the registry's
changes through its outbox (``registry.events``, ``registry.outbox``).
"""
