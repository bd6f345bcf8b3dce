/* charter.sdk._avro_encode's Dispatcher: the common case of the SDK Producer's produce().
 *
 * Dispatcher(fast, send, owner, general, wait) is installed as a Producer's produce and is
 * called as produce(topic, value, key=None, schema=None, headers=None, on_delivery=None, *,
 * key_schema=None, partition=None, timestamp=None). When value is a dict, fast[topic] is
 * (schema, encode) for this very schema object, the options other than key are None and
 * encode(value) gives bytes, it calls send(topic, framed[, key]) (a str key encoded as
 * UTF-8) and, when librdkafka's queue is full (BufferError), wait(owner, topic, framed,
 * key). Every other call goes to general(owner, ...) (the Python implementation) unchanged,
 * so both answer alike. owner is a weak reference: the Producer holds its dispatcher, not
 * the other way round, so dropping a Producer frees it at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>

#include "avro_encode.h"

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *fast, *send, *owner, *general, *wait;
    PyObject *send_args[2]; /* the argument tuples of send without and with a key, or NULL */
} Dispatcher;

/* The keyword parameters of produce, by position: key and schema, then options that must
 * be None (or absent) for the common case. headers and on_delivery are also positional. */
enum { KW_KEY, KW_SCHEMA, KW_HEADERS, KW_ON_DELIVERY, KW_KEY_SCHEMA, KW_PARTITION, KW_TIMESTAMP,
       KW_COUNT };
static const char *kw_text[KW_COUNT] = {"key", "schema", "headers", "on_delivery",
                                        "key_schema", "partition", "timestamp"};
static PyObject *kw_names[KW_COUNT];

/* the parameter a keyword names (interned names match by identity), -1 for none */
static int keyword(PyObject *name) {
    for (int i = 0; i < KW_COUNT; i++) {
        if (name == kw_names[i]) return i;
    }
    for (int i = 0; i < KW_COUNT; i++) {
        if (PyUnicode_Check(name) && PyUnicode_Compare(name, kw_names[i]) == 0) return i;
    }
    PyErr_Clear();
    return -1;
}

/* function bound to the owner (a new reference), or NULL with ReferenceError set */
static PyObject *bound_to_owner(Dispatcher *self, PyObject *function) {
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *owner;
    if (PyWeakref_GetRef(self->owner, &owner) < 0) return NULL;
#else
    PyObject *owner = Py_XNewRef(PyWeakref_GetObject(self->owner));
    if (owner == Py_None) Py_CLEAR(owner);
    else if (owner == NULL) return NULL;
#endif
    if (owner == NULL) {
        PyErr_SetString(PyExc_ReferenceError, "the Producer of this produce() is gone");
        return NULL;
    }
    PyObject *method = PyMethod_New(function, owner);
    Py_DECREF(owner);
    return method;
}

static PyObject *Dispatcher_general(Dispatcher *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames) {
    PyObject *method = bound_to_owner(self, self->general);
    if (method == NULL) return NULL;
    PyObject *result = PyObject_Vectorcall(method, args, nargsf, kwnames);
    Py_DECREF(method);
    return result;
}

/* send(topic, framed[, key]). confluent-kafka's produce takes a tuple, which a vectorcall
 * would build and free per record; this keeps one per arity between calls instead. It is
 * refilled only while this dispatcher holds the sole reference (PyTuple_SetItem's rule), and
 * taken out while in use so a nested call (send running Python code) builds its own. */
static PyObject *send_framed(Dispatcher *self, PyObject *topic, PyObject *framed, PyObject *key) {
    int keyed = key != Py_None;
    Py_ssize_t count = keyed ? 3 : 2;
    PyObject *args = self->send_args[keyed];
    self->send_args[keyed] = NULL;
    if (args == NULL || Py_REFCNT(args) != 1) {
        Py_XDECREF(args);
        args = PyTuple_New(count);
        if (args == NULL) return NULL;
        for (Py_ssize_t i = 0; i < count; i++) PyTuple_SET_ITEM(args, i, Py_NewRef(Py_None));
    }
    PyObject *items[3] = {topic, framed, key};
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *old = PyTuple_GET_ITEM(args, i);
        PyTuple_SET_ITEM(args, i, Py_NewRef(items[i]));
        Py_DECREF(old);
    }
    PyObject *sent = PyObject_Call(self->send, args, NULL);
    if (Py_REFCNT(args) != 1 || self->send_args[keyed] != NULL) { /* kept by send, or replaced */
        Py_DECREF(args);
        return sent;
    }
    for (Py_ssize_t i = 0; i < count; i++) { /* hold no record between calls */
        PyObject *old = PyTuple_GET_ITEM(args, i);
        PyTuple_SET_ITEM(args, i, Py_NewRef(Py_None));
        Py_DECREF(old);
    }
    self->send_args[keyed] = args;
    return sent;
}

static PyObject *Dispatcher_call(Dispatcher *self, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 2 || nargs > 6) return Dispatcher_general(self, args, nargsf, kwnames);
    PyObject *topic = args[0], *value = args[1];
    PyObject *key = nargs > 2 ? args[2] : Py_None, *schema = nargs > 3 ? args[3] : Py_None;
    if ((nargs > 4 && args[4] != Py_None) || (nargs > 5 && args[5] != Py_None))
        return Dispatcher_general(self, args, nargsf, kwnames);
    if (!PyDict_CheckExact(value)) return Dispatcher_general(self, args, nargsf, kwnames);
    if (kwnames != NULL) {
        Py_ssize_t count = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *given = args[nargs + i];
            int which = keyword(PyTuple_GET_ITEM(kwnames, i));
            /* a parameter also given by position: the general path raises TypeError */
            if (which < 0 || (which <= KW_ON_DELIVERY && nargs > which + 2))
                return Dispatcher_general(self, args, nargsf, kwnames);
            if (which == KW_KEY) key = given;
            else if (which == KW_SCHEMA) schema = given;
            else if (given != Py_None) return Dispatcher_general(self, args, nargsf, kwnames);
        }
    }
    PyObject *entry = PyDict_GetItemWithError(self->fast, topic);
    if (entry == NULL) {
        PyErr_Clear(); /* an unhashable topic: the general path says what is wrong */
        return Dispatcher_general(self, args, nargsf, kwnames);
    }
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 2 ||
        PyTuple_GET_ITEM(entry, 0) != schema)
        return Dispatcher_general(self, args, nargsf, kwnames);
    Py_INCREF(entry);
    PyObject *encode = PyTuple_GET_ITEM(entry, 1), *framed;
    if (PyCFunction_Check(encode) && PyCFunction_GET_SELF(encode) != NULL &&
        Py_IS_TYPE(PyCFunction_GET_SELF(encode), &EncoderType)) { /* our own: no call protocol */
        framed = Encoder_call_encode((Encoder *)PyCFunction_GET_SELF(encode), value);
    } else {
        framed = PyObject_CallOneArg(encode, value);
    }
    Py_DECREF(entry);
    if (framed == NULL) return NULL;
    if (!PyBytes_CheckExact(framed)) { /* declined: the general path decides and explains */
        Py_DECREF(framed);
        return Dispatcher_general(self, args, nargsf, kwnames);
    }
    PyObject *key_bytes;
    if (PyUnicode_Check(key)) {
        key_bytes = PyUnicode_AsUTF8String(key);
        if (key_bytes == NULL) { /* lone surrogates: the general path raises as it does */
            PyErr_Clear();
            Py_DECREF(framed);
            return Dispatcher_general(self, args, nargsf, kwnames);
        }
    } else {
        key_bytes = Py_NewRef(key);
    }
    PyObject *sent = send_framed(self, topic, framed, key_bytes);
    PyObject *send_args[3] = {topic, framed, key_bytes};
    if (sent == NULL && PyErr_ExceptionMatches(PyExc_BufferError)) {
        PyErr_Clear();
        PyObject *wait = bound_to_owner(self, self->wait);
        sent = wait == NULL ? NULL : PyObject_Vectorcall(wait, send_args, 3, NULL);
        Py_XDECREF(wait);
    }
    Py_DECREF(framed);
    Py_DECREF(key_bytes);
    if (sent == NULL) return NULL;
    Py_DECREF(sent);
    Py_RETURN_NONE;
}

static int Dispatcher_init(Dispatcher *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"fast", "send", "owner", "general", "wait", NULL};
    PyObject *fast, *send, *owner, *general, *wait;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOOO", keywords, &PyDict_Type, &fast, &send,
                                     &owner, &general, &wait))
        return -1;
    PyObject *reference = PyWeakref_NewRef(owner, NULL);
    if (reference == NULL) return -1;
    Py_XSETREF(self->owner, reference);
    Py_XSETREF(self->fast, Py_NewRef(fast));
    Py_XSETREF(self->send, Py_NewRef(send));
    Py_XSETREF(self->general, Py_NewRef(general));
    Py_XSETREF(self->wait, Py_NewRef(wait));
    self->vectorcall = (vectorcallfunc)Dispatcher_call;
    return 0;
}

static PyObject *Dispatcher_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Dispatcher *self = (Dispatcher *)type->tp_alloc(type, 0);
    if (self != NULL) self->vectorcall = NULL;
    return (PyObject *)self;
}

static PyObject *Dispatcher_tp_call(Dispatcher *self, PyObject *args, PyObject *kwargs) {
    if (self->vectorcall == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Dispatcher was not initialised");
        return NULL;
    }
    return PyVectorcall_Call((PyObject *)self, args, kwargs);
}

static int Dispatcher_traverse(Dispatcher *self, visitproc visit, void *arg) {
    Py_VISIT(self->fast);
    Py_VISIT(self->send);
    Py_VISIT(self->owner);
    Py_VISIT(self->general);
    Py_VISIT(self->wait);
    Py_VISIT(self->send_args[0]);
    Py_VISIT(self->send_args[1]);
    return 0;
}

static int Dispatcher_clear(Dispatcher *self) {
    Py_CLEAR(self->fast);
    Py_CLEAR(self->send);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->general);
    Py_CLEAR(self->wait);
    Py_CLEAR(self->send_args[0]);
    Py_CLEAR(self->send_args[1]);
    return 0;
}

static void Dispatcher_dealloc(Dispatcher *self) {
    PyObject_GC_UnTrack(self);
    Dispatcher_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject DispatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "charter.sdk._avro_encode.Dispatcher",
    .tp_basicsize = sizeof(Dispatcher),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "Dispatcher(fast, send, owner, general, wait): Producer.produce's common case.",
    .tp_new = Dispatcher_new,
    .tp_init = (initproc)Dispatcher_init,
    .tp_call = (ternaryfunc)Dispatcher_tp_call,
    .tp_vectorcall_offset = offsetof(Dispatcher, vectorcall),
    .tp_dealloc = (destructor)Dispatcher_dealloc,
    .tp_traverse = (traverseproc)Dispatcher_traverse,
    .tp_clear = (inquiry)Dispatcher_clear,
};

static int intern_names(void) {
    for (int i = 0; i < KW_COUNT; i++) {
        kw_names[i] = PyUnicode_InternFromString(kw_text[i]);
        if (kw_names[i] == NULL) return -1;
    }
    return 0;
}

int charter_add_dispatcher(PyObject *module) {
    if (intern_names() < 0 || PyType_Ready(&DispatcherType) < 0) return -1;
    Py_INCREF(&DispatcherType);
    if (PyModule_AddObject(module, "Dispatcher", (PyObject *)&DispatcherType) < 0) {
        Py_DECREF(&DispatcherType);
        return -1;
    }
    return 0;
}
