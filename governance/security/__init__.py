"""Security: principals and credentials, one permission model, and its checks at every door.

``store`` keeps users, SCRAM credentials, API keys and role bindings;
``service`` manages them and checks credentials; ``authorizer`` answers
"may P do A on R" from the role bindings (``model`` says what each role
allows); ``sasl`` runs the Kafka listener's SASL exchanges (sans-io);
``http_auth`` and ``routes`` guard the HTTP app; ``api`` is ``/security/v1``.
``charter`` wires it all (``charter.security``).
"""
