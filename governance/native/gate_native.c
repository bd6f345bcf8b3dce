/* governance._gate_native: the produce gate's passing path in C, one call per batch.
 *
 * check(section, count, resolve_value, resolve_key) walks the records section of
 * a Kafka record batch (v2, after the 61-byte header, CRC checked and
 * decompressed), and for each record reads the value's Confluent framing
 * (magic 0, 4-byte schema id), asks resolve_value(schema_id) once per distinct
 * id for a Plan (or None), and runs the plan: the Avro payload validated byte
 * by byte (as the generated Python decoder of registry.formats.avro_decode
 * checks it) and the rules' conditions (a postfix program over the top-level
 * fields the rules read, answering true, false or "not sure"); a plan for
 * validation "id" reads no payload. Keys likewise with resolve_key, unless it
 * is None (keys not checked). Null values and keys (tombstones) are not checked.
 *
 * It answers a dict {schema_id: records} (None for tombstones) when it vouches
 * for every record, or the index of the first record it cannot vouch for
 * (anything malformed, refused, unsure or outside what a plan models). It
 * never explains: the Python path runs on such a batch and finds the reason.
 * So "vouched" must imply the Python path's ACCEPT; "not vouched" only costs
 * time. Every read is bounds-checked; the GIL is released during the walk.
 *
 * Plan(avro, rules, strings): avro and rules are int64 programs (little-endian
 * bytes) written by governance.native_plan, strings a tuple of bytes; the
 * programs are checked when the Plan is built so the walk trusts them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "Avro floats are read in place: little-endian machines only (the pure-Python path runs elsewhere)"
#endif

/* -- Avro node kinds (governance/native_avro.py writes the same numbers) -- */
enum {
    N_NULL = 0, N_BOOLEAN, N_INT, N_LONG, N_FLOAT, N_DOUBLE, N_BYTES, N_STRING,
    N_FIXED, N_ENUM, N_UNION, N_RECORD, N_ARRAY, N_MAP, N_INT_RANGE, N_LONG_RANGE,
    N_BYTES_MAX, N_NEVER, N_REST, N_KINDS
};
/* -- rule instructions (governance/native_rules.py writes the same numbers) -- */
enum {
    R_CONST = 0, R_CMP_I, R_CMP_ID, R_CMP_D, R_CMP_B, R_CMP_S, R_ENUM, R_FIELD_B,
    R_NOT, R_AND, R_OR, R_SIZE, R_KINDS
};
enum { OP_EQ = 0, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum { V_FALSE = 0, V_TRUE = 1, V_MISS = 2 };
enum { S_NONE = 0, S_INT, S_DOUBLE, S_BOOL, S_STRING, S_ENUM, S_BYTES, S_NULL };

#define MAX_DEPTH 200
#define MAX_SLOTS 64
#define MAX_STACK 64
#define MAX_PLANS 8
#define ZERO_WIDTH_ITEMS 65536
#define EXACT_DOUBLE (((int64_t)1) << 53)

typedef struct {
    PyObject_HEAD
    int64_t *avro;
    Py_ssize_t avro_len;
    int64_t *rules;
    Py_ssize_t rules_len;
    char **strings;
    Py_ssize_t *string_lens;
    Py_ssize_t string_count;
    int64_t root;
    int64_t slot_count;
} Plan;

typedef struct {
    int kind;
    int64_t i;
    double d;
    const uint8_t *s;
    Py_ssize_t n;
} Slot;

typedef struct {
    const uint8_t *d;
    Py_ssize_t n;
    Py_ssize_t p;
    const int64_t *code;
    int64_t zero_width_left;
    Slot last;
    Slot slots[MAX_SLOTS];
} Walk;

/* -- UTF-8 exactly as Python's strict decoder accepts it -- */
static int utf8_valid(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ULL) break;
                i += 8;
            }
            continue;
        }
        if (c < 0xC2 || c > 0xF4) return 0;
        if (c < 0xE0) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c < 0xF0) {
            if (i + 2 >= n) return 0;
            uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (s[i + 1] < lo || s[i + 1] > hi || (s[i + 2] & 0xC0) != 0x80) return 0;
            i += 3;
        } else {
            if (i + 3 >= n) return 0;
            uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (s[i + 1] < lo || s[i + 1] > hi || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return 0;
            i += 4;
        }
    }
    return 1;
}

/* -- Avro: zig-zag varint of at most 10 bytes, wrapped to 64 bits -- */
static inline int avro_long(Walk *w, int64_t *out) {
    uint64_t result = 0;
    int shift = 0;
    for (;;) {
        if (w->p >= w->n) return 0;
        uint8_t byte = w->d[w->p++];
        result |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) break;
        shift += 7;
        if (shift > 63) return 0;
    }
    *out = (int64_t)(result >> 1) ^ -(int64_t)(result & 1);
    return 1;
}

static inline int avro_length(Walk *w, int64_t *out) {
    if (!avro_long(w, out) || *out < 0 || *out > w->n - w->p) return 0;
    return 1;
}

static int walk_node(Walk *w, int64_t at, int depth);

/* One value of a leaf type (no children): 1 read, 0 refused, -1 not a leaf. Inlined into
 * the record and block loops, so a record's scalar fields cost no call each. */
static inline __attribute__((always_inline)) int walk_leaf(Walk *w, const int64_t *node) {
    int64_t value, length;
    switch (node[0]) {
    case N_NULL:
        w->last.kind = S_NULL;
        return 1;
    case N_BOOLEAN:
        if (w->p >= w->n || w->d[w->p] > 1) return 0;
        w->last.kind = S_BOOL;
        w->last.i = w->d[w->p++];
        return 1;
    case N_INT:
        if (!avro_long(w, &value) || value < INT32_MIN || value > INT32_MAX) return 0;
        w->last.kind = S_INT;
        w->last.i = value;
        return 1;
    case N_LONG:
        if (!avro_long(w, &value)) return 0;
        w->last.kind = S_INT;
        w->last.i = value;
        return 1;
    case N_INT_RANGE:
    case N_LONG_RANGE:
        if (!avro_long(w, &value)) return 0;
        if (node[0] == N_INT_RANGE && (value < INT32_MIN || value > INT32_MAX)) return 0;
        if (value < node[1] || value > node[2]) return 0; /* the logical reader might refuse */
        w->last.kind = S_NONE;                           /* rules never read a logical value */
        return 1;
    case N_FLOAT: {
        float f;
        if (w->n - w->p < 4) return 0;
        memcpy(&f, w->d + w->p, 4); /* little-endian, as Avro writes it (x86, arm64) */
        w->p += 4;
        w->last.kind = S_DOUBLE;
        w->last.d = (double)f;
        return 1;
    }
    case N_DOUBLE:
        if (w->n - w->p < 8) return 0;
        memcpy(&w->last.d, w->d + w->p, 8);
        w->p += 8;
        w->last.kind = S_DOUBLE;
        return 1;
    case N_BYTES:
    case N_BYTES_MAX:
        if (!avro_length(w, &length)) return 0;
        if (node[0] == N_BYTES_MAX && length > node[1]) return 0;
        w->last.kind = node[0] == N_BYTES ? S_BYTES : S_NONE; /* a decimal is not bytes to CEL */
        w->last.s = w->d + w->p;
        w->last.n = length;
        w->p += length;
        return 1;
    case N_STRING:
        if (!avro_length(w, &length) || !utf8_valid(w->d + w->p, length)) return 0;
        w->last.kind = S_STRING;
        w->last.s = w->d + w->p;
        w->last.n = length;
        w->p += length;
        return 1;
    case N_FIXED:
        if (w->n - w->p < node[1]) return 0;
        w->p += node[1];
        w->last.kind = S_NONE;
        return 1;
    case N_ENUM:
        if (!avro_long(w, &value) || value < 0 || value >= node[1]) return 0;
        w->last.kind = S_ENUM;
        w->last.i = value;
        return 1;
    case N_REST: /* validation "id": the payload is not read */
        w->p = w->n;
        w->last.kind = S_NONE;
        return 1;
    case N_NEVER: /* a value the Python path converts in a way not modelled here */
        return 0;
    default:
        return -1;
    }
}


static int walk_blocks(Walk *w, int64_t item, int map, int zero_width, int depth) {
    int64_t count;
    if (!avro_long(w, &count)) return 0;
    while (count) {
        if (count < 0) {
            int64_t size;
            if (count == INT64_MIN || !avro_long(w, &size)) return 0;
            count = -count;
        }
        if (zero_width) {
            w->zero_width_left -= count;
            if (w->zero_width_left < 0) return 0;
        } else if (count > w->n - w->p) {
            return 0;
        }
        for (int64_t k = 0; k < count; k++) {
            if (map) {
                int64_t length;
                if (!avro_length(w, &length) || !utf8_valid(w->d + w->p, length)) return 0;
                w->p += length;
            }
            int read = walk_leaf(w, w->code + item);
            if (read < 0) read = walk_node(w, item, depth + 1);
            if (!read) return 0;
        }
        if (!avro_long(w, &count)) return 0;
    }
    return 1;
}

static int walk_node(Walk *w, int64_t at, int depth) {
    const int64_t *node = w->code + at;
    int64_t value;
    int leaf = walk_leaf(w, node);
    if (leaf >= 0) return leaf;
    if (depth > MAX_DEPTH) return 0;
    switch (node[0]) {
    case N_UNION:
        if (!avro_long(w, &value) || value < 0 || value >= node[1]) return 0;
        return walk_node(w, node[2 + value], depth + 1); /* the branch's value stays last */
    case N_RECORD: {
        int64_t fields = node[1];
        for (int64_t k = 0; k < fields; k++) {
            int read = walk_leaf(w, w->code + node[2 + 2 * k]);
            if (read < 0) read = walk_node(w, node[2 + 2 * k], depth + 1);
            if (!read) return 0;
            int64_t slot = node[3 + 2 * k];
            if (slot >= 0) w->slots[slot] = w->last;
        }
        w->last.kind = S_NONE;
        return 1;
    }
    case N_ARRAY:
        if (!walk_blocks(w, node[1], 0, (int)node[2], depth)) return 0;
        w->last.kind = S_NONE;
        return 1;
    case N_MAP:
        if (!walk_blocks(w, node[1], 1, 0, depth)) return 0;
        w->last.kind = S_NONE;
        return 1;
    default:
        return 0;
    }
}

/* -- rules: postfix programs over the slots, three-valued -- */
static inline int compare_order(int op, int order) {
    switch (op) {
    case OP_EQ: return order == 0;
    case OP_NE: return order != 0;
    case OP_LT: return order < 0;
    case OP_LE: return order <= 0;
    case OP_GT: return order > 0;
    default: return order >= 0;
    }
}

static inline int compare_doubles(int op, double a, double b) {
    switch (op) { /* NaN compares as Python compares it: only != holds */
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    default: return a >= b;
    }
}

static int run_program(const Plan *plan, const Walk *w, int64_t start, int64_t length) {
    uint8_t stack[MAX_STACK];
    int top = 0;
    const int64_t *code = plan->rules;
    int64_t at = start, end = start + length;
    while (at < end) {
        const int64_t *in = code + at;
        const Slot *slot;
        uint8_t result = V_MISS;
        switch (in[0]) {
        case R_CONST:
            stack[top++] = (uint8_t)in[1];
            at += 2;
            continue;
        case R_CMP_I:
            slot = &w->slots[in[1]];
            if (slot->kind == S_INT) {
                int64_t a = slot->i, b = in[3];
                result = (uint8_t)compare_order((int)in[2], (a > b) - (a < b));
            }
            break;
        case R_CMP_ID:
        case R_CMP_D: {
            double b;
            memcpy(&b, &in[3], 8);
            slot = &w->slots[in[1]];
            if (in[0] == R_CMP_ID && slot->kind == S_INT && slot->i >= -EXACT_DOUBLE &&
                slot->i <= EXACT_DOUBLE)
                result = (uint8_t)compare_doubles((int)in[2], (double)slot->i, b);
            else if (in[0] == R_CMP_D && slot->kind == S_DOUBLE)
                result = (uint8_t)compare_doubles((int)in[2], slot->d, b);
            break;
        }
        case R_CMP_B:
            slot = &w->slots[in[1]];
            if (slot->kind == S_BOOL) {
                int64_t a = slot->i, b = in[3];
                result = (uint8_t)compare_order((int)in[2], (a > b) - (a < b));
            }
            break;
        case R_CMP_S:
            slot = &w->slots[in[1]];
            if (slot->kind == S_STRING) {
                const char *b = plan->strings[in[3]];
                Py_ssize_t bn = plan->string_lens[in[3]];
                Py_ssize_t common = slot->n < bn ? slot->n : bn;
                int order = memcmp(slot->s, b, (size_t)common);
                if (order == 0) order = (slot->n > bn) - (slot->n < bn);
                result = (uint8_t)compare_order((int)in[2], order);
            }
            break;
        case R_ENUM:
            slot = &w->slots[in[1]];
            if (slot->kind == S_ENUM && slot->i < plan->string_lens[in[2]])
                result = (uint8_t)plan->strings[in[2]][slot->i];
            stack[top++] = result;
            at += 3;
            continue;
        case R_SIZE: /* size() of a string (code points) or bytes, compared with an int */
            slot = &w->slots[in[1]];
            if (slot->kind == S_STRING || slot->kind == S_BYTES) {
                int64_t a = slot->n, b = in[3];
                if (slot->kind == S_STRING)
                    for (Py_ssize_t k = 0; k < slot->n; k++) a -= (slot->s[k] & 0xC0) == 0x80;
                result = (uint8_t)compare_order((int)in[2], (a > b) - (a < b));
            }
            break;
        case R_FIELD_B:
            slot = &w->slots[in[1]];
            stack[top++] = slot->kind == S_BOOL ? (uint8_t)slot->i : V_MISS;
            at += 2;
            continue;
        case R_NOT: {
            uint8_t a = stack[top - 1];
            stack[top - 1] = a == V_MISS ? V_MISS : (uint8_t)!a;
            at += 1;
            continue;
        }
        case R_AND:
        case R_OR: {
            uint8_t b = stack[--top], a = stack[top - 1];
            uint8_t absorbing = in[0] == R_AND ? V_FALSE : V_TRUE;
            if (a == absorbing)
                result = absorbing;
            else if (a != V_MISS && b != V_MISS)
                result = b;
            else
                result = V_MISS;
            stack[top - 1] = result;
            at += 1;
            continue;
        }
        }
        if (in[0] != R_SIZE && w->slots[in[1]].kind == S_NULL) /* an optional field's null */
            result = in[2] == OP_EQ ? V_FALSE : in[2] == OP_NE ? V_TRUE : V_MISS;
        stack[top++] = result;
        at += 4;
    }
    return stack[0];
}

static int rules_hold(const Plan *plan, const Walk *w) {
    const int64_t *code = plan->rules;
    if (plan->rules_len == 0) return 1;
    int64_t count = code[0];
    for (int64_t k = 0; k < count; k++) {
        const int64_t *rule = code + 1 + 4 * k;
        if (rule[0] >= 0) {
            int guard = run_program(plan, w, rule[0], rule[1]);
            if (guard == V_FALSE) continue;
            if (guard != V_TRUE) return 0;
        }
        if (run_program(plan, w, rule[2], rule[3]) != V_TRUE) return 0;
    }
    return 1;
}

static int payload_passes(const Plan *plan, const uint8_t *data, Py_ssize_t size) {
    Walk w;
    w.d = data;
    w.n = size;
    w.p = 0;
    w.code = plan->avro;
    w.zero_width_left = ZERO_WIDTH_ITEMS;
    for (int64_t k = 0; k < plan->slot_count; k++) w.slots[k].kind = S_NONE;
    if (!walk_node(&w, plan->root, 0) || w.p != w.n) return 0;
    return rules_hold(plan, &w);
}

/* -- checking a plan's programs once, so the walk can trust them -- */
static Py_ssize_t node_size(const int64_t *code, Py_ssize_t at, Py_ssize_t len) {
    int64_t kind = code[at];
    switch (kind) {
    case N_FIXED: case N_ENUM: case N_BYTES_MAX:
        return at + 2 <= len ? 2 : -1;
    case N_ARRAY: case N_INT_RANGE: case N_LONG_RANGE:
        return at + 3 <= len ? 3 : -1;
    case N_MAP:
        return at + 2 <= len ? 2 : -1;
    case N_UNION:
        if (at + 2 > len || code[at + 1] < 1 || code[at + 1] > len) return -1;
        return at + 2 + code[at + 1] <= len ? 2 + code[at + 1] : -1;
    case N_RECORD:
        if (at + 2 > len || code[at + 1] < 0 || code[at + 1] > len) return -1;
        return at + 2 + 2 * code[at + 1] <= len ? 2 + 2 * code[at + 1] : -1;
    default: /* N_NEVER, N_REST and the primitives: one word */
        return kind >= 0 && kind < N_KINDS ? 1 : -1;
    }
}

static int avro_program_ok(const int64_t *code, Py_ssize_t len, int64_t slots) {
    if (len < 3) return 0;
    char *starts = PyMem_Calloc((size_t)len, 1);
    if (starts == NULL) return 0;
    int ok = 1;
    for (Py_ssize_t at = 2; at < len && ok;) {
        Py_ssize_t size = node_size(code, at, len);
        if (size < 1) ok = 0;
        else { starts[at] = 1; at += size; }
    }
#define NODE(x) ((x) >= 2 && (x) < len && starts[(x)])
    ok = ok && NODE(code[0]);
    for (Py_ssize_t at = 2; at < len && ok; at += node_size(code, at, len)) {
        const int64_t *node = code + at;
        switch (node[0]) {
        case N_FIXED: ok = node[1] >= 0; break;
        case N_ENUM: ok = node[1] >= 0; break;
        case N_BYTES_MAX: ok = node[1] >= 0; break;
        case N_ARRAY: ok = NODE(node[1]) && (node[2] == 0 || node[2] == 1); break;
        case N_MAP: ok = NODE(node[1]); break;
        case N_UNION:
            for (int64_t k = 0; k < node[1] && ok; k++) ok = NODE(node[2 + k]);
            break;
        case N_RECORD:
            for (int64_t k = 0; k < node[1] && ok; k++)
                ok = NODE(node[2 + 2 * k]) && node[3 + 2 * k] >= -1 && node[3 + 2 * k] < slots;
            break;
        }
    }
#undef NODE
    PyMem_Free(starts);
    return ok;
}

static int rule_program_ok(const Plan *plan, int64_t start, int64_t length) {
    const int64_t *code = plan->rules;
    int depth = 0;
    if (start < 0 || length < 1 || start > plan->rules_len || length > plan->rules_len - start)
        return 0;
    for (int64_t at = start; at < start + length;) {
        const int64_t *in = code + at;
        int64_t size = in[0] == R_CONST || in[0] == R_FIELD_B ? 2
                     : in[0] == R_ENUM ? 3
                     : in[0] >= R_NOT && in[0] <= R_OR ? 1
                     : in[0] >= 0 && in[0] < R_KINDS ? 4 : 0;
        if (size == 0 || at + size > start + length) return 0;
        if (size >= 2 && in[0] != R_CONST && (in[1] < 0 || in[1] >= plan->slot_count)) return 0;
        if (in[0] == R_CONST && (in[1] < 0 || in[1] > 2)) return 0;
        if (size == 4 && (in[2] < 0 || in[2] > OP_GE)) return 0;
        if (in[0] == R_CMP_S && (in[3] < 0 || in[3] >= plan->string_count)) return 0;
        if (in[0] == R_ENUM && (in[2] < 0 || in[2] >= plan->string_count)) return 0;
        if (in[0] == R_ENUM) { /* every entry of the table must be a three-valued answer */
            for (Py_ssize_t k = 0; k < plan->string_lens[in[2]]; k++)
                if ((uint8_t)plan->strings[in[2]][k] > V_MISS) return 0;
        }
        if (in[0] == R_AND || in[0] == R_OR) {
            if (depth < 2) return 0;
            depth--;
        } else if (in[0] == R_NOT) {
            if (depth < 1) return 0;
        } else if (++depth > MAX_STACK) {
            return 0;
        }
        at += size;
    }
    return depth == 1;
}

static int rules_program_ok(const Plan *plan) {
    if (plan->rules_len == 0) return 1;
    int64_t count = plan->rules[0];
    if (count < 0 || 1 + 4 * count > plan->rules_len) return 0;
    for (int64_t k = 0; k < count; k++) {
        const int64_t *rule = plan->rules + 1 + 4 * k;
        if (rule[0] != -1 && !rule_program_ok(plan, rule[0], rule[1])) return 0;
        if (!rule_program_ok(plan, rule[2], rule[3])) return 0;
    }
    return 1;
}

static int64_t *copy_program(PyObject *source, Py_ssize_t *length) {
    Py_buffer view;
    if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) < 0) return NULL;
    if (view.len % 8) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "a program is a whole number of int64 words");
        return NULL;
    }
    int64_t *copy = PyMem_Malloc(view.len ? (size_t)view.len : 1);
    if (copy == NULL) {
        PyBuffer_Release(&view);
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, view.buf, (size_t)view.len);
    *length = view.len / 8;
    PyBuffer_Release(&view);
    return copy;
}

static void Plan_dealloc(Plan *self) {
    PyMem_Free(self->avro);
    PyMem_Free(self->rules);
    for (Py_ssize_t k = 0; k < self->string_count; k++) PyMem_Free(self->strings[k]);
    PyMem_Free(self->strings);
    PyMem_Free(self->string_lens);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Plan_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *avro, *rules, *strings;
    static char *names[] = {"avro", "rules", "strings", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!", names, &avro, &rules, &PyTuple_Type,
                                     &strings))
        return NULL;
    Plan *self = (Plan *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->avro = copy_program(avro, &self->avro_len);
    if (self->avro == NULL) goto fail;
    self->rules = copy_program(rules, &self->rules_len);
    if (self->rules == NULL) goto fail;
    Py_ssize_t count = PyTuple_GET_SIZE(strings);
    self->strings = PyMem_Calloc((size_t)count + 1, sizeof(char *));
    self->string_lens = PyMem_Calloc((size_t)count + 1, sizeof(Py_ssize_t));
    if (self->strings == NULL || self->string_lens == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        char *text;
        Py_ssize_t length;
        if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(strings, k), &text, &length) < 0) goto fail;
        self->strings[k] = PyMem_Malloc((size_t)length + 1);
        if (self->strings[k] == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(self->strings[k], text, (size_t)length);
        self->string_lens[k] = length;
        self->string_count = k + 1;
    }
    self->slot_count = self->avro_len >= 2 ? self->avro[1] : -1;
    self->root = self->avro_len >= 1 ? self->avro[0] : -1;
    if (self->slot_count < 0 || self->slot_count > MAX_SLOTS ||
        !avro_program_ok(self->avro, self->avro_len, self->slot_count) ||
        !rules_program_ok(self)) {
        PyErr_SetString(PyExc_ValueError, "not a valid gate plan");
        goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "governance._gate_native.Plan",
    .tp_basicsize = sizeof(Plan),
    .tp_dealloc = (destructor)Plan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A schema's payload check and rule conditions, compiled for check().",
    .tp_new = Plan_new,
};

/* -- the Kafka record walk (broker.protocol.records._read_record's checks) -- */

/* A Kafka varint of at most 9 bytes, decoded exactly; 0 when longer or truncated (Python
 * reads 10-byte ones into wider ints: not vouched for here). */
static inline int kafka_varint(const uint8_t *d, Py_ssize_t *pos, Py_ssize_t end, int64_t *out) {
    uint64_t result = 0;
    for (int shift = 0; shift < 63; shift += 7) {
        if (*pos >= end) return 0;
        uint8_t byte = d[(*pos)++];
        result |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = (int64_t)(result >> 1) ^ -(int64_t)(result & 1);
            return 1;
        }
    }
    return 0;
}

/* Past a varint whose value is not used: up to 10 bytes, as Python reads them. */
static inline int kafka_skip(const uint8_t *d, Py_ssize_t *pos, Py_ssize_t end) {
    for (int k = 0; k < 10; k++) {
        if (*pos >= end) return 0;
        if (d[(*pos)++] < 0x80) return 1;
    }
    return 0;
}

/* Bytes with a varint length (-1: null); 0 when malformed. */
static inline int kafka_bytes(const uint8_t *d, Py_ssize_t *pos, Py_ssize_t end,
                              const uint8_t **out, int64_t *length) {
    if (!kafka_varint(d, pos, end, length)) return 0;
    if (*length == -1) {
        *out = NULL;
        return 1;
    }
    if (*length < 0 || *length > end - *pos) return 0;
    *out = d + *pos;
    *pos += *length;
    return 1;
}

typedef struct {
    uint32_t schema_id;
    Plan *plan; /* NULL: resolved to None */
    Py_ssize_t count;
} Known;

typedef struct {
    PyObject *resolve; /* NULL: this part is not checked */
    Known known[MAX_PLANS];
    int count;
} Part;

typedef struct {
    PyThreadState *thread;
    int error;
} Gil;

/* The plan for a framed part's schema id: asked of resolve once per distinct id (taking the
 * GIL back for the call). -1 when the part cannot be vouched for (or on an error). */
static int part_plan(Part *part, const uint8_t *data, int64_t length, Gil *gil) {
    if (data == NULL || length < 5 || data[0] != 0) return -1;
    uint32_t schema_id = ((uint32_t)data[1] << 24) | ((uint32_t)data[2] << 16) |
                         ((uint32_t)data[3] << 8) | (uint32_t)data[4];
    for (int k = 0; k < part->count; k++)
        if (part->known[k].schema_id == schema_id) return part->known[k].plan ? k : -1;
    if (part->count == MAX_PLANS) return -1;
    PyEval_RestoreThread(gil->thread);
    PyObject *plan = PyObject_CallFunction(part->resolve, "k", (unsigned long)schema_id);
    if (plan == NULL) {
        gil->error = 1;
    } else if (plan != Py_None && !PyObject_TypeCheck(plan, &PlanType)) {
        PyErr_SetString(PyExc_TypeError, "resolve must answer a Plan or None");
        Py_CLEAR(plan);
        gil->error = 1;
    } else if (plan == Py_None) {
        Py_CLEAR(plan);
    }
    gil->thread = PyEval_SaveThread();
    if (gil->error) return -1;
    int slot = part->count++;
    part->known[slot].schema_id = schema_id;
    part->known[slot].count = 0;
    part->known[slot].plan = (Plan *)plan; /* the reference is released at the end */
    return plan ? slot : -1;
}

static int part_passes(Part *part, const uint8_t *data, int64_t length, Gil *gil) {
    int slot = part_plan(part, data, length, gil);
    if (slot < 0 || !payload_passes(part->known[slot].plan, data + 5, (Py_ssize_t)length - 5))
        return -1;
    return slot;
}

static void part_release(Part *part) {
    for (int k = 0; k < part->count; k++) Py_XDECREF((PyObject *)part->known[k].plan);
}

static PyObject *check(PyObject *module, PyObject *args) {
    Py_buffer view;
    Py_ssize_t count;
    PyObject *resolve_value, *resolve_key;
    if (!PyArg_ParseTuple(args, "y*nOO", &view, &count, &resolve_value, &resolve_key)) return NULL;
    Part values = {.resolve = resolve_value, .count = 0};
    Part keys = {.resolve = resolve_key == Py_None ? NULL : resolve_key, .count = 0};
    Py_ssize_t tombstones = 0;
    const uint8_t *d = view.buf;
    Py_ssize_t end = view.len, pos = 0, index = 0, failed = -1;
    Gil gil = {.thread = PyEval_SaveThread(), .error = 0};
    if (count <= 0) failed = 0;
    for (; failed < 0 && index < count; index++) {
        int64_t length, header_count;
        const uint8_t *key, *value;
        int64_t key_length, value_length;
        if (!kafka_varint(d, &pos, end, &length) || length < 1 || length > end - pos) break;
        Py_ssize_t record_end = pos + length;
        pos += 1; /* attributes */
        if (!kafka_skip(d, &pos, record_end) || !kafka_skip(d, &pos, record_end)) break;
        if (!kafka_bytes(d, &pos, record_end, &key, &key_length)) break;
        if (!kafka_bytes(d, &pos, record_end, &value, &value_length)) break;
        if (!kafka_varint(d, &pos, record_end, &header_count) || header_count < 0 ||
            header_count > record_end - pos)
            break;
        int headers_ok = 1;
        for (int64_t h = 0; h < header_count && headers_ok; h++) {
            const uint8_t *name, *header_value;
            int64_t name_length, header_length;
            headers_ok = kafka_bytes(d, &pos, record_end, &name, &name_length) && name != NULL &&
                         utf8_valid(name, name_length) &&
                         kafka_bytes(d, &pos, record_end, &header_value, &header_length);
        }
        if (!headers_ok || pos != record_end) break;
        /* the value (a tombstone is not checked), then the key when its validation is on */
        int slot = -1;
        if (value != NULL && (slot = part_passes(&values, value, value_length, &gil)) < 0) break;
        if (keys.resolve != NULL && key != NULL && part_passes(&keys, key, key_length, &gil) < 0)
            break;
        if (slot < 0) tombstones++;
        else values.known[slot].count++;
    }
    if (failed < 0 && index < count) failed = index;
    if (failed < 0 && pos != end) failed = count; /* bytes after the last record */
    PyEval_RestoreThread(gil.thread);
    PyBuffer_Release(&view);
    PyObject *answer = NULL;
    if (!gil.error) {
        if (failed >= 0) {
            answer = PyLong_FromSsize_t(failed);
        } else {
            answer = PyDict_New();
            for (int k = 0; answer != NULL && k <= values.count; k++) {
                Py_ssize_t records = k < values.count ? values.known[k].count : tombstones;
                if (records == 0) continue;
                PyObject *id = k < values.count ? PyLong_FromUnsignedLong(values.known[k].schema_id)
                                                : Py_NewRef(Py_None);
                PyObject *n = PyLong_FromSsize_t(records);
                if (id == NULL || n == NULL || PyDict_SetItem(answer, id, n) < 0)
                    Py_CLEAR(answer);
                Py_XDECREF(id);
                Py_XDECREF(n);
            }
        }
    }
    part_release(&values);
    part_release(&keys);
    return answer;
}

static PyObject *utf8(PyObject *module, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    int valid = utf8_valid(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyBool_FromLong(valid);
}

static PyObject *payload(PyObject *module, PyObject *args) {
    PyObject *plan;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "O!y*", &PlanType, &plan, &view)) return NULL;
    int passes = payload_passes((Plan *)plan, view.buf, view.len);
    PyBuffer_Release(&view);
    return PyBool_FromLong(passes);
}

static PyMethodDef methods[] = {
    {"check", check, METH_VARARGS,
     "check(section, count, resolve_value, resolve_key) -> {schema_id or None: records} when "
     "every record is vouched for, else the index of the first record that is not "
     "(resolve_key None: keys are not checked)"},
    {"payload_passes", payload, METH_VARARGS,
     "payload_passes(plan, payload) -> whether one Avro payload passes the plan"},
    {"utf8_valid", utf8, METH_O, "utf8_valid(data) -> whether Python would decode it"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "governance._gate_native",
    "The produce gate's passing path in C (see governance.native_gate).", -1, methods,
};

PyMODINIT_FUNC PyInit__gate_native(void) {
    if (PyType_Ready(&PlanType) < 0) return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    /* Bumped whenever check() or the plan programs change: a stale build is not used. */
    if (PyModule_AddIntConstant(module, "ABI", 4) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    Py_INCREF(&PlanType);
    if (PyModule_AddObject(module, "Plan", (PyObject *)&PlanType) < 0) {
        Py_DECREF(&PlanType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
