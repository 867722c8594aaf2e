/* The WordPiece ids of text that tokenization.BasicTokenizer has already cleaned and spaced, in C.
 *
 * tokenization.py is the definition: BasicTokenizer turns a line into words separated by whitespace (str.split()),
 * WordpieceTokenizer splits each word into vocabulary pieces, FullTokenizer.convert_tokens_to_ids maps them to
 * ids. Here the split and the mapping run in one pass: a one-character word that is itself a vocabulary token
 * (every CJK character of a Chinese vocabulary, most punctuation) takes its id from a table, as WordPiece keeps
 * a word that is in the vocabulary whole; any other word is looked up in a dict of words already seen, and on a
 * miss the Python function given (WordPiece, then the ids) computes it once. Words are split where str.split()
 * splits (Py_UNICODE_ISSPACE). wwm/fast_tokenizer.py uses it; tests/test_wwm_fast_tokenizer.py checks it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

PyDoc_STRVAR(ids_of_text_doc,
"ids_of_text(text, char_ids, cache, word_ids) -> list of int\n"
"\n"
"Args:\n"
"  text: str, BasicTokenizer's cleaned and spaced text (before its split()).\n"
"  char_ids: int32 buffer indexed by code point (up to its length): the id of the one-character vocabulary\n"
"    token of that character, or -1.\n"
"  cache: dict, word -> tuple of ids (read, and filled on a miss).\n"
"  word_ids: callable, word -> tuple of int (WordPiece pieces of the word, as ids).\n"
"\n"
"Returns:\n"
"  The ids of the words' pieces, in order.");

static int append_word(PyObject *ids, PyObject *text, Py_ssize_t start, Py_ssize_t end, PyObject *cache,
                       PyObject *word_ids) {
  PyObject *word = PyUnicode_Substring(text, start, end);
  if (word == NULL) return -1;
  PyObject *pieces = PyDict_GetItemWithError(cache, word); /* borrowed */
  if (pieces == NULL) {
    if (PyErr_Occurred()) {
      Py_DECREF(word);
      return -1;
    }
    pieces = PyObject_CallOneArg(word_ids, word);
    if (pieces == NULL || !PyTuple_Check(pieces) || PyDict_SetItem(cache, word, pieces) < 0) {
      if (pieces != NULL && !PyTuple_Check(pieces)) PyErr_SetString(PyExc_TypeError, "word_ids must return a tuple");
      Py_XDECREF(pieces);
      Py_DECREF(word);
      return -1;
    }
    Py_DECREF(pieces); /* the cache holds it */
  }
  Py_DECREF(word);
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pieces); i++) {
    if (PyList_Append(ids, PyTuple_GET_ITEM(pieces, i)) < 0) return -1;
  }
  return 0;
}

static PyObject *ids_of_text(PyObject *self, PyObject *args) {
  (void)self;
  PyObject *text, *table_object, *cache, *word_ids;
  if (!PyArg_ParseTuple(args, "UOO!O", &text, &table_object, &PyDict_Type, &cache, &word_ids)) return NULL;
  Py_buffer table;
  if (PyObject_GetBuffer(table_object, &table, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return NULL;
  if (table.itemsize != 4 || table.format == NULL || (strcmp(table.format, "i") && strcmp(table.format, "=i"))) {
    PyBuffer_Release(&table);
    PyErr_SetString(PyExc_TypeError, "char_ids must be a buffer of int32 ('i')");
    return NULL;
  }
  const int32_t *char_ids = table.buf;
  Py_ssize_t table_size = table.len / 4, length = PyUnicode_GET_LENGTH(text);
  int kind = PyUnicode_KIND(text);
  const void *data = PyUnicode_DATA(text);
  PyObject *ids = PyList_New(0);
  if (ids == NULL) goto fail;
  Py_ssize_t position = 0;
  while (position < length) {
    Py_UCS4 character = PyUnicode_READ(kind, data, position);
    if (Py_UNICODE_ISSPACE(character)) {
      position++;
      continue;
    }
    Py_ssize_t end = position + 1;
    while (end < length && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, end))) end++;
    if (end == position + 1 && (Py_ssize_t)character < table_size && char_ids[character] >= 0) {
      PyObject *id = PyLong_FromLong(char_ids[character]);
      if (id == NULL || PyList_Append(ids, id) < 0) {
        Py_XDECREF(id);
        goto fail;
      }
      Py_DECREF(id);
    } else if (append_word(ids, text, position, end, cache, word_ids) < 0) {
      goto fail;
    }
    position = end;
  }
  PyBuffer_Release(&table);
  return ids;
fail:
  Py_XDECREF(ids);
  PyBuffer_Release(&table);
  return NULL;
}

static PyMethodDef methods[] = {
    {"ids_of_text", ids_of_text, METH_VARARGS, ids_of_text_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fast_wordpiece", "WordPiece ids of basic-tokenized text (see wwm/fast_tokenizer.py).",
    -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fast_wordpiece(void) { return PyModule_Create(&module); }
