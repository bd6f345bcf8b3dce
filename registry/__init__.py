"""Charter's schema registry: formats, compatibility, storage, service and the Confluent REST API.

``registry`` imports nothing else of Charter; governance plugs in through
``registry.events.RegistrationHook`` and subscribers of ``registry.events.EventBus``.
"""
