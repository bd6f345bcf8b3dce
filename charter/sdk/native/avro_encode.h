/* Shared between avro_encode.c (the Encoder) and produce_dispatch.c (the Dispatcher). */
#ifndef CHARTER_AVRO_ENCODE_H
#define CHARTER_AVRO_ENCODE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct Node Node;

typedef struct {
    PyObject_HEAD
    Py_ssize_t nnodes;
    Node *nodes;
    Py_ssize_t root;
    PyObject *header; /* bytes */
} Encoder;

extern PyTypeObject EncoderType;

/* Encoder.encode(value): the framed bytes, None to leave the value to Python, NULL on error */
PyObject *Encoder_call_encode(Encoder *self, PyObject *value);

/* Adds the Dispatcher type to the module; -1 with an exception set on failure */
int charter_add_dispatcher(PyObject *module);

#endif
