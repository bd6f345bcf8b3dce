/* charter.sdk._avro_encode: Avro binary encoding of plain Python values, in C. The module
 * also holds the common case of the SDK Producer's produce() (produce_dispatch.c).
 *
 * An Encoder runs a "program" compiled once per schema in Python
 * (charter/sdk/avro_program.py): a list of nodes, one per schema position,
 * that refer to each other by index (so recursive records are a cycle of
 * indexes). Encoder.encode(value) returns the frame header followed by the
 * Avro binary of value, or None when it does not write the value itself:
 * either the value does not match the schema, or it holds something this
 * encoder leaves to Python (subclasses of the builtin types, datetimes,
 * Decimals, UUIDs, non-dict mappings, very deep nesting). The caller then runs
 * the pure-Python encoder, which decides (bytes or Mismatch). So this module
 * never has to be right about a refusal, only about every value it accepts:
 * it accepts exactly the values the Python encoder accepts with the same
 * bytes, and declines (None) everything else.
 *
 * Node tuples (opcodes are the OP_* values below):
 *   (NULL,) (BOOLEAN,) (INT,) (LONG,) (FLOAT,) (DOUBLE,) (BYTES,) (STRING,)
 *   (FIXED, size)  (ENUM, {symbol: index})  (ARRAY, item)  (MAP, value)
 *   (RECORD, ((name, node, has_default, default), ...), required_names)
 *   (UNION, (branch, ...))
 *   (LOGICAL, base, test_op, branch_op)  written as base when the value passes
 *       test_op's type test (long range for int and long), declined otherwise;
 *       in a union it is chosen by branch_op's test (-1: decline)
 *   (FALLBACK,)  always declined
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "avro_encode.h"
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

enum {
    OP_NULL, OP_BOOLEAN, OP_INT, OP_LONG, OP_FLOAT, OP_DOUBLE, OP_BYTES, OP_STRING,
    OP_FIXED, OP_ENUM, OP_ARRAY, OP_MAP, OP_RECORD, OP_UNION, OP_LOGICAL, OP_FALLBACK,
    OP_COUNT
};

/* Results of encoding one value. */
#define DONE 0
#define DECLINE 1 /* refused or left to Python; no Python error set */
#define FAILED -1 /* a Python error is set (memory) */

#define MAX_DEPTH 200 /* deeper values go to Python (which has its own recursion limit) */

/* The per-value helpers are small but GCC declines to inline some (leaf_at's switch):
 * a call and its register saves per field were a fifth of a record's encoding. */
#if defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

typedef struct {
    PyObject *name;    /* interned str */
    Py_ssize_t node;
    int has_default;
    PyObject *fallback; /* the default value (owned) or NULL */
} Field;

struct Node {
    int op;
    Py_ssize_t size;       /* FIXED */
    PyObject *symbols;     /* ENUM: dict str -> int (owned) */
    Py_ssize_t nsymbols;   /* ENUM: the symbols interned (owned), for a lookup by identity */
    PyObject **symbol_names;
    long long *symbol_indexes;
    Py_ssize_t child;      /* ARRAY items, MAP values, LOGICAL base */
    int test_op;           /* LOGICAL */
    int branch_op;         /* LOGICAL */
    Py_ssize_t nfields;    /* RECORD */
    Field *fields;
    Py_ssize_t nrequired;
    PyObject **required;   /* borrowed from fields[].name */
    int any_default;
    Py_ssize_t nbranches;  /* UNION */
    Py_ssize_t *branches;
    Py_ssize_t null_branch; /* UNION: the branch None takes when it is a plain null, else -1 */
};


/* ---- output buffer ------------------------------------------------------------ */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
    char local[1024];
} Buf;

static int buf_grow(Buf *buf, Py_ssize_t more) {
    Py_ssize_t need = buf->len + more;
    if (need <= buf->cap) return 0;
    if (more > PY_SSIZE_T_MAX / 2 - buf->len) { PyErr_NoMemory(); return -1; }
    Py_ssize_t cap = buf->cap * 2 > need ? buf->cap * 2 : need;
    char *data;
    if (buf->data == buf->local) {
        data = PyMem_Malloc(cap);
        if (data) memcpy(data, buf->local, buf->len);
    } else {
        data = PyMem_Realloc(buf->data, cap);
    }
    if (!data) { PyErr_NoMemory(); return -1; }
    buf->data = data;
    buf->cap = cap;
    return 0;
}

HOT int buf_put(Buf *buf, const char *bytes, Py_ssize_t n) {
    if (buf->len + n > buf->cap && buf_grow(buf, n) < 0) return FAILED;
    memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    return DONE;
}

HOT int buf_long(Buf *buf, int64_t number) {
    uint64_t zigzag = ((uint64_t)number << 1) ^ (uint64_t)(number >> 63);
    if (buf->len + 10 > buf->cap && buf_grow(buf, 10) < 0) return FAILED;
    unsigned char *out = (unsigned char *)buf->data + buf->len;
    Py_ssize_t n = 0;
    while (zigzag & ~(uint64_t)0x7F) {
        out[n++] = (unsigned char)((zigzag & 0x7F) | 0x80);
        zigzag >>= 7;
    }
    out[n++] = (unsigned char)zigzag;
    buf->len += n;
    return DONE;
}

/* ---- reading a dict's entries in order ------------------------------------------------
 *
 * PyDict_Next costs two calls per entry, a quarter of a record's encoding. On CPython
 * 3.11-3.12 (default build) a dict whose keys are all str keeps its entries as (key, value)
 * pairs after its index table; dict_next reads them directly. The layout below is checked
 * against PyDict_Next when the module loads (dict_layout_matches); on any difference, or
 * another version, PyDict_Next is used.
 */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000 && !defined(Py_GIL_DISABLED)
#define DIRECT_DICT 1
typedef struct {
    Py_ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind; /* 1: every key is a str (entries are key, value) */
    uint32_t dk_version;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} KeysLayout;
typedef struct {
    PyObject *key, *value;
} StrEntry;
#endif
static int direct_dict = 0;

static inline int dict_next(PyObject *dict, Py_ssize_t *position, PyObject **key, PyObject **value) {
#ifdef DIRECT_DICT
    PyDictObject *mp = (PyDictObject *)dict;
    if (direct_dict && mp->ma_values == NULL) {
        KeysLayout *keys = (KeysLayout *)mp->ma_keys;
        if (keys->dk_kind == 1) {
            StrEntry *entries =
                (StrEntry *)(keys->dk_indices + ((size_t)1 << keys->dk_log2_index_bytes));
            Py_ssize_t i = *position, n = keys->dk_nentries;
            if (i < 0) return 0;
            while (i < n && entries[i].value == NULL) i++; /* deleted entries */
            if (i >= n) return 0;
            *key = entries[i].key;
            *value = entries[i].value;
            *position = i + 1;
            return 1;
        }
    }
#endif
    return PyDict_Next(dict, position, key, value);
}

#ifndef DIRECT_DICT
typedef struct {
    PyObject *key, *value;
} StrEntry;
#endif

/* The entries of an all-str-keys dict as dict_next reads them (count of them in *count), or
 * NULL: read them with PyDict_Next. Valid only until Python code runs (it may resize dict). */
HOT const StrEntry *str_entries(PyObject *dict, Py_ssize_t *count) {
#ifdef DIRECT_DICT
    PyDictObject *mp = (PyDictObject *)dict;
    if (direct_dict && mp->ma_values == NULL) {
        KeysLayout *keys = (KeysLayout *)mp->ma_keys;
        if (keys->dk_kind == 1) {
            *count = keys->dk_nentries;
            return (const StrEntry *)(keys->dk_indices + ((size_t)1 << keys->dk_log2_index_bytes));
        }
    }
#endif
    *count = 0;
    return NULL;
}

/* Whether dict_next reads what PyDict_Next reads: dicts of several sizes, with deletions. */
static int dict_layout_matches(void) {
    for (int size = 0; size < 40; size += 3) {
        PyObject *dict = PyDict_New();
        if (dict == NULL) return -1;
        for (int i = 0; i < size; i++) {
            PyObject *key = PyUnicode_FromFormat("k%d", i), *value = PyLong_FromLong(i);
            int failed = key == NULL || value == NULL || PyDict_SetItem(dict, key, value) < 0;
            if (!failed && i % 4 == 1) failed = PyDict_DelItem(dict, key) < 0;
            Py_XDECREF(key);
            Py_XDECREF(value);
            if (failed) { Py_DECREF(dict); return -1; }
        }
        Py_ssize_t expected_at = 0, direct_at = 0;
        PyObject *expected_key, *expected_value, *key, *value;
        int same = 1;
        while (same) {
            int more = PyDict_Next(dict, &expected_at, &expected_key, &expected_value);
            int direct_more = dict_next(dict, &direct_at, &key, &value);
            same = more == direct_more && (!more || (key == expected_key && value == expected_value));
            if (!more) break;
        }
        Py_DECREF(dict);
        if (!same) return 0;
    }
    return 1;
}

/* ---- type tests (the Python encoder's, for builtin types only) ---------------- */

/* Whether the value's type is one this module judges; anything else is left to Python. */
static inline int plain_type(PyObject *v) {
    return v == Py_None || PyBool_Check(v) || PyLong_CheckExact(v) || PyFloat_CheckExact(v) ||
           PyUnicode_CheckExact(v) || PyBytes_CheckExact(v) || PyByteArray_CheckExact(v) ||
           PyList_CheckExact(v) || PyTuple_CheckExact(v) || PyDict_CheckExact(v);
}

/* A Python int in [low, high]; 0 for anything else (including out of int64). */
HOT int long_in(PyObject *v, int64_t low, int64_t high, int64_t *out) {
    if (!PyLong_CheckExact(v)) return 0;
    /* one-digit ints (|n| < 2**30): read directly, the common case */
#if PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)v)) {
        int64_t number = (int64_t)PyUnstable_Long_CompactValue((PyLongObject *)v);
        if (number < low || number > high) return 0;
        *out = number;
        return 1;
    }
#else
    /* one or two 30-bit digits (|n| < 2**60: timestamps too), read directly */
    Py_ssize_t digits = Py_SIZE(v);
    if (digits >= -2 && digits <= 2) {
        const digit *digit_of = ((PyLongObject *)v)->ob_digit;
        int64_t magnitude = digits == 0 ? 0 : (int64_t)digit_of[0];
        if (digits == 2 || digits == -2) magnitude |= (int64_t)digit_of[1] << PyLong_SHIFT;
        int64_t number = digits < 0 ? -magnitude : magnitude;
        if (number < low || number > high) return 0;
        *out = number;
        return 1;
    }
#endif
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (number == -1 && PyErr_Occurred())) { PyErr_Clear(); return 0; }
    if (number < low || number > high) return 0;
    *out = (int64_t)number;
    return 1;
}

/* 1 when v passes the test of primitive type op, 0 when not (ints: bounds of the op). */
static int primitive_test(int op, PyObject *v) {
    int64_t ignored;
    switch (op) {
    case OP_NULL: return v == Py_None;
    case OP_BOOLEAN: return v == Py_True || v == Py_False;
    case OP_INT: return long_in(v, INT32_MIN, INT32_MAX, &ignored);
    case OP_LONG: return long_in(v, INT64_MIN, INT64_MAX, &ignored);
    case OP_FLOAT: case OP_DOUBLE: return PyFloat_CheckExact(v) || PyLong_CheckExact(v);
    case OP_BYTES: return PyBytes_CheckExact(v) || PyByteArray_CheckExact(v);
    case OP_STRING: return PyUnicode_CheckExact(v);
    case OP_ARRAY: return PyList_CheckExact(v) || PyTuple_CheckExact(v);
    case OP_MAP: case OP_RECORD: return PyDict_CheckExact(v);
    default: return 0;
    }
}

/* Whether union branch node accepts v (1/0), or -1: decline. v is of a plain type. */
static int branch_test(Encoder *self, Py_ssize_t index, PyObject *v) {
    Node *node = &self->nodes[index];
    switch (node->op) {
    case OP_FIXED:
        return PyBytes_CheckExact(v) && PyBytes_GET_SIZE(v) == node->size;
    case OP_ENUM: {
        if (!PyUnicode_CheckExact(v)) return 0;
        int found = PyDict_Contains(node->symbols, v);
        if (found < 0) { PyErr_Clear(); return -1; }
        return found;
    }
    case OP_RECORD: {
        if (!PyDict_CheckExact(v)) return 0;
        for (Py_ssize_t i = 0; i < node->nrequired; i++) {
            int found = PyDict_Contains(v, node->required[i]);
            if (found < 0) { PyErr_Clear(); return -1; }
            if (!found) return 0;
        }
        return 1;
    }
    case OP_LOGICAL:
        if (node->branch_op < 0) return -1;
        return primitive_test(node->branch_op, v);
    case OP_UNION: case OP_FALLBACK:
        return -1;
    default:
        return primitive_test(node->op, v);
    }
}

/* ---- encoding ----------------------------------------------------------------- */

static int encode(Encoder *self, Buf *buf, Py_ssize_t index, PyObject *v, int depth);

/* Encode an item read from a container. Only dict lookups (a key's __eq__) can run Python
 * code while encoding, and only inside a nested container, so only containers are held
 * (a strong reference) while they are written: scalars are left untouched. */
static inline int encode_item(Encoder *self, Buf *buf, Py_ssize_t index, PyObject *item, int depth) {
    if (!(PyDict_CheckExact(item) || PyList_CheckExact(item) || PyTuple_CheckExact(item)))
        return encode(self, buf, index, item, depth);
    Py_INCREF(item);
    int result = encode(self, buf, index, item, depth);
    Py_DECREF(item);
    return result;
}

/* ---- writing scalars through a cursor ------------------------------------------------
 *
 * Containers write their scalar items through a cursor (at, end) kept in registers rather
 * than through buf->len: every byte stored through a char pointer may alias buf's fields,
 * so the compiler reloads and stores them after each write otherwise. buf->len is brought
 * up to date before anything that reads buf (growing it, encode for a nested container).
 */

/* room for need more bytes at *at (the buffer may move) */
HOT int reserve(Buf *buf, char **at, char **end, Py_ssize_t need) {
    if (*end - *at >= need) return DONE;
    buf->len = *at - buf->data;
    if (buf_grow(buf, need) < 0) return FAILED;
    *at = buf->data + buf->len;
    *end = buf->data + buf->cap;
    return DONE;
}

/* a zigzag varint; the room (10 bytes) is reserved by the caller */
HOT void put_long(char **at, int64_t number) {
    uint64_t zigzag = ((uint64_t)number << 1) ^ (uint64_t)(number >> 63);
    unsigned char *out = (unsigned char *)*at;
    while (zigzag & ~(uint64_t)0x7F) {
        *out++ = (unsigned char)((zigzag & 0x7F) | 0x80);
        zigzag >>= 7;
    }
    *out++ = (unsigned char)zigzag;
    *at = (char *)out;
}

HOT int string_at(Buf *buf, char **at, char **end, PyObject *v) {
    if (!PyUnicode_CheckExact(v)) return DECLINE;
    Py_ssize_t size;
    const char *text;
    if (PyUnicode_IS_COMPACT_ASCII(v)) { /* ASCII is its own UTF-8 */
        text = (const char *)PyUnicode_DATA(v);
        size = PyUnicode_GET_LENGTH(v);
    } else {
        text = PyUnicode_AsUTF8AndSize(v, &size);
        if (text == NULL) { PyErr_Clear(); return DECLINE; } /* lone surrogates: Python decides */
    }
    if (size > PY_SSIZE_T_MAX - 10) { PyErr_NoMemory(); return FAILED; }
    if (reserve(buf, at, end, 10 + size) < 0) return FAILED;
    put_long(at, size);
    memcpy(*at, text, size);
    *at += size;
    return DONE;
}

HOT int real_at(Buf *buf, char **at, char **end, PyObject *v, int width) {
    double number;
    if (PyFloat_CheckExact(v)) {
        number = PyFloat_AS_DOUBLE(v);
    } else if (PyLong_CheckExact(v)) {
        number = PyLong_AsDouble(v);
        if (number == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return DECLINE; }
    } else {
        return DECLINE;
    }
    if (reserve(buf, at, end, 8) < 0) return FAILED;
#if PY_LITTLE_ENDIAN
    if (width == 8) { /* an IEEE double in memory already is Avro's little-endian double */
        memcpy(*at, &number, 8);
        *at += 8;
        return DONE;
    }
    if (width == 4 && number == number) { /* what PyFloat_Pack4 does for a non-NaN */
        float single = (float)number;
        if (isinf(single) && !isinf(number)) return DECLINE; /* too large: Python decides */
        memcpy(*at, &single, 4);
        *at += 4;
        return DONE;
    }
#endif
    int packed = width == 4 ? PyFloat_Pack4(number, *at, 1) : PyFloat_Pack8(number, *at, 1);
    if (packed < 0) { PyErr_Clear(); return DECLINE; } /* too large for a float: Python decides */
    *at += width;
    return DONE;
}

/* The scalar cases of encode, inlined where containers read their items; -2: not a scalar node. */
HOT int leaf_at(Buf *buf, char **at, char **end, Node *node, PyObject *v) {
    int64_t number;
    switch (node->op) {
    case OP_LONG:
        if (!long_in(v, INT64_MIN, INT64_MAX, &number)) return DECLINE;
        if (reserve(buf, at, end, 10) < 0) return FAILED;
        put_long(at, number);
        return DONE;
    case OP_INT:
        if (!long_in(v, INT32_MIN, INT32_MAX, &number)) return DECLINE;
        if (reserve(buf, at, end, 10) < 0) return FAILED;
        put_long(at, number);
        return DONE;
    case OP_STRING:
        return string_at(buf, at, end, v);
    case OP_DOUBLE:
        return real_at(buf, at, end, v, 8);
    case OP_FLOAT:
        return real_at(buf, at, end, v, 4);
    case OP_BOOLEAN:
        if (v != Py_True && v != Py_False) return DECLINE;
        if (reserve(buf, at, end, 1) < 0) return FAILED;
        *(*at)++ = v == Py_True ? 1 : 0;
        return DONE;
    case OP_NULL:
        return v == Py_None ? DONE : DECLINE;
    case OP_ENUM:
        for (Py_ssize_t i = 0; i < node->nsymbols; i++) { /* interned values: no hashing */
            if (node->symbol_names[i] == v) {
                if (reserve(buf, at, end, 10) < 0) return FAILED;
                put_long(at, node->symbol_indexes[i]);
                return DONE;
            }
        }
        return -2; /* not by identity: encode looks it up */
    default:
        return -2;
    }
}

/* leaf_at, plus logical types over a leaf and None for a union with a null branch */
HOT int scalar_at(Encoder *self, Buf *buf, char **at, char **end, Node *node, PyObject *v) {
    int result = leaf_at(buf, at, end, node, v);
    if (result != -2) return result;
    if (node->op == OP_LOGICAL) { /* encode's LOGICAL case, then the base as a leaf */
        int64_t number;
        if (node->test_op < 0) return DECLINE;
        if (node->test_op == OP_INT || node->test_op == OP_LONG) {
            if (!long_in(v, INT64_MIN, INT64_MAX, &number)) return DECLINE;
        } else if (!primitive_test(node->test_op, v)) {
            return DECLINE;
        }
        return leaf_at(buf, at, end, &self->nodes[node->child], v);
    }
    if (node->op == OP_UNION && v == Py_None && node->null_branch >= 0) {
        if (reserve(buf, at, end, 10) < 0) return FAILED;
        put_long(at, node->null_branch); /* the null branch writes nothing more */
        return DONE;
    }
    return -2;
}

/* An item of a container: scalar_at, else encode_item with buf brought up to date. */
HOT int item_at(Encoder *self, Buf *buf, char **at, char **end, Py_ssize_t index, PyObject *item,
                int depth) {
    int result = scalar_at(self, buf, at, end, &self->nodes[index], item);
    if (result != -2) return result;
    buf->len = *at - buf->data;
    result = encode_item(self, buf, index, item, depth);
    *at = buf->data + buf->len;
    *end = buf->data + buf->cap;
    return result;
}

HOT int encode_string(Buf *buf, PyObject *v) {
    char *at = buf->data + buf->len, *end = buf->data + buf->cap;
    int result = string_at(buf, &at, &end, v);
    buf->len = at - buf->data;
    return result;
}

HOT int encode_real(Buf *buf, PyObject *v, int width) {
    char *at = buf->data + buf->len, *end = buf->data + buf->cap;
    int result = real_at(buf, &at, &end, v, width);
    buf->len = at - buf->data;
    return result;
}

static int encode_array(Encoder *self, Buf *buf, Node *node, PyObject *v, int depth) {
    if (!PyList_CheckExact(v) && !PyTuple_CheckExact(v)) return DECLINE;
    Py_ssize_t count = Py_SIZE(v);
    if (count && buf_long(buf, count) < 0) return FAILED;
    char *at = buf->data + buf->len, *end = buf->data + buf->cap;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (Py_SIZE(v) != count) return DECLINE; /* changed while we read it */
        PyObject *item = PyList_CheckExact(v) ? PyList_GET_ITEM(v, i) : PyTuple_GET_ITEM(v, i);
        int result = item_at(self, buf, &at, &end, node->child, item, depth + 1);
        if (result != DONE) return result;
    }
    buf->len = at - buf->data;
    if (Py_SIZE(v) != count) return DECLINE;
    return buf_put(buf, "\0", 1);
}

static int encode_map(Encoder *self, Buf *buf, Node *node, PyObject *v, int depth) {
    if (!PyDict_CheckExact(v)) return DECLINE;
    Py_ssize_t count = PyDict_GET_SIZE(v), position = 0, seen = 0;
    if (count && buf_long(buf, count) < 0) return FAILED;
    char *at = buf->data + buf->len, *end = buf->data + buf->cap;
    PyObject *key, *item;
    while (dict_next(v, &position, &key, &item)) {
        if (++seen > count) return DECLINE;
        int result = string_at(buf, &at, &end, key); /* runs no Python code: key stays alive */
        if (result == DONE) result = item_at(self, buf, &at, &end, node->child, item, depth + 1);
        if (result != DONE) return result;
    }
    buf->len = at - buf->data;
    if (seen != count || PyDict_GET_SIZE(v) != count) return DECLINE;
    return buf_put(buf, "\0", 1);
}

static int encode_record(Encoder *self, Buf *buf, Node *node, PyObject *v, int depth) {
    if (!PyDict_CheckExact(v)) return DECLINE;
    Py_ssize_t size = PyDict_GET_SIZE(v), present = 0, cursor = 0;
    if (size > node->nfields) return DECLINE;
    /* Dicts are mostly written in field order with the (interned) field names as keys, so
     * the next entry usually is the field: no hashing. Otherwise a lookup decides. */
    int in_order = 1;
    Py_ssize_t nentries;
    const StrEntry *entries = str_entries(v, &nentries); /* read once, not per field */
    char *at = buf->data + buf->len, *end = buf->data + buf->cap;
    for (Py_ssize_t i = 0; i < node->nfields; i++) {
        Field *field = &node->fields[i];
        PyObject *item = NULL, *key, *value;
        if (in_order && entries != NULL) {
            while (cursor < nentries && entries[cursor].value == NULL) cursor++; /* deleted */
            if (cursor < nentries && entries[cursor].key == field->name)
                item = entries[cursor++].value;
            else
                in_order = 0;
        } else if (in_order) {
            Py_ssize_t next = cursor;
            if (dict_next(v, &next, &key, &value) && key == field->name) {
                item = value;
                cursor = next;
            } else {
                in_order = 0;
            }
        }
        if (item == NULL) {
            item = PyDict_GetItemWithError(v, field->name);
            if (item == NULL && PyErr_Occurred()) { PyErr_Clear(); return DECLINE; }
        }
        if (item == NULL) {
            if (!field->has_default) return DECLINE; /* a required field is missing */
            item = field->fallback;
        } else {
            present++;
        }
        int result = scalar_at(self, buf, &at, &end, &self->nodes[field->node], item);
        if (result == -2) {
            buf->len = at - buf->data;
            result = encode_item(self, buf, field->node, item, depth + 1);
            at = buf->data + buf->len;
            end = buf->data + buf->cap;
            /* it may have run Python code (a key's __eq__), which may have resized v */
            if (entries != NULL) entries = str_entries(v, &nentries);
        }
        if (result != DONE) return result;
    }
    buf->len = at - buf->data;
    /* keys that are not fields (the Python encoder counts the fields it found) */
    if (PyDict_GET_SIZE(v) != present) return DECLINE;
    return DONE;
}

static int encode_union(Encoder *self, Buf *buf, Node *node, PyObject *v, int depth) {
    if (!plain_type(v)) return DECLINE;
    for (Py_ssize_t i = 0; i < node->nbranches; i++) {
        int chosen = branch_test(self, node->branches[i], v);
        if (chosen < 0) return DECLINE;
        if (chosen) {
            if (buf_long(buf, i) < 0) return FAILED;
            return encode(self, buf, node->branches[i], v, depth + 1);
        }
    }
    return DECLINE;
}

static int encode(Encoder *self, Buf *buf, Py_ssize_t index, PyObject *v, int depth) {
    Node *node = &self->nodes[index];
    int64_t number;
    if (depth > MAX_DEPTH) return DECLINE;
    switch (node->op) {
    case OP_NULL:
        return v == Py_None ? DONE : DECLINE;
    case OP_BOOLEAN:
        if (v == Py_True) return buf_put(buf, "\1", 1);
        if (v == Py_False) return buf_put(buf, "\0", 1);
        return DECLINE;
    case OP_INT:
        if (!long_in(v, INT32_MIN, INT32_MAX, &number)) return DECLINE;
        return buf_long(buf, number);
    case OP_LONG:
        if (!long_in(v, INT64_MIN, INT64_MAX, &number)) return DECLINE;
        return buf_long(buf, number);
    case OP_FLOAT:
        return encode_real(buf, v, 4);
    case OP_DOUBLE:
        return encode_real(buf, v, 8);
    case OP_STRING:
        return encode_string(buf, v);
    case OP_BYTES: {
        const char *data;
        Py_ssize_t size;
        if (PyBytes_CheckExact(v)) {
            data = PyBytes_AS_STRING(v);
            size = PyBytes_GET_SIZE(v);
        } else if (PyByteArray_CheckExact(v)) {
            data = PyByteArray_AS_STRING(v);
            size = PyByteArray_GET_SIZE(v);
        } else {
            return DECLINE;
        }
        if (buf_long(buf, size) < 0) return FAILED;
        return buf_put(buf, data, size);
    }
    case OP_FIXED:
        if (!PyBytes_CheckExact(v) || PyBytes_GET_SIZE(v) != node->size) return DECLINE;
        return buf_put(buf, PyBytes_AS_STRING(v), node->size);
    case OP_ENUM: {
        if (!PyUnicode_CheckExact(v)) return DECLINE;
        for (Py_ssize_t i = 0; i < node->nsymbols; i++) { /* interned values: no hashing */
            if (node->symbol_names[i] == v) return buf_long(buf, node->symbol_indexes[i]);
        }
        PyObject *position = PyDict_GetItemWithError(node->symbols, v);
        if (position == NULL) { PyErr_Clear(); return DECLINE; }
        return buf_long(buf, PyLong_AsLongLong(position));
    }
    case OP_ARRAY:
        return encode_array(self, buf, node, v, depth);
    case OP_MAP:
        return encode_map(self, buf, node, v, depth);
    case OP_RECORD:
        return encode_record(self, buf, node, v, depth);
    case OP_UNION:
        return encode_union(self, buf, node, v, depth);
    case OP_LOGICAL:
        if (node->test_op < 0 || !plain_type(v)) return DECLINE;
        /* the Python encoder converts values failing the base test; that is left to it */
        if (node->test_op == OP_INT || node->test_op == OP_LONG) {
            if (!long_in(v, INT64_MIN, INT64_MAX, &number)) return DECLINE;
        } else if (!primitive_test(node->test_op, v)) {
            return DECLINE;
        }
        return encode(self, buf, node->child, v, depth + 1);
    default:
        return DECLINE;
    }
}

static PyObject *Encoder_encode(Encoder *self, PyObject *value) {
    Buf buf;
    buf.data = buf.local;
    buf.len = 0;
    buf.cap = sizeof(buf.local);
    PyObject *result = NULL;
    if (buf_put(&buf, PyBytes_AS_STRING(self->header), PyBytes_GET_SIZE(self->header)) == DONE) {
        int status = encode(self, &buf, self->root, value, 0);
        if (status == DONE) {
            result = PyBytes_FromStringAndSize(buf.data, buf.len);
        } else if (status == DECLINE) {
            result = Py_NewRef(Py_None);
        }
    }
    if (buf.data != buf.local) PyMem_Free(buf.data);
    return result;
}

/* ---- building an encoder from its program --------------------------------------- */

static int bad_program(const char *what) {
    PyErr_Format(PyExc_ValueError, "bad Avro encoder program: %s", what);
    return -1;
}

static int node_index(Encoder *self, PyObject *item, Py_ssize_t *out) {
    Py_ssize_t index = PyLong_AsSsize_t(item);
    if (index == -1 && PyErr_Occurred()) return -1;
    if (index < 0 || index >= self->nnodes) return bad_program("node index out of range");
    *out = index;
    return 0;
}

static int build_node(Encoder *self, Node *node, PyObject *spec) {
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1) return bad_program("node is not a tuple");
    Py_ssize_t length = PyTuple_GET_SIZE(spec);
    long op = PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
    if (op == -1 && PyErr_Occurred()) return -1;
    if (op < 0 || op >= OP_COUNT) return bad_program("unknown opcode");
    node->op = (int)op;
    switch (op) {
    case OP_FIXED:
        if (length != 2) return bad_program("FIXED takes a size");
        node->size = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 1));
        if (node->size == -1 && PyErr_Occurred()) return -1;
        return node->size < 0 ? bad_program("negative size") : 0;
    case OP_ENUM: {
        if (length != 2 || !PyDict_CheckExact(PyTuple_GET_ITEM(spec, 1)))
            return bad_program("ENUM takes a dict");
        PyObject *symbols = PyTuple_GET_ITEM(spec, 1), *key, *position;
        Py_ssize_t cursor = 0, count = PyDict_GET_SIZE(symbols);
        node->symbols = Py_NewRef(symbols);
        node->symbol_names = PyMem_Calloc(count + 1, sizeof(PyObject *));
        node->symbol_indexes = PyMem_Calloc(count + 1, sizeof(long long));
        if (!node->symbol_names || !node->symbol_indexes) { PyErr_NoMemory(); return -1; }
        while (PyDict_Next(symbols, &cursor, &key, &position)) {
            if (!PyUnicode_CheckExact(key) || !PyLong_CheckExact(position))
                return bad_program("ENUM symbols map str to int");
            long long index = PyLong_AsLongLong(position);
            if (index == -1 && PyErr_Occurred()) return -1;
            PyObject *name = Py_NewRef(key);
            PyUnicode_InternInPlace(&name);
            node->symbol_names[node->nsymbols] = name;
            node->symbol_indexes[node->nsymbols++] = index;
        }
        return 0;
    }
    case OP_ARRAY: case OP_MAP:
        if (length != 2) return bad_program("ARRAY and MAP take a child");
        return node_index(self, PyTuple_GET_ITEM(spec, 1), &node->child);
    case OP_LOGICAL:
        if (length != 4) return bad_program("LOGICAL takes base, test_op, branch_op");
        if (node_index(self, PyTuple_GET_ITEM(spec, 1), &node->child) < 0) return -1;
        node->test_op = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 2));
        node->branch_op = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 3));
        return PyErr_Occurred() ? -1 : 0;
    case OP_UNION: {
        PyObject *branches = length == 2 ? PyTuple_GET_ITEM(spec, 1) : NULL;
        if (branches == NULL || !PyTuple_Check(branches)) return bad_program("UNION takes a tuple");
        node->nbranches = PyTuple_GET_SIZE(branches);
        node->branches = PyMem_Calloc(node->nbranches + 1, sizeof(Py_ssize_t));
        if (!node->branches) { PyErr_NoMemory(); return -1; }
        for (Py_ssize_t i = 0; i < node->nbranches; i++) {
            if (node_index(self, PyTuple_GET_ITEM(branches, i), &node->branches[i]) < 0) return -1;
        }
        return 0;
    }
    case OP_RECORD: {
        PyObject *fields = length == 2 ? PyTuple_GET_ITEM(spec, 1) : NULL;
        if (fields == NULL || !PyTuple_Check(fields)) return bad_program("RECORD takes a tuple");
        node->nfields = PyTuple_GET_SIZE(fields);
        node->fields = PyMem_Calloc(node->nfields + 1, sizeof(Field));
        node->required = PyMem_Calloc(node->nfields + 1, sizeof(PyObject *));
        if (!node->fields || !node->required) { PyErr_NoMemory(); return -1; }
        for (Py_ssize_t i = 0; i < node->nfields; i++) {
            PyObject *field = PyTuple_GET_ITEM(fields, i);
            if (!PyTuple_Check(field) || PyTuple_GET_SIZE(field) != 4 ||
                !PyUnicode_CheckExact(PyTuple_GET_ITEM(field, 0)))
                return bad_program("a field is (name, node, has_default, default)");
            Field *out = &node->fields[i];
            PyObject *name = Py_NewRef(PyTuple_GET_ITEM(field, 0));
            PyUnicode_InternInPlace(&name);
            out->name = name;
            if (node_index(self, PyTuple_GET_ITEM(field, 1), &out->node) < 0) return -1;
            out->has_default = PyObject_IsTrue(PyTuple_GET_ITEM(field, 2));
            if (out->has_default < 0) return -1;
            if (out->has_default) {
                out->fallback = Py_NewRef(PyTuple_GET_ITEM(field, 3));
                node->any_default = 1;
            } else {
                node->required[node->nrequired++] = out->name;
            }
        }
        return 0;
    }
    default:
        return length == 1 ? 0 : bad_program("primitive nodes take no arguments");
    }
}

static void Encoder_clear_nodes(Encoder *self) {
    if (self->nodes == NULL) return;
    for (Py_ssize_t i = 0; i < self->nnodes; i++) {
        Node *node = &self->nodes[i];
        Py_CLEAR(node->symbols);
        for (Py_ssize_t n = 0; n < node->nsymbols; n++) Py_CLEAR(node->symbol_names[n]);
        PyMem_Free(node->symbol_names);
        PyMem_Free(node->symbol_indexes);
        for (Py_ssize_t f = 0; f < node->nfields; f++) {
            Py_CLEAR(node->fields[f].name);
            Py_CLEAR(node->fields[f].fallback);
        }
        PyMem_Free(node->fields);
        PyMem_Free(node->required);
        PyMem_Free(node->branches);
    }
    PyMem_Free(self->nodes);
    self->nodes = NULL;
    self->nnodes = 0;
}

static int Encoder_init(Encoder *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"program", "root", "header", NULL};
    PyObject *program, *header;
    Py_ssize_t root;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!nS", keywords, &PyList_Type, &program,
                                     &root, &header))
        return -1;
    Encoder_clear_nodes(self);
    Py_CLEAR(self->header);
    Py_ssize_t count = PyList_GET_SIZE(program);
    self->nodes = PyMem_Calloc(count + 1, sizeof(Node));
    if (!self->nodes) { PyErr_NoMemory(); return -1; }
    self->nnodes = count;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (build_node(self, &self->nodes[i], PyList_GET_ITEM(program, i)) < 0) {
            Encoder_clear_nodes(self);
            return -1;
        }
    }
    if (root < 0 || root >= count) {
        Encoder_clear_nodes(self);
        return bad_program("root out of range");
    }
    for (Py_ssize_t i = 0; i < count; i++) { /* the branch None takes, when no test declines */
        Node *node = &self->nodes[i];
        node->null_branch = -1;
        for (Py_ssize_t b = 0; node->op == OP_UNION && b < node->nbranches; b++) {
            int op = self->nodes[node->branches[b]].op;
            if (op == OP_NULL) node->null_branch = b;
            if (op == OP_NULL || op == OP_LOGICAL || op == OP_UNION || op == OP_FALLBACK) break;
        }
    }
    for (Py_ssize_t i = 0; i < count; i++) { /* LOGICAL tests are primitive ones (or -1) */
        Node *node = &self->nodes[i];
        if (node->op == OP_LOGICAL && (node->test_op < -1 || node->test_op > OP_STRING ||
                                       node->branch_op < -1 || node->branch_op > OP_STRING)) {
            Encoder_clear_nodes(self);
            return bad_program("LOGICAL tests must be primitive");
        }
    }
    self->root = root;
    self->header = Py_NewRef(header);
    return 0;
}

static int Encoder_traverse(Encoder *self, visitproc visit, void *arg) {
    for (Py_ssize_t i = 0; i < self->nnodes; i++) {
        Node *node = &self->nodes[i];
        Py_VISIT(node->symbols);
        for (Py_ssize_t f = 0; f < node->nfields; f++) Py_VISIT(node->fields[f].fallback);
    }
    return 0;
}

static int Encoder_tp_clear(Encoder *self) {
    Encoder_clear_nodes(self);
    Py_CLEAR(self->header);
    return 0;
}

static void Encoder_dealloc(Encoder *self) {
    PyObject_GC_UnTrack(self);
    Encoder_tp_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *Encoder_call_encode(Encoder *self, PyObject *value) {
    if (self->nodes == NULL || self->header == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Encoder was not initialised");
        return NULL;
    }
    return Encoder_encode(self, value);
}

static PyMethodDef Encoder_methods[] = {
    {"encode", (PyCFunction)Encoder_call_encode, METH_O,
     "encode(value) -> header + Avro binary, or None when the Python encoder must decide."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "charter.sdk._avro_encode.Encoder",
    .tp_basicsize = sizeof(Encoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Encoder(program, root, header): an Avro encoder compiled from a node program.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Encoder_init,
    .tp_dealloc = (destructor)Encoder_dealloc,
    .tp_traverse = (traverseproc)Encoder_traverse,
    .tp_clear = (inquiry)Encoder_tp_clear,
    .tp_methods = Encoder_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "charter.sdk._avro_encode",
    "Avro binary encoding of plain Python values from a per-schema program (see avro_program).",
    -1, NULL,
};

PyMODINIT_FUNC PyInit__avro_encode(void) {
    direct_dict = 1;
    int layout = dict_layout_matches();
    if (layout < 0) return NULL;
    direct_dict = layout;
    if (PyType_Ready(&EncoderType) < 0) return NULL;
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL) return NULL;
    Py_INCREF(&EncoderType);
    if (PyModule_AddObject(mod, "Encoder", (PyObject *)&EncoderType) < 0) {
        Py_DECREF(&EncoderType);
        Py_DECREF(mod);
        return NULL;
    }
    if (charter_add_dispatcher(mod) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    static const char *names[] = {"NULL", "BOOLEAN", "INT", "LONG", "FLOAT", "DOUBLE", "BYTES",
                                  "STRING", "FIXED", "ENUM", "ARRAY", "MAP", "RECORD", "UNION",
                                  "LOGICAL", "FALLBACK"};
    if (PyModule_AddIntConstant(mod, "DIRECT_DICT", direct_dict) < 0) { Py_DECREF(mod); return NULL; }
    for (int op = 0; op < OP_COUNT; op++) {
        if (PyModule_AddIntConstant(mod, names[op], op) < 0) { Py_DECREF(mod); return NULL; }
    }
    return mod;
}
