"""The ``Person`` schemas the SDK migration tests evolve: ``size`` renamed ``height``, then an
optional ``nick`` added, and the JSONata expression that upgrades v1 records."""

from __future__ import annotations

PERSON_V1 = {
    "type": "record",
    "name": "Person",
    "fields": [{"name": "name", "type": "string"}, {"name": "size", "type": "int"}],
}
PERSON_HEIGHT = {
    "type": "record",
    "name": "Person",
    "fields": [{"name": "name", "type": "string"}, {"name": "height", "type": "int"}],
}
PERSON_NICK = {
    "type": "record",
    "name": "Person",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "height", "type": "int"},
        {"name": "nick", "type": ["null", "string"], "default": None},
    ],
}
SIZE_TO_HEIGHT = "$merge([$sift($, function($v, $k) {$k != 'size'}), {'height': $.'size'}])"
