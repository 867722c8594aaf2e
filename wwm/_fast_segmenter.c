/* jieba 0.42.1's precise mode on a run of Chinese characters, in C, with jieba's words.
 *
 * jieba (Python) is the definition; this is the same algorithm on the same data, step by step:
 *   - Tokenizer.get_DAG: for each start k, every end i such that text[k:i+1] is a word of the prefix
 *     dictionary with a non-zero count, scanning while text[k:i+1] is a key at all (words and their prefixes);
 *     [k] if there is none;
 *   - Tokenizer.calc: from the end, route[idx] = max over the DAG's ends x of
 *     (log(count(text[idx:x+1]) or 1) - log(total) + route[x+1][0], x), a max of tuples, so an exact tie goes
 *     to the larger x; log is the C library's, as Python's math.log on these integers;
 *   - Tokenizer.__cut_DAG: single characters of the route gather into a buffer; a buffer of two or more that
 *     is not itself a word (count 0 or missing) goes to jieba.finalseg's HMM, decoded as
 *     segmenters.jieba_hmm_word_lengths_function does it (jieba's Viterbi, the same additions in the same
 *     order, the same tie-breaking); with hmm off the route is the answer (no Han character is in re_eng).
 * Only for text of U+4E00-U+9FD5 (jieba's re_han: such a run is one block for jieba.cut and for finalseg.cut);
 * word_lengths returns None for anything else, and wwm/segmenters.py then asks jieba. Proof of equality:
 * tests/test_wwm_segmenters.py and `benchmarks/bench_pretraining_data.py --verify_segmenter`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define HAN_FIRST 0x4E00
#define HAN_LAST 0x9FD5
#define NUM_HAN (HAN_LAST - HAN_FIRST + 1)

enum { BEGIN = 0, MIDDLE = 1, SINGLE = 2, END = 3 };

typedef struct {
  uint32_t offset; /* into Segmenter.characters */
  uint32_t length;
  long long count; /* 0 for a prefix that is not a word */
} Entry;

typedef struct {
  PyObject_HEAD
  uint32_t *characters;
  Entry *entries;
  int32_t *slots; /* open addressing, -1 empty */
  size_t mask;
  double log_total;
  int hmm;
  double start[4];
  double e_to_b, s_to_b, m_to_m, b_to_m, s_to_s, e_to_s, b_to_e, m_to_e;
  double *emit; /* [4][NUM_HAN]: emit_P[state].get(char, MIN_FLOAT) */
} Segmenter;

static uint64_t hash_characters(const uint32_t *characters, Py_ssize_t length) {
  uint64_t hash = 1469598103934665603ULL;
  for (Py_ssize_t i = 0; i < length; i++) {
    hash ^= characters[i];
    hash *= 1099511628211ULL;
  }
  return hash ^ (uint64_t)length;
}

/* The count of the key characters[0:length]: -1 if it is not a key. */
static long long lookup(const Segmenter *self, const uint32_t *characters, Py_ssize_t length) {
  size_t slot = (size_t)hash_characters(characters, length) & self->mask;
  for (;;) {
    int32_t index = self->slots[slot];
    if (index < 0) return -1;
    const Entry *entry = &self->entries[index];
    if (entry->length == (uint32_t)length &&
        memcmp(self->characters + entry->offset, characters, (size_t)length * sizeof(uint32_t)) == 0) {
      return entry->count;
    }
    slot = (slot + 1) & self->mask;
  }
}

static void segmenter_dealloc(Segmenter *self) {
  PyMem_Free(self->characters);
  PyMem_Free(self->entries);
  PyMem_Free(self->slots);
  PyMem_Free(self->emit);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static int get_double(PyObject *mapping, const char *key, double *out) {
  PyObject *value = PyMapping_GetItemString(mapping, key);
  if (value == NULL) return -1;
  *out = PyFloat_AsDouble(value);
  Py_DECREF(value);
  return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static int get_transition(PyObject *trans, const char *from, const char *to, double *out) {
  PyObject *row = PyMapping_GetItemString(trans, from);
  if (row == NULL) return -1;
  int status = get_double(row, to, out);
  Py_DECREF(row);
  return status;
}

/* Fills the prefix dictionary from `keys` (str: the keys separated by "\n") and `counts` (int64, one per key). */
static int load_dictionary(Segmenter *self, PyObject *keys, const long long *counts, Py_ssize_t num_counts) {
  Py_ssize_t length = PyUnicode_GET_LENGTH(keys);
  if (length >= (Py_ssize_t)UINT32_MAX || num_counts >= INT32_MAX / 2) {
    PyErr_SetString(PyExc_ValueError, "dictionary too large");
    return -1;
  }
  self->characters = PyUnicode_AsUCS4Copy(keys);
  if (self->characters == NULL) return -1;
  Py_ssize_t num_keys = 1;
  for (Py_ssize_t i = 0; i < length; i++) num_keys += self->characters[i] == '\n';
  if (num_keys != num_counts) {
    PyErr_Format(PyExc_ValueError, "%zd keys but %zd counts", num_keys, num_counts);
    return -1;
  }
  size_t num_slots = 1024;
  while (num_slots < (size_t)num_keys * 2) num_slots *= 2;
  self->entries = PyMem_Malloc((size_t)num_keys * sizeof(Entry));
  self->slots = PyMem_Malloc(num_slots * sizeof(int32_t));
  if (self->entries == NULL || self->slots == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  memset(self->slots, 0xff, num_slots * sizeof(int32_t));
  self->mask = num_slots - 1;
  Py_ssize_t start = 0, index = 0;
  for (Py_ssize_t i = 0; i <= length; i++) {
    if (i < length && self->characters[i] != '\n') continue;
    Entry *entry = &self->entries[index];
    entry->offset = (uint32_t)start;
    entry->length = (uint32_t)(i - start);
    entry->count = counts[index];
    size_t slot = (size_t)hash_characters(self->characters + start, i - start) & self->mask;
    while (self->slots[slot] >= 0) slot = (slot + 1) & self->mask;
    self->slots[slot] = (int32_t)index;
    start = i + 1;
    index++;
  }
  return 0;
}

static int load_emissions(Segmenter *self, PyObject *emit_p, double min_float) {
  static const char *states[4] = {"B", "M", "S", "E"};
  self->emit = PyMem_Malloc(4 * NUM_HAN * sizeof(double));
  if (self->emit == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  for (int i = 0; i < 4 * NUM_HAN; i++) self->emit[i] = min_float;
  for (int state = 0; state < 4; state++) {
    PyObject *table = PyMapping_GetItemString(emit_p, states[state]);
    if (table == NULL) return -1;
    if (!PyDict_Check(table)) {
      Py_DECREF(table);
      PyErr_SetString(PyExc_TypeError, "emit_P tables must be dicts");
      return -1;
    }
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(table, &position, &key, &value)) {
      if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) != 1) continue;
      Py_UCS4 character = PyUnicode_READ_CHAR(key, 0);
      if (character < HAN_FIRST || character > HAN_LAST) continue;
      double probability = PyFloat_AsDouble(value);
      if (probability == -1.0 && PyErr_Occurred()) {
        Py_DECREF(table);
        return -1;
      }
      self->emit[state * NUM_HAN + (character - HAN_FIRST)] = probability;
    }
    Py_DECREF(table);
  }
  return 0;
}

static int segmenter_init(Segmenter *self, PyObject *args, PyObject *kwargs) {
  static char *keywords[] = {"keys", "counts", "total", "start_p", "trans_p", "emit_p", "min_float", "hmm", NULL};
  PyObject *keys, *counts_object, *total, *start_p, *trans_p, *emit_p;
  double min_float;
  int hmm;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U" "OOOOOdp", keywords, &keys, &counts_object, &total, &start_p,
                                   &trans_p, &emit_p, &min_float, &hmm)) {
    return -1;
  }
  if (self->characters != NULL) {
    PyErr_SetString(PyExc_RuntimeError, "already initialized");
    return -1;
  }
  double total_value = PyFloat_AsDouble(total); /* as math.log converts an int */
  if (total_value == -1.0 && PyErr_Occurred()) return -1;
  if (!(total_value > 0)) {
    PyErr_SetString(PyExc_ValueError, "total must be positive");
    return -1;
  }
  self->log_total = log(total_value);
  self->hmm = hmm;
  static const char *states[4] = {"B", "M", "S", "E"};
  for (int state = 0; state < 4; state++) {
    if (get_double(start_p, states[state], &self->start[state]) < 0) return -1;
  }
  if (get_transition(trans_p, "E", "B", &self->e_to_b) < 0 || get_transition(trans_p, "S", "B", &self->s_to_b) < 0 ||
      get_transition(trans_p, "M", "M", &self->m_to_m) < 0 || get_transition(trans_p, "B", "M", &self->b_to_m) < 0 ||
      get_transition(trans_p, "S", "S", &self->s_to_s) < 0 || get_transition(trans_p, "E", "S", &self->e_to_s) < 0 ||
      get_transition(trans_p, "B", "E", &self->b_to_e) < 0 || get_transition(trans_p, "M", "E", &self->m_to_e) < 0) {
    return -1;
  }
  if (load_emissions(self, emit_p, min_float) < 0) return -1;
  Py_buffer counts;
  if (PyObject_GetBuffer(counts_object, &counts, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return -1;
  int status = -1;
  if (counts.itemsize != 8 || counts.format == NULL || (strcmp(counts.format, "q") && strcmp(counts.format, "=q"))) {
    PyErr_SetString(PyExc_TypeError, "counts must be a buffer of int64 ('q')");
  } else {
    status = load_dictionary(self, keys, (const long long *)counts.buf, counts.len / 8);
  }
  PyBuffer_Release(&counts);
  return status;
}

/* segmenters.jieba_hmm_word_lengths_function's decoder on characters[0:length] (length >= 2); appends the
 * word lengths to `out`. `back` holds 4 * length back-pointers, `states` length states. */
static void hmm_lengths(const Segmenter *self, const uint32_t *characters, Py_ssize_t length, unsigned char *back,
                        unsigned char *states, int32_t *out, Py_ssize_t *num_out) {
  const double *emit_b = self->emit, *emit_m = self->emit + NUM_HAN;
  const double *emit_s = self->emit + 2 * NUM_HAN, *emit_e = self->emit + 3 * NUM_HAN;
  uint32_t first = characters[0] - HAN_FIRST;
  double v_b = self->start[BEGIN] + emit_b[first], v_m = self->start[MIDDLE] + emit_m[first];
  double v_s = self->start[SINGLE] + emit_s[first], v_e = self->start[END] + emit_e[first];
  for (Py_ssize_t i = 1; i < length; i++) {
    uint32_t c = characters[i] - HAN_FIRST;
    double p_b = emit_b[c], p_m = emit_m[c], p_s = emit_s[c], p_e = emit_e[c];
    unsigned char *pointers = back + 4 * (i - 1);
    double from_e = v_e + self->e_to_b + p_b, from_s = v_s + self->s_to_b + p_b;
    double n_b = from_s >= from_e ? from_s : from_e;
    pointers[BEGIN] = from_s >= from_e ? SINGLE : END;
    double from_m = v_m + self->m_to_m + p_m, from_b = v_b + self->b_to_m + p_m;
    double n_m = from_m >= from_b ? from_m : from_b;
    pointers[MIDDLE] = from_m >= from_b ? MIDDLE : BEGIN;
    from_s = v_s + self->s_to_s + p_s;
    from_e = v_e + self->e_to_s + p_s;
    double n_s = from_s >= from_e ? from_s : from_e;
    pointers[SINGLE] = from_s >= from_e ? SINGLE : END;
    from_b = v_b + self->b_to_e + p_e;
    from_m = v_m + self->m_to_e + p_e;
    double n_e = from_m >= from_b ? from_m : from_b;
    pointers[END] = from_m >= from_b ? MIDDLE : BEGIN;
    v_b = n_b;
    v_m = n_m;
    v_s = n_s;
    v_e = n_e;
  }
  int state = v_s >= v_e ? SINGLE : END;
  states[length - 1] = (unsigned char)state;
  for (Py_ssize_t i = length - 1; i > 0; i--) {
    state = back[4 * (i - 1) + state];
    states[i - 1] = (unsigned char)state;
  }
  /* jieba's __cut: a word ends at E (from the last B) and at S; what is left after the last one is a word. */
  Py_ssize_t word_start = 0, cut_end = 0;
  for (Py_ssize_t i = 0; i < length; i++) {
    if (states[i] == BEGIN) {
      word_start = i;
    } else if (states[i] == END) {
      out[(*num_out)++] = (int32_t)(i + 1 - word_start);
      cut_end = i + 1;
    } else if (states[i] == SINGLE) {
      out[(*num_out)++] = 1;
      cut_end = i + 1;
    }
  }
  if (cut_end < length) out[(*num_out)++] = (int32_t)(length - cut_end);
}

/* Appends the words of the buffer characters[start:end] (jieba's __cut_DAG buffer of single characters). */
static void flush_buffer(const Segmenter *self, const uint32_t *characters, Py_ssize_t start, Py_ssize_t end,
                         unsigned char *back, unsigned char *states, int32_t *out, Py_ssize_t *num_out) {
  Py_ssize_t length = end - start;
  if (length <= 0) return;
  if (length == 1 || lookup(self, characters + start, length) > 0) {
    for (Py_ssize_t i = 0; i < length; i++) out[(*num_out)++] = 1;
    return;
  }
  hmm_lengths(self, characters + start, length, back, states, out, num_out);
}

static PyObject *segmenter_word_lengths(Segmenter *self, PyObject *text) {
  if (self->slots == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "Segmenter not initialized");
    return NULL;
  }
  if (!PyUnicode_Check(text)) {
    PyErr_SetString(PyExc_TypeError, "text must be str");
    return NULL;
  }
  Py_ssize_t n = PyUnicode_GET_LENGTH(text);
  if (n == 0) return PyList_New(0);
  int kind = PyUnicode_KIND(text);
  const void *data = PyUnicode_DATA(text);
  for (Py_ssize_t i = 0; i < n; i++) {
    Py_UCS4 character = PyUnicode_READ(kind, data, i);
    if (character < HAN_FIRST || character > HAN_LAST) Py_RETURN_NONE;
  }
  /* characters, route (index and probability), the DAG (ends and their offsets), HMM scratch, output. */
  uint32_t *characters = PyMem_Malloc((size_t)n * sizeof(uint32_t));
  int32_t *route_end = PyMem_Malloc((size_t)(n + 1) * sizeof(int32_t));
  double *route_probability = PyMem_Malloc((size_t)(n + 1) * sizeof(double));
  int32_t *out = PyMem_Malloc((size_t)n * sizeof(int32_t));
  unsigned char *back = PyMem_Malloc((size_t)n * 5);
  PyObject *result = NULL;
  if (characters == NULL || route_end == NULL || route_probability == NULL || out == NULL || back == NULL) {
    PyErr_NoMemory();
    goto done;
  }
  for (Py_ssize_t i = 0; i < n; i++) characters[i] = PyUnicode_READ(kind, data, i);
  /* get_DAG and calc together: the ends of each start are found and scored from the last start back. */
  route_end[n] = 0;
  route_probability[n] = 0.0;
  for (Py_ssize_t idx = n - 1; idx >= 0; idx--) {
    int found = 0;
    double best = 0.0;
    int32_t best_end = 0;
    for (Py_ssize_t i = idx; i < n; i++) {
      long long count = lookup(self, characters + idx, i - idx + 1);
      if (count < 0) break;
      if (count == 0) continue;
      double probability = log((double)count) - self->log_total + route_probability[i + 1];
      if (!found || probability > best || (probability == best && i > best_end)) {
        best = probability;
        best_end = (int32_t)i;
        found = 1;
      }
    }
    if (!found) { /* the DAG's [idx]: count(text[idx]) is 0 or missing, so log(1) */
      best = log(1.0) - self->log_total + route_probability[idx + 1];
      best_end = (int32_t)idx;
    }
    route_probability[idx] = best;
    route_end[idx] = best_end;
  }
  Py_ssize_t num_out = 0;
  Py_ssize_t x = 0, buffer_start = 0;
  while (x < n) {
    Py_ssize_t y = route_end[x] + 1;
    if (!self->hmm) {
      out[num_out++] = (int32_t)(y - x);
    } else if (y - x > 1) {
      flush_buffer(self, characters, buffer_start, x, back, back + 4 * n, out, &num_out);
      out[num_out++] = (int32_t)(y - x);
      buffer_start = y;
    }
    x = y;
  }
  if (self->hmm) flush_buffer(self, characters, buffer_start, n, back, back + 4 * n, out, &num_out);
  result = PyList_New(num_out);
  if (result == NULL) goto done;
  for (Py_ssize_t i = 0; i < num_out; i++) {
    PyObject *length = PyLong_FromLong(out[i]);
    if (length == NULL) {
      Py_CLEAR(result);
      goto done;
    }
    PyList_SET_ITEM(result, i, length);
  }
done:
  PyMem_Free(characters);
  PyMem_Free(route_end);
  PyMem_Free(route_probability);
  PyMem_Free(out);
  PyMem_Free(back);
  return result;
}

static PyMethodDef segmenter_methods[] = {
    {"word_lengths", (PyCFunction)segmenter_word_lengths, METH_O,
     "word_lengths(text) -> list of int, or None when text has a character outside U+4E00-U+9FD5."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SegmenterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wwm._fast_segmenter.Segmenter",
    .tp_basicsize = sizeof(Segmenter),
    .tp_dealloc = (destructor)segmenter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Segmenter(keys, counts, total, start_p, trans_p, emit_p, min_float, hmm): jieba's precise mode.\n\n"
              "keys, counts and total: jieba's prefix dictionary (segmenters.dictionary_arrays); start_p, trans_p, emit_p\n"
              "and min_float: jieba.finalseg's tables; hmm: jieba's HMM for the single-character buffers.",
    .tp_methods = segmenter_methods,
    .tp_init = (initproc)segmenter_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fast_segmenter", "jieba's precise mode in C (see wwm/segmenters.py).", -1, NULL,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fast_segmenter(void) {
  if (PyType_Ready(&SegmenterType) < 0) return NULL;
  PyObject *m = PyModule_Create(&module);
  if (m == NULL) return NULL;
  Py_INCREF(&SegmenterType);
  if (PyModule_AddObject(m, "Segmenter", (PyObject *)&SegmenterType) < 0) {
    Py_DECREF(&SegmenterType);
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
