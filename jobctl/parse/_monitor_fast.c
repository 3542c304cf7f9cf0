/*
 * jobctl.parse._monitor_fast: the common case of jobctl.parse.monitor.parse_line, in C.
 *
 * The Python parser (monitor.py) is the reference and stays the only one that ever says "not a
 * MONITOR line". This module parses the lines it can prove well-formed:
 *
 *     SEC "." USEC6 " [" DB " " ADDR "] " '"' ARG '"' (" " '"' ARG '"')*
 *
 * with ARG in sdscatrepr form (raw bytes, or the escapes \\ \" \n \r \t \a \b \xHH), and hands
 * every other line, unchanged, to the Python fallback (legacy 2.4 lines, an escape Redis never
 * writes, a stray quote, a timestamp or db too long for a machine integer, ...). So on any input
 * the result equals the Python parser's result (tests/test_monitor_fast.py checks that on
 * arbitrary bytes and on the real capture), and a malformed line can never crash or be misread
 * here: every index below is checked against the line's length first.
 *
 * Built as an optional extension (setup.py): when no C compiler is available jobctl uses the
 * Python parser alone, with the same results, about 4x slower (bench/monitor_parse.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *line_type = NULL;   /* jobctl.parse.monitor.MonitorLine (a NamedTuple) */
static PyObject *fallback = NULL;    /* the Python parse_line */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Scan one argument starting at s[i] up to its closing quote, which must lie before `stop`
 * (the index of the line's final quote; the last argument ends exactly there).
 * Returns the index of the argument's closing quote (stop for the last argument), or -1 when the
 * argument is not provably well-formed. *escapes is set to 1 when it holds at least one escape.
 * The next quote and the next backslash are each found once with memchr and reused until the
 * scan passes them, so the work is linear in the argument's length. */
static Py_ssize_t scan_arg(const unsigned char *s, Py_ssize_t i, Py_ssize_t stop, int *escapes)
{
    Py_ssize_t qpos = -1, bpos = -1;                   /* next quote / backslash at or after i; stop = none */
    *escapes = 0;
    while (i < stop) {
        if (qpos < i) {
            const unsigned char *q = memchr(s + i, '"', (size_t)(stop - i));
            qpos = q ? (q - s) : stop;
        }
        if (bpos < i) {
            const unsigned char *b = memchr(s + i, '\\', (size_t)(stop - i));
            bpos = b ? (b - s) : stop;
        }
        if (bpos >= qpos) return qpos;                 /* an unescaped quote, or the end */
        Py_ssize_t k = bpos;
        if (k + 1 >= stop) return -1;                  /* a backslash just before the end */
        unsigned char c = s[k + 1];
        *escapes = 1;
        if (c == 'x') {
            if (k + 3 >= stop || hexval(s[k + 2]) < 0 || hexval(s[k + 3]) < 0) return -1;
            i = k + 4;
        } else if (c == '\\' || c == '"' || c == 'n' || c == 'r' || c == 't' || c == 'a' || c == 'b') {
            i = k + 2;
        } else {
            return -1;                                 /* an escape Redis never writes */
        }
    }
    return stop;
}

/* Decode s[a:e) (escapes already validated by scan_arg) into a new bytes object. */
static PyObject *decode_arg(const unsigned char *s, Py_ssize_t a, Py_ssize_t e)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, e - a);
    if (out == NULL) return NULL;
    char *o = PyBytes_AS_STRING(out);
    Py_ssize_t n = 0;
    Py_ssize_t i = a;
    while (i < e) {
        const unsigned char *b = memchr(s + i, '\\', (size_t)(e - i));
        Py_ssize_t k = b ? (b - s) : e;
        memcpy(o + n, s + i, (size_t)(k - i));
        n += k - i;
        if (b == NULL) break;
        unsigned char c = s[k + 1];
        switch (c) {
        case 'x': o[n++] = (char)(hexval(s[k + 2]) * 16 + hexval(s[k + 3])); i = k + 4; continue;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'a': o[n++] = '\a'; break;
        case 'b': o[n++] = '\b'; break;
        default: o[n++] = (char)c; break;              /* \\ and \" */
        }
        i = k + 2;
    }
    if (n != e - a && _PyBytes_Resize(&out, n) < 0) return NULL;
    return out;
}

static PyObject *delegate(PyObject *line)
{
    return PyObject_CallOneArg(fallback, line);
}

/* Parse a run of ASCII digits s[a:e) into *out; 0 when empty, not all digits, or too long. */
static int digits(const unsigned char *s, Py_ssize_t a, Py_ssize_t e, Py_ssize_t maxlen, long long *out)
{
    if (e <= a || e - a > maxlen) return 0;
    long long v = 0;
    for (Py_ssize_t i = a; i < e; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static PyObject *parse_line(PyObject *self, PyObject *line)
{
    if (!PyBytes_CheckExact(line) || line_type == NULL || fallback == NULL) {
        if (fallback == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "_monitor_fast is not initialised");
            return NULL;
        }
        return delegate(line);
    }
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(line);
    Py_ssize_t len = PyBytes_GET_SIZE(line);
    if (len < 16 || s[len - 1] != '"') return delegate(line);

    /* timestamp: SEC "." USEC6, then one space */
    const unsigned char *sp_p = memchr(s, ' ', (size_t)len);
    if (sp_p == NULL) return delegate(line);
    Py_ssize_t sp = sp_p - s;
    long long sec, usec;
    if (sp < 8 || s[sp - 7] != '.' || !digits(s, 0, sp - 7, 12, &sec) || !digits(s, sp - 6, sp, 6, &usec))
        return delegate(line);

    /* "[" DB " " ADDR "] \"" : ADDR ends at the first `] "` of the line */
    if (sp + 1 >= len || s[sp + 1] != '[') return delegate(line);
    Py_ssize_t end = -1;
    for (Py_ssize_t i = sp + 2; i + 2 < len; i++) {
        const unsigned char *r = memchr(s + i, ']', (size_t)(len - 2 - i));
        if (r == NULL) break;
        i = r - s;
        if (s[i + 1] == ' ' && s[i + 2] == '"') { end = i; break; }
    }
    if (end < 0) return delegate(line);
    const unsigned char *dsp = memchr(s + sp + 2, ' ', (size_t)(end - (sp + 2)));
    if (dsp == NULL) return delegate(line);
    Py_ssize_t db_end = dsp - s;
    long long db;
    if (!digits(s, sp + 2, db_end, 9, &db)) return delegate(line);

    Py_ssize_t stop = len - 1;                         /* the line's closing quote */
    Py_ssize_t i = end + 3;                            /* first byte of the first argument */
    if (i > stop) return delegate(line);

    PyObject *args = PyList_New(0);
    if (args == NULL) return NULL;
    for (;;) {
        int esc;
        Py_ssize_t q = scan_arg(s, i, stop, &esc);
        if (q < 0) { Py_DECREF(args); return delegate(line); }
        if (q < stop) {
            /* an unescaped quote inside the body must open the separator `" "` */
            if (q + 2 >= stop || s[q + 1] != ' ' || s[q + 2] != '"') { Py_DECREF(args); return delegate(line); }
        }
        PyObject *a = esc ? decode_arg(s, i, q) : PyBytes_FromStringAndSize((const char *)s + i, q - i);
        if (a == NULL || PyList_Append(args, a) < 0) { Py_XDECREF(a); Py_DECREF(args); return NULL; }
        Py_DECREF(a);
        if (q == stop) break;
        i = q + 3;
    }

    PyObject *ts = PyLong_FromLongLong(sec * 1000000LL + usec);
    PyObject *dbo = PyLong_FromLongLong(db);
    PyObject *client = PyUnicode_DecodeUTF8((const char *)s + db_end + 1, end - db_end - 1, "backslashreplace");
    PyTypeObject *tp = (PyTypeObject *)line_type;
    PyObject *res = (ts && dbo && client) ? tp->tp_alloc(tp, 4) : NULL;
    if (res == NULL) {
        Py_XDECREF(ts); Py_XDECREF(dbo); Py_XDECREF(client); Py_DECREF(args);
        return NULL;
    }
    PyTuple_SET_ITEM(res, 0, ts);
    PyTuple_SET_ITEM(res, 1, dbo);
    PyTuple_SET_ITEM(res, 2, client);
    PyTuple_SET_ITEM(res, 3, args);
    return res;
}

static PyObject *init(PyObject *self, PyObject *const *argv, Py_ssize_t argc)
{
    if (argc != 2 || !PyType_Check(argv[0]) || !PyType_IsSubtype((PyTypeObject *)argv[0], &PyTuple_Type)
        || !PyCallable_Check(argv[1])) {
        PyErr_SetString(PyExc_TypeError, "init(MonitorLine, fallback_parse_line)");
        return NULL;
    }
    Py_XSETREF(line_type, Py_NewRef(argv[0]));
    Py_XSETREF(fallback, Py_NewRef(argv[1]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse_line", (PyCFunction)parse_line, METH_O,
     "parse_line(line: bytes) -> MonitorLine | None: the Python parser's result, faster."},
    {"init", (PyCFunction)(void (*)(void))init, METH_FASTCALL,
     "init(MonitorLine, fallback): the result type and the Python parser for every other line."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_monitor_fast",
    "The common case of jobctl.parse.monitor.parse_line in C (see the file's header).", -1, methods,
};

PyMODINIT_FUNC PyInit__monitor_fast(void)
{
    return PyModule_Create(&module);
}
