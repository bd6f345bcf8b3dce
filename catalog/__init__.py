"""The data catalog: search over topics, subjects and (nested) fields, lineage, impact, web UI.

Layers (checked by import-linter): ``api``/``ui`` (Flask) > ``impact`` >
``service`` > ``indexer`` > ``documents``/``lineage``/``index`` > ``store`` >
``extract``/``text``/``model``/``audit`` > ``errors``. The catalog reads the
registry directly and learns of topics and consumer groups only through events
and the ``TopicSource`` that ``charter`` passes in (it never imports the broker).
"""
